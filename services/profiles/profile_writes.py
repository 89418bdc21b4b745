"""Writing a profile's child lists — one writer per list — and the history of each change.

Each writer replaces its whole list when the new one differs from `current` (the profile's entry in
profile_views.child_lists) and answers {field: {before, after}} for what changed, or {}.
"""
from concord_common import clock
from services.profiles.models import Address, Alias, Flag, History, Identifier, PremisesPerson
from services.profiles.profile_views import address_view, as_json
from services.profiles.record_kinds import require_visible_person

CHILD_LISTS = ("aliases", "identifiers", "addresses", "flags", "address", "linked_people")
NO_CHILDREN = {"aliases": [], "identifiers": [], "addresses": [], "flags": [], "linked_people": []}


# -- what a list becomes (also used by bulk_create, which writes many new profiles' lists at once) ------------
def aliases_after(aliases: list) -> list[dict]:
    return [{"given_name": a["given_name"], "family_name": a["family_name"]} for a in aliases]


def identifiers_after(identifiers: list) -> list[dict]:
    """Each (scheme, value) once, in the order given."""
    after, seen = [], set()
    for item in identifiers:
        if (item["scheme"], item["value"]) not in seen:
            seen.add((item["scheme"], item["value"]))
            after.append({"scheme": item["scheme"], "value": item["value"]})
    return after


def flags_wanted(flags: list) -> dict:
    """{flag: detail}: one of each flag; the last one given wins."""
    return {item["flag"]: as_json(item["detail"]) for item in flags}


# -- writers ------------------------------------------------------------------------------------------------
def write_aliases(uow, profile, aliases: list, current: dict) -> dict:
    after = aliases_after(aliases)
    if after == current["aliases"]:
        return {}
    uow.session.execute(Alias.__table__.delete().where(Alias.profile_id == profile.id))
    uow.session.add_all(Alias(profile_id=profile.id, **a) for a in after)
    return {"aliases": {"before": current["aliases"], "after": after}}


def write_identifiers(uow, profile, identifiers: list, current: dict) -> dict:
    after = identifiers_after(identifiers)
    if after == current["identifiers"]:
        return {}
    uow.session.execute(Identifier.__table__.delete().where(Identifier.profile_id == profile.id))
    uow.session.add_all(Identifier(profile_id=profile.id, **i) for i in after)
    return {"identifiers": {"before": current["identifiers"], "after": after}}


def same_addresses(after: list, current: dict) -> bool:
    """`after` (address views) is the list the profile has, in any order."""
    return sorted(map(repr, after)) == sorted(map(repr, current["addresses"]))


def same_flags(wanted: dict, current: dict) -> bool:
    """`wanted` (flags_wanted) is what the profile has: the same flags with the same details."""
    before = [{"flag": f["flag"], "detail": f["detail"]} for f in current["flags"]]
    after = [{"flag": name, "detail": detail} for name, detail in wanted.items()]
    return sorted(map(repr, after)) == sorted(map(repr, before))


def lists_unchanged(data: dict, current: dict) -> bool:
    """Writing `data`'s child lists would change nothing — each writer's own comparison, nothing written.
    Linked people are never taken as unchanged here (each link is an access check their writer makes)."""
    if "aliases" in data and aliases_after(data["aliases"]) != current["aliases"]:
        return False
    if "identifiers" in data and identifiers_after(data["identifiers"]) != current["identifiers"]:
        return False
    addresses = data["addresses"] if "addresses" in data else [data["address"]] if "address" in data else None
    if addresses is not None and not same_addresses([address_view(Address(**a)) for a in addresses], current):
        return False
    if "flags" in data and not same_flags(flags_wanted(data["flags"]), current):
        return False
    return "linked_people" not in data


def write_addresses(uow, profile, addresses: list, current: dict) -> dict:
    """A person's `addresses`, or a premises' one `address` (the same table)."""
    rows = [Address(profile_id=profile.id, **a) for a in addresses]
    after = [address_view(row) for row in rows]
    if same_addresses(after, current):
        return {}
    uow.session.execute(Address.__table__.delete().where(Address.profile_id == profile.id))
    uow.session.add_all(rows)
    if profile.kind == "premises":
        before = current["addresses"][0] if current["addresses"] else None
        return {"address": {"before": before, "after": after[0]}}
    return {"addresses": {"before": current["addresses"], "after": after}}


def write_flags(uow, profile, flags: list, current: dict) -> dict:
    """Flags whose detail did not change keep who set them and when."""
    wanted = flags_wanted(flags)
    before = [{"flag": f["flag"], "detail": f["detail"]} for f in current["flags"]]
    kept = {f["flag"]: f for f in current["flags"]}
    after = [{"flag": name, "detail": detail} for name, detail in wanted.items()]
    if same_flags(wanted, current):
        return {}
    unchanged = {name for name, detail in wanted.items() if name in kept and kept[name]["detail"] == detail}
    uow.session.execute(Flag.__table__.delete().where(Flag.profile_id == profile.id, Flag.flag.notin_(unchanged)))
    uow.session.add_all(Flag(profile_id=profile.id, flag=name, detail=detail, set_by=uow.caller.id,
                             set_at=clock.now())
                        for name, detail in wanted.items() if name not in unchanged)
    return {"flags": {"before": before, "after": after}}


def write_linked_people(uow, profile, people: list, current: dict) -> dict:
    """The people linked to premises: each must be a person the caller may see."""
    after = sorted({str(pid) for pid in people})
    for position, pid in enumerate(str(p) for p in people):
        require_visible_person(uow.session, uow.caller, pid, f"linked_people.{position}")
    if after == sorted(current["linked_people"]):
        return {}
    uow.session.execute(PremisesPerson.__table__.delete().where(PremisesPerson.premises_id == profile.id))
    uow.session.add_all(PremisesPerson(premises_id=profile.id, profile_id=pid) for pid in after)
    return {"linked_people": {"before": sorted(current["linked_people"]), "after": after}}


def write_child_lists(uow, profile, data: dict, current: dict) -> dict:
    """Write the child lists present in `data`; return {field: {before, after}} for what changed."""
    changes = {}
    if "aliases" in data:
        changes.update(write_aliases(uow, profile, data["aliases"], current))
    if "identifiers" in data:
        changes.update(write_identifiers(uow, profile, data["identifiers"], current))
    if "addresses" in data:
        changes.update(write_addresses(uow, profile, data["addresses"], current))
    elif "address" in data:
        changes.update(write_addresses(uow, profile, [data["address"]], current))
    if "flags" in data:
        changes.update(write_flags(uow, profile, data["flags"], current))
    if "linked_people" in data:
        changes.update(write_linked_people(uow, profile, data["linked_people"], current))
    return changes


def record_history(uow, profile_id, changes: dict) -> None:
    """One history row per changed field, by the caller, now."""
    now = clock.now()
    uow.session.add_all(History(profile_id=profile_id, changed_by=uow.caller.id, changed_at=now, field=field,
                                before=as_json(change["before"]), after=as_json(change["after"]))
                        for field, change in changes.items())
