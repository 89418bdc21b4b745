"""Likely duplicates (on demand and on create), merging one profile into another, and undoing it.

A merge folds the duplicate into the survivor without destroying anything: the duplicate's aliases (its
own name becomes one), identifiers, addresses, flags and roles are *copied* onto the survivor, empty
details (date of birth, gender, contact) filled from it, and its family memberships and premises links
*moved* to the survivor. The duplicate keeps all its own rows and its history and is marked
`merged_into`; search and matching skip it. What was copied, filled and moved is stored on the merge
(`profile_merges.changes`, row ids included), so unmerge takes exactly that back out again — later
edits to the survivor stay. Merging changes no access list: both records keep their owners and grants.

Who may (docs/profiles.md, "Merge and ownership"): merging needs the lead team's rights on both records —
edit access is not enough, or a grantee could fold another organisation's record into its own and lock its
owner out. Where the caller's team leads the survivor but another team leads the duplicate, the merge
becomes a request that team accepts (merge_requests.py). Either lead team may undo a merge.
"""
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import decide
from concord_common.errors import Conflict, Forbidden, NotFound, load_or_fail
from services.profiles import matching
from services.profiles.profile_views import as_json, child_lists, profile_view, read_profile_view
from services.profiles.profile_writes import record_history
from services.profiles.record_kinds import PROFILE, invalid_field
from services.profiles.models import Address, Alias, FamilyMember, Flag, Identifier, Merge, PremisesPerson, Profile
from services.profiles.schemas import MatchesSchema, MergeSchema, UnmergeSchema
from services.profiles.search import involved, signpost

_matches_schema = MatchesSchema()
_merge_schema = MergeSchema()
_unmerge_schema = UnmergeSchema()
ON_CREATE = {"limit": 5, "min_score": 0.5}       # only the likely ones, as a prompt to check before going on
FILLED = ("date_of_birth", "gender", "contact")


# -- matches ---------------------------------------------------------------------------
def _match_items(uow, subject, limit, minimum) -> list[dict]:
    found = matching.find_matches(uow.session, uow.caller, subject, limit=limit, minimum=minimum)
    visible = [m["row"].id for m in found if m["visible"]]
    children = child_lists(uow.session, visible)
    organisations = involved(uow.session, [m["row"].id for m in found if not m["visible"]])
    items = []
    for match in found:
        row = match["row"]
        shown = profile_view(row, children[row.id]) if match["visible"] else signpost(row, organisations.get(row.id, []))
        items.append({"profile": shown, "score": match["score"], "reasons": match["reasons"],
                      "against": match["against"]})
    if items:
        uow.add_event("profile.matches_checked", {
            "record": {"type": "profile", "id": subject.id},
            "candidates": [{"id": item["profile"]["id"], "score": item["score"]} for item in items]})
    return items


def profile_matches(uow, profile_id, params) -> dict:
    """GET /profiles/{id}/matches: for whoever may view the profile."""
    criteria = load_or_fail(_matches_schema, params or {})
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    if row.kind != "person" or row.merged_into:
        return {"items": [], "next_cursor": None}
    subject = matching.subject_of(read_profile_view(uow.session, row))      # the row already read
    return {"items": _match_items(uow, subject, criteria["limit"], criteria["min_score"]), "next_cursor": None}


def possible_duplicates(uow, profile: dict) -> list[dict]:
    """The likely duplicates of a profile just created (its creator may view it)."""
    if profile.get("kind") != "person":
        return []
    return _match_items(uow, matching.subject_of(profile), ON_CREATE["limit"], ON_CREATE["min_score"])


# -- merge -----------------------------------------------------------------------------
NO_DUPLICATE = "There is no such profile that you can change."
SURVIVOR_LEAD_ONLY = ("Only the team that leads this profile may merge another into it: ask that team, "
                      "or offer them your record to merge.")


def leads(caller, access) -> bool:
    """The caller is in the team that leads the record (the rights merging needs; edit access is not enough)."""
    return caller.kind == "user" and decide(caller, access, "share", clock.now()).allowed


def lock_pair(uow, survivor_id, duplicate_id):
    """Both rows locked, in id order (two merges of the same pair cannot deadlock); no access checked.
    (survivor, its access, duplicate, its access); the duplicate None if there is no such profile."""
    loaded = {}
    for record_id in sorted([survivor_id, duplicate_id]):
        try:
            loaded[record_id] = records.load(uow.session, PROFILE, record_id, lock=True)
        except NotFound:
            if record_id == survivor_id:
                raise
            loaded[record_id] = (None, None, None)
    (survivor, survivor_access, _), (duplicate, duplicate_access, _) = loaded[survivor_id], loaded[duplicate_id]
    return (uow.session.get(Profile, survivor.id), survivor_access,
            duplicate and uow.session.get(Profile, duplicate.id), duplicate_access)


def _merge_pair(uow, survivor_id, duplicate_id):
    """Both rows locked; the caller leads the survivor and may see the duplicate (else 404 / 403 / 422)."""
    survivor_id, duplicate_id = records.record_uuid(survivor_id), str(duplicate_id)
    if duplicate_id == survivor_id:
        raise invalid_field("duplicate_id", "A profile cannot be merged into itself.")
    survivor, survivor_access, duplicate, duplicate_access = lock_pair(uow, survivor_id, duplicate_id)
    records.require(uow.caller, survivor_access, "view")
    if not leads(uow.caller, survivor_access):
        raise Forbidden(SURVIVOR_LEAD_ONLY)
    if duplicate is None or not decide(uow.caller, duplicate_access, "view", clock.now()).allowed:
        raise invalid_field("duplicate_id", NO_DUPLICATE)
    return survivor, survivor_access, duplicate, duplicate_access


def check_mergeable(session, survivor, duplicate) -> None:
    """What would make the merge wrong or its undoing ambiguous: 422 / 409."""
    if survivor.kind != duplicate.kind:
        raise invalid_field("duplicate_id", f"A {duplicate.kind} profile cannot be merged into a {survivor.kind}.")
    for profile in (survivor, duplicate):
        if profile.merged_into:
            raise Conflict(f"Profile {profile.id} is already merged into {profile.merged_into}.")
    if session.execute(select(Merge.id).where(Merge.survivor_id == duplicate.id,
                                              Merge.unmerged_at.is_(None))).first():
        raise Conflict("Other profiles are merged into the duplicate: merge into it instead, or unmerge them first.")


def _same_alias(a, b) -> bool:
    return (a["given_name"] or "").lower() == (b["given_name"] or "").lower() and \
        (a["family_name"] or "").lower() == (b["family_name"] or "").lower()


def _copy_children(session, survivor, duplicate, ours: dict, theirs: dict) -> dict:
    """Copy the duplicate's child rows the survivor lacks; {table: [new row ids]}."""
    added = {"aliases": [], "identifiers": [], "addresses": [], "flags": []}
    if survivor.kind == "person":
        names = [{"given_name": duplicate.given_name, "family_name": duplicate.family_name}] + theirs["aliases"]
        have = [{"given_name": survivor.given_name, "family_name": survivor.family_name}] + ours["aliases"]
        for alias in names:
            if not any(_same_alias(alias, known) for known in have):
                row = Alias(profile_id=survivor.id, given_name=alias["given_name"], family_name=alias["family_name"])
                session.add(row)
                session.flush()
                added["aliases"].append(row.id)
                have.append(alias)
    for ident in theirs["identifiers"]:
        if ident not in ours["identifiers"]:
            row = Identifier(profile_id=survivor.id, **ident)
            session.add(row)
            session.flush()
            added["identifiers"].append(row.id)
    known = [_address_key(a) for a in session.execute(select(Address).where(Address.profile_id == survivor.id))
             .scalars()]
    for address in session.execute(select(Address).where(Address.profile_id == duplicate.id)
                                   .order_by(Address.id)).scalars().all():
        if _address_key(address) not in known:
            known.append(_address_key(address))
            row = Address(profile_id=survivor.id, line1=address.line1, line2=address.line2, town=address.town,
                          postcode=address.postcode, uprn=address.uprn, from_date=address.from_date,
                          to_date=address.to_date)
            session.add(row)
            session.flush()
            added["addresses"].append(row.id)
    kept = {f["flag"] for f in ours["flags"]}
    their_flags = session.execute(select(Flag).where(Flag.profile_id == duplicate.id).order_by(Flag.id)).scalars()
    for flag in their_flags.all():
        if flag.flag not in kept:       # who set it and when travel with it
            row = Flag(profile_id=survivor.id, flag=flag.flag, detail=flag.detail, set_by=flag.set_by,
                       set_at=flag.set_at)
            session.add(row)
            session.flush()
            added["flags"].append(row.id)
            kept.add(flag.flag)
    return added


def _address_key(address) -> dict:
    return {"line1": (address.line1 or "").strip().lower(), "postcode": address.postcode,
            "from": address.from_date, "to": address.to_date}


def _move_links(session, survivor_id, duplicate_id) -> dict:
    """Family memberships and premises links of the duplicate move to the survivor (where it has none)."""
    moved = {"families": [], "premises": []}
    members = session.execute(select(FamilyMember).where(FamilyMember.profile_id == duplicate_id)).scalars().all()
    for member in members:
        if session.get(FamilyMember, (member.family_id, survivor_id)) is None:
            moved["families"].append({"family_id": member.family_id, "role": member.role})
            member.profile_id = survivor_id
    links = session.execute(select(PremisesPerson).where(PremisesPerson.profile_id == duplicate_id)).scalars().all()
    for link in links:
        if session.get(PremisesPerson, (link.premises_id, survivor_id)) is None:
            moved["premises"].append(link.premises_id)
            link.profile_id = survivor_id
    # Premises merged: the people linked to the duplicate premises are linked to the survivor too.
    moved["linked_people"] = []
    people = session.execute(select(PremisesPerson.profile_id).where(PremisesPerson.premises_id == duplicate_id))
    for person_id in people.scalars().all():
        if session.get(PremisesPerson, (survivor_id, person_id)) is None:
            session.add(PremisesPerson(premises_id=survivor_id, profile_id=person_id))
            moved["linked_people"].append(person_id)
    session.flush()
    return moved


def _changed_fields(before: dict, after: dict, scalars_before: dict, scalars_after: dict) -> dict:
    changes = {}
    for key in ("aliases", "identifiers", "addresses", "flags", "linked_people"):
        if sorted(map(repr, before[key])) != sorted(map(repr, after[key])):
            changes[key] = {"before": before[key], "after": after[key]}
    for key, value in scalars_before.items():
        if value != scalars_after[key]:
            changes[key] = {"before": as_json(value), "after": as_json(scalars_after[key])}
    return changes


def _fillable_fields(profile) -> dict:
    return {key: getattr(profile, key) for key in (*FILLED, "roles")}


def merge(uow, survivor_id, payload) -> dict:
    """POST /profiles/{survivor}/merge {"duplicate_id", "note"?}: the caller's team leads the survivor.
    If it leads the duplicate too, fold it in and return the survivor; if another team leads the duplicate,
    ask that team: {"merge_request": …} (the gateway answers 202)."""
    from services.profiles import merge_requests       # it folds with `fold`, defined here
    data = load_or_fail(_merge_schema, payload)
    survivor, survivor_access, duplicate, duplicate_access = _merge_pair(uow, survivor_id, data["duplicate_id"])
    check_mergeable(uow.session, survivor, duplicate)
    if not leads(uow.caller, duplicate_access):
        return {"merge_request": merge_requests.ask(uow, survivor, survivor_access, duplicate, duplicate_access,
                                                    data.get("note"))}
    return fold(uow, survivor, survivor_access, duplicate, duplicate_access)


def fold(uow, survivor, survivor_access, duplicate, duplicate_access) -> dict:
    """The merge itself (both rows locked, rights and check_mergeable done): returns the survivor."""
    session, now = uow.session, clock.now()
    kids = child_lists(session, [survivor.id, duplicate.id])
    before, scalars_before = kids[survivor.id], _fillable_fields(survivor)
    added = _copy_children(session, survivor, duplicate, kids[survivor.id], kids[duplicate.id])
    filled = {}
    for key in FILLED:
        if getattr(survivor, key) in (None, {}) and getattr(duplicate, key) not in (None, {}):
            filled[key] = as_json(getattr(duplicate, key))
            setattr(survivor, key, getattr(duplicate, key))
    roles_added = sorted(set(duplicate.roles or []) - set(survivor.roles or []))
    survivor.roles = sorted(set(survivor.roles or []) | set(roles_added))
    moved = _move_links(session, survivor.id, duplicate.id)
    changes = {"added": added, "filled": filled, "roles_added": roles_added, "moved": moved}
    record = Merge(id=str(uuid.uuid4()), survivor_id=survivor.id, duplicate_id=duplicate.id, merged_by=uow.caller.id,
                   merged_at=now, changes=changes)
    session.add(record)
    duplicate.merged_into = survivor.id
    _record_both_sides(uow, "profile.merged", record, (survivor, survivor_access, before, scalars_before),
            (duplicate, duplicate_access))
    return {**read_profile_view(session, survivor), "merge": merge_view(record)}


def _record_both_sides(uow, event_type, record, survivor_side, duplicate_side) -> None:
    """Both versions up, both histories and both events for a merge or an unmerge."""
    (survivor, survivor_access, before, scalars_before), (duplicate, duplicate_access) = survivor_side, duplicate_side
    now, merging = clock.now(), event_type == "profile.merged"
    for profile in (survivor, duplicate):
        profile.version += 1
        profile.updated_at = now
    uow.session.flush()
    fields = _changed_fields(before, child_lists(uow.session, [survivor.id])[survivor.id], scalars_before,
                             _fillable_fields(survivor))
    own = {"merged": {"before": None, "after": duplicate.id}} if merging else \
        {"unmerged": {"before": duplicate.id, "after": None}}
    record_history(uow, survivor.id, {**own, **fields})
    link = {"before": None, "after": survivor.id} if merging else {"before": survivor.id, "after": None}
    record_history(uow, duplicate.id, {"merged_into": link})
    merge_ref = {"id": record.id, "survivor_id": record.survivor_id, "duplicate_id": record.duplicate_id}
    uow.add_event(event_type, {"record": {"type": "profile", "id": survivor.id},
                               "owner": records.owner_of(survivor_access), "merge": merge_ref, "fields": fields})
    uow.add_event(event_type, {"record": {"type": "profile", "id": duplicate.id},
                               "owner": records.owner_of(duplicate_access), "merge": merge_ref,
                               "fields": {"merged_into": link}})


def merge_view(record) -> dict:
    return {"id": record.id, "survivor_id": record.survivor_id, "duplicate_id": record.duplicate_id,
            "merged_by": record.merged_by, "merged_at": as_json(record.merged_at),
            "unmerged_by": record.unmerged_by, "unmerged_at": as_json(record.unmerged_at)}


# -- unmerge ---------------------------------------------------------------------------
def _active_merge(uow, profile_id, payload) -> Merge:
    """The merge to undo: the one that took this duplicate away, or the one into this survivor."""
    data = load_or_fail(_unmerge_schema, payload or {})
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    active = select(Merge).where(Merge.unmerged_at.is_(None))
    if row.merged_into:
        return uow.session.execute(active.where(Merge.duplicate_id == row.id)).scalar_one()
    merges = uow.session.execute(active.where(Merge.survivor_id == row.id).order_by(Merge.merged_at)).scalars().all()
    if data["duplicate_id"] is not None:
        merges = [m for m in merges if m.duplicate_id == str(data["duplicate_id"])]
        if not merges:
            raise invalid_field("duplicate_id", "That profile is not merged into this one.")
    if not merges:
        raise Conflict("Nothing is merged into this profile.")
    if len(merges) > 1:
        raise invalid_field("duplicate_id", "Several profiles are merged into this one: say which to take out.")
    return merges[0]


def unmerge(uow, profile_id, payload) -> dict:
    """POST /profiles/{id}/unmerge: undo a merge (id: the survivor or the duplicate); returns both."""
    found = _active_merge(uow, profile_id, payload)
    survivor, survivor_access, duplicate, duplicate_access = lock_pair(uow, found.survivor_id, found.duplicate_id)
    if not (leads(uow.caller, survivor_access) or leads(uow.caller, duplicate_access)):
        raise Forbidden("Only the team that leads one of the two profiles may undo their merge.")
    record = uow.session.get(Merge, found.id, with_for_update=True)
    if record.unmerged_at is not None:
        raise Conflict("That merge has already been undone.")
    session, changes = uow.session, record.changes
    before, scalars_before = child_lists(session, [survivor.id])[survivor.id], _fillable_fields(survivor)
    for model, key in ((Alias, "aliases"), (Identifier, "identifiers"), (Address, "addresses"), (Flag, "flags")):
        if changes["added"][key]:
            session.execute(model.__table__.delete().where(model.id.in_(changes["added"][key]),
                                                           model.profile_id == survivor.id))
    for key, value in changes["filled"].items():
        if as_json(getattr(survivor, key)) == value:      # unless someone has changed it since
            setattr(survivor, key, None)
    survivor.roles = sorted(set(survivor.roles or []) - set(changes["roles_added"]))
    for moved in changes["moved"]["families"]:
        member = session.get(FamilyMember, (moved["family_id"], survivor.id))
        if member is not None and session.get(FamilyMember, (moved["family_id"], duplicate.id)) is None:
            member.profile_id = duplicate.id
    for premises_id in changes["moved"]["premises"]:
        link = session.get(PremisesPerson, (premises_id, survivor.id))
        if link is not None and session.get(PremisesPerson, (premises_id, duplicate.id)) is None:
            link.profile_id = duplicate.id
    for person_id in changes["moved"].get("linked_people", []):
        session.execute(PremisesPerson.__table__.delete().where(PremisesPerson.premises_id == survivor.id,
                                                                PremisesPerson.profile_id == person_id))
    record.unmerged_by, record.unmerged_at = uow.caller.id, clock.now()
    duplicate.merged_into = None
    _record_both_sides(uow, "profile.unmerged", record, (survivor, survivor_access, before, scalars_before),
            (duplicate, duplicate_access))
    return {"survivor": read_profile_view(session, survivor), "duplicate": read_profile_view(session, duplicate),
            "merge": merge_view(record)}

