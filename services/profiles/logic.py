"""Profiles domain logic: plain functions over a unit of work, no nameko here.

Every read and write goes through the record's access list
(concord_common.access); a record the caller may not see is NotFound.
"""
import logging
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import (Conflict, Forbidden, NotFound, PreconditionFailed, PreconditionRequired,
                                   ValidationFailed, load_or_fail)
from services.profiles.models import (Address, Alias, Family, FamilyMember, Flag, History, Identifier, Merge,
                                      PremisesPerson, Profile)
from services.profiles.models import Attachment
from services.profiles.schemas import (ExternalRefSchema, FamilyCreateSchema, FamilyMemberSchema, PersonCreateSchema,
                                       ProfileSchema, ProfileUpdateSchema, display_name)

log = logging.getLogger(__name__)

PROFILE = records.RecordKind(
    record_type="profile", path="profiles", table=Profile.__table__, display_name=display_name,
    is_person=lambda row: row.kind == "person",
    consent_refused=lambda row: row.kind == "person" and row.consent_status == "refused")
FAMILY = records.RecordKind(record_type="family", path="families", table=Family.__table__,
                            display_name=lambda row: row.name)

_create_schema = PersonCreateSchema()
_update_schema = ProfileUpdateSchema()
_profile_schema = ProfileSchema()
_family_schema = FamilyCreateSchema()
_member_schema = FamilyMemberSchema()
_external_ref_schema = ExternalRefSchema()
SCALARS = ("given_name", "family_name", "name", "date_of_birth", "gender", "roles", "contact", "premises_type")
CHILDREN = ("aliases", "identifiers", "addresses", "flags", "address", "linked_people")


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def owning_team(caller, requested, directory) -> tuple[str, str]:
    """(team id, organisation id) that will lead a new record: the creator's team, or one they name."""
    if caller.kind == "user":
        teams = caller.team_ids()
        if requested:
            if requested not in teams:
                raise _invalid("owner_team_id", "You can only give a new record to one of your own teams.")
            return requested, caller.organisation_id
        if len(teams) == 1:
            return next(iter(teams)), caller.organisation_id
        if not teams:
            raise Forbidden("You are not in a team, so you cannot create records.")
        raise _invalid("owner_team_id", "You are in several teams: say which one leads this record.")
    if caller.kind == "client":
        if not requested:
            raise _invalid("owner_team_id", "Name the team in your organisation that leads this record.")
        if directory.team_organisation(requested) != caller.organisation_id:
            raise _invalid("owner_team_id", "That team is not in your organisation.")
        return requested, caller.organisation_id
    raise Forbidden("Only people and partner systems create records.")


def _json(value):
    """A value as it is kept in history and events (JSON)."""
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- child tables -----------------------------------------------------------------------
def _address_view(row) -> dict:
    return {"line1": row.line1, "line2": row.line2, "town": row.town, "postcode": row.postcode, "uprn": row.uprn,
            "from": _json(row.from_date), "to": _json(row.to_date)}


def _children(session, profile_ids) -> dict:
    """{profile id: {aliases, identifiers, addresses, flags, linked_people, photo, merged_from}} in seven
    queries."""
    found = {pid: {"aliases": [], "identifiers": [], "addresses": [], "flags": [], "linked_people": [],
                   "photo": None, "merged_from": []} for pid in profile_ids}
    if not profile_ids:
        return found
    ids = list(profile_ids)
    for row in session.execute(select(Alias).where(Alias.profile_id.in_(ids)).order_by(Alias.id)).scalars():
        found[row.profile_id]["aliases"].append({"given_name": row.given_name, "family_name": row.family_name})
    for row in session.execute(select(Identifier).where(Identifier.profile_id.in_(ids))
                               .order_by(Identifier.id)).scalars():
        found[row.profile_id]["identifiers"].append({"scheme": row.scheme, "value": row.value})
    for row in session.execute(select(Address).where(Address.profile_id.in_(ids))
                               .order_by(Address.from_date.desc().nulls_last(), Address.id)).scalars():
        found[row.profile_id]["addresses"].append(_address_view(row))
    for row in session.execute(select(Flag).where(Flag.profile_id.in_(ids)).order_by(Flag.id)).scalars():
        found[row.profile_id]["flags"].append({"flag": row.flag, "detail": row.detail, "set_by": row.set_by,
                                               "set_at": _json(row.set_at)})
    for row in session.execute(select(PremisesPerson).where(PremisesPerson.premises_id.in_(ids))).scalars():
        found[row.premises_id]["linked_people"].append(row.profile_id)
    # A person's photo: their newest kind=photo attachment (services/profiles/attachments.py).
    for row in session.execute(select(Attachment.id, Attachment.profile_id)
                               .where(Attachment.profile_id.in_(ids), Attachment.kind == "photo")
                               .distinct(Attachment.profile_id)
                               .order_by(Attachment.profile_id, Attachment.uploaded_at.desc(), Attachment.id.desc())):
        found[row.profile_id]["photo"] = {"attachment_id": row.id,
                                          "download": f"/api/v1/profiles/{row.profile_id}/attachments/{row.id}"}
    # Profiles merged into this one and not taken out again (services/profiles/duplicates.py).
    for row in session.execute(select(Merge.survivor_id, Merge.duplicate_id).where(
            Merge.survivor_id.in_(ids), Merge.unmerged_at.is_(None)).order_by(Merge.merged_at)):
        found[row.survivor_id]["merged_from"].append(row.duplicate_id)
    return found


def _dump(profile, children=None) -> dict:
    body = {**_profile_schema.dump(profile), "access": "full"}
    kids = children if children is not None else {"aliases": [], "identifiers": [], "addresses": [], "flags": [],
                                                  "linked_people": []}
    if profile.kind == "premises":
        body["address"] = kids["addresses"][0] if kids["addresses"] else None
        body["linked_people"] = sorted(kids["linked_people"])
    else:
        body.update({key: kids[key] for key in ("aliases", "identifiers", "addresses", "flags")})
        body["photo"] = kids.get("photo")
    body["merged_from"] = kids.get("merged_from", [])
    return body


def _dump_one(session, profile) -> dict:
    return _dump(profile, _children(session, [profile.id])[profile.id])


def _flag_view(flag) -> dict:
    return {"flag": flag["flag"], "detail": flag["detail"]}


def _replace_children(uow, profile, data: dict, current: dict) -> dict:
    """Write the child lists present in `data`; return {field: {before, after}} for what changed."""
    session, caller, now = uow.session, uow.caller, clock.now()
    changes = {}
    if "aliases" in data:
        after = [{"given_name": a["given_name"], "family_name": a["family_name"]} for a in data["aliases"]]
        if after != current["aliases"]:
            session.execute(Alias.__table__.delete().where(Alias.profile_id == profile.id))
            session.add_all(Alias(profile_id=profile.id, **a) for a in after)
            changes["aliases"] = {"before": current["aliases"], "after": after}
    if "identifiers" in data:
        after, seen = [], set()
        for item in data["identifiers"]:
            if (item["scheme"], item["value"]) not in seen:
                seen.add((item["scheme"], item["value"]))
                after.append({"scheme": item["scheme"], "value": item["value"]})
        if after != current["identifiers"]:
            session.execute(Identifier.__table__.delete().where(Identifier.profile_id == profile.id))
            session.add_all(Identifier(profile_id=profile.id, **i) for i in after)
            changes["identifiers"] = {"before": current["identifiers"], "after": after}
    addresses = data.get("addresses") if "addresses" in data else ([data["address"]] if "address" in data else None)
    if addresses is not None:
        rows = [Address(profile_id=profile.id, **a) for a in addresses]
        after = [_address_view(row) for row in rows]
        if sorted(map(repr, after)) != sorted(map(repr, current["addresses"])):
            session.execute(Address.__table__.delete().where(Address.profile_id == profile.id))
            session.add_all(rows)
            changes["address" if profile.kind == "premises" else "addresses"] = {
                "before": current["addresses"][0] if profile.kind == "premises" and current["addresses"]
                else (None if profile.kind == "premises" else current["addresses"]),
                "after": after[0] if profile.kind == "premises" else after}
    if "flags" in data:
        wanted = {}
        for item in data["flags"]:          # one of each flag; the last one given wins
            wanted[item["flag"]] = _json(item["detail"])
        before = [_flag_view(f) for f in current["flags"]]
        kept = {f["flag"]: f for f in current["flags"]}
        after = [{"flag": name, "detail": detail} for name, detail in wanted.items()]
        if sorted(map(repr, after)) != sorted(map(repr, before)):
            unchanged = {name for name, detail in wanted.items() if name in kept and kept[name]["detail"] == detail}
            session.execute(Flag.__table__.delete().where(Flag.profile_id == profile.id,
                                                          Flag.flag.notin_(unchanged)))
            session.add_all(Flag(profile_id=profile.id, flag=name, detail=detail, set_by=caller.id, set_at=now)
                            for name, detail in wanted.items() if name not in unchanged)
            changes["flags"] = {"before": before, "after": after}
    if "linked_people" in data:
        after = sorted({str(pid) for pid in data["linked_people"]})
        for position, pid in enumerate(str(p) for p in data["linked_people"]):
            _require_visible_person(session, caller, pid, f"linked_people.{position}")
        if after != sorted(current["linked_people"]):
            session.execute(PremisesPerson.__table__.delete().where(PremisesPerson.premises_id == profile.id))
            session.add_all(PremisesPerson(premises_id=profile.id, profile_id=pid) for pid in after)
            changes["linked_people"] = {"before": sorted(current["linked_people"]), "after": after}
    return changes


def _require_visible_person(session, caller, profile_id, field) -> None:
    try:
        row, access, _ = records.load(session, PROFILE, profile_id)
        records.require(caller, access, "view")
    except (NotFound, Forbidden):
        raise _invalid(field, "There is no such profile that you can see.")
    if row.kind != "person":
        raise _invalid(field, "That profile is not a person.")


def _record_history(uow, profile_id, changes: dict) -> None:
    now = clock.now()
    uow.session.add_all(History(profile_id=profile_id, changed_by=uow.caller.id, changed_at=now, field=field,
                                before=_json(change["before"]), after=_json(change["after"]))
                        for field, change in changes.items())


def _check_kind_fields(kind, data) -> None:
    person_only = ("gender", "aliases", "identifiers", "flags", "roles", "date_of_birth", "given_name",
                   "family_name", "addresses")
    premises_only = ("premises_type", "address", "linked_people", "name")
    wrong = {"person": premises_only, "premises": person_only}[kind]
    errors = {key: [f"A {kind} profile has no {key}."] for key in wrong if key in data}
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)


# -- profiles -------------------------------------------------------------------------
def create_profile(uow, payload: dict, directory, external_ref=None) -> dict:
    data = load_or_fail(_create_schema, payload)
    requested = data.pop("owner_team_id", None)
    requested = str(requested) if requested else None
    external = data.pop("external_ref", None) or external_ref
    if external:
        existing = uow.session.execute(select(Profile.id).where(
            Profile.external_system == external["system"], Profile.external_id == external["id"])).first()
        if existing is not None:
            raise Conflict("That external reference is already on a profile: update it with "
                           f"PUT /api/v1/profiles/by-external-ref/{external['system']}/{external['id']}.")
    team_id, organisation_id = owning_team(uow.caller, requested, directory)
    consent = data.pop("consent", None) or {}
    child_data = {key: data.pop(key) for key in CHILDREN if key in data}
    profile = Profile(id=str(uuid.uuid4()), created_by=uow.caller.id, version=1, owner_team_id=team_id,
                      owner_organisation_id=organisation_id, consent_status=consent.get("status", "not_sought"),
                      consent_detail=consent.get("detail"), roles=sorted(set(data.pop("roles", []) or [])),
                      external_system=external["system"] if external else None,
                      external_id=external["id"] if external else None, **data)
    uow.session.add(profile)
    uow.session.flush()
    empty = {"aliases": [], "identifiers": [], "addresses": [], "flags": [], "linked_people": []}
    changes = {field: {"before": None, "after": _json(getattr(profile, field))}
               for field in SCALARS if getattr(profile, field) not in (None, [])}
    changes.update(_replace_children(uow, profile, child_data, empty))
    _record_history(uow, profile.id, {"created": {"before": None, "after": None}, **changes})
    uow.session.flush()
    uow.session.refresh(profile)
    body = _dump_one(uow.session, profile)
    uow.add_event("profile.created", {"record": {"type": "profile", "id": profile.id}, "owner": body["owner"],
                                      "profile": body})
    log.info("profile created", extra={"fields": {"profile_id": profile.id}})
    return body


def get_profile(uow, profile_id) -> dict:
    """Only for those who may see it; the view itself is recorded in the same transaction
    (so if it cannot be recorded, it is not served)."""
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    decision = records.require(uow.caller, access, "view")
    uow.add_event("profile.viewed", {"record": {"type": "profile", "id": row.id},
                                     "owner": records.owner_of(access), "level": decision.level,
                                     "break_glass": any(g.source == "break_glass" and g.covers(uow.caller)
                                                        and g.active(clock.now()) for g in access.grants)})
    return _dump_one(uow.session, row)         # the row already read: no second SELECT


def _active_merges(session, survivor_id) -> list:
    return session.execute(select(Merge).where(Merge.survivor_id == survivor_id, Merge.unmerged_at.is_(None))
                           .order_by(Merge.merged_at)).scalars().all()


def _apply_update(uow, row, access, data) -> dict:
    profile = uow.session.get(Profile, row.id)
    if profile.merged_into:
        raise Conflict(f"This profile was merged into {profile.merged_into}: change that one, or unmerge first.")
    _check_kind_fields(profile.kind, data)
    changes = {}
    consent = data.pop("consent", None)
    if consent is not None:
        data["consent_status"], data["consent_detail"] = consent["status"], consent.get("detail")
    if "roles" in data:
        data["roles"] = sorted(set(data["roles"]))
    child_data = {key: data.pop(key) for key in CHILDREN if key in data}
    for field, value in data.items():
        before = getattr(profile, field)
        if before != value:
            changes[field] = {"before": _json(before), "after": _json(value)}
            setattr(profile, field, value)
    current = _children(uow.session, [profile.id])[profile.id]
    changes.update(_replace_children(uow, profile, child_data, current))
    if changes:
        profile.version += 1
        profile.updated_at = clock.now()
        _record_history(uow, profile.id, changes)
        uow.session.flush()
        uow.add_event("profile.updated", {"record": {"type": "profile", "id": row.id},
                                          "owner": records.owner_of(access), "fields": changes})
    return _dump_one(uow.session, profile)


def update_profile(uow, profile_id, payload: dict, if_match) -> dict:
    row, access, _ = records.load(uow.session, PROFILE, profile_id, lock=True)
    records.require(uow.caller, access, "edit")
    if if_match in (None, ""):
        raise PreconditionRequired("Send If-Match with the version you read.")
    if str(if_match).strip('"') != str(row.version):
        raise PreconditionFailed(f"The record is at version {row.version}; read it again and redo your change.")
    return _apply_update(uow, row, access, load_or_fail(_update_schema, payload))


def upsert_by_external_ref(uow, system, external_id, payload, directory) -> tuple[dict, bool]:
    """A partner's create-or-update by its own id: (profile, created?)."""
    if not isinstance(payload, dict):
        raise _invalid("_schema", "Send a JSON object.")
    ref = load_or_fail(_external_ref_schema, {"system": system, "id": external_id})
    found = uow.session.execute(select(Profile.id).where(Profile.external_system == ref["system"],
                                                         Profile.external_id == ref["id"])
                                .with_for_update()).first()
    if found is None:
        body = {key: value for key, value in payload.items() if key != "external_ref"}
        return create_profile(uow, body, directory, external_ref=ref), True
    row, access, _ = records.load(uow.session, PROFILE, found.id, lock=True)
    try:
        records.require(uow.caller, access, "edit")
    except NotFound:
        raise Conflict("That external reference is already used on a record you may not change.")
    body = {key: value for key, value in payload.items() if key not in ("kind", "external_ref", "owner_team_id",
                                                                         "restricted")}
    if payload.get("kind") not in (None, row.kind):
        raise _invalid("kind", "A profile's kind cannot change.")
    return _apply_update(uow, row, access, load_or_fail(_update_schema, body)), False


def profile_history(uow, profile_id, params) -> dict:
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    # A survivor's history carries the histories of the profiles merged into it (each row says whose).
    profile_ids = [row.id] + [merged.duplicate_id for merged in _active_merges(uow.session, row.id)]
    rows = uow.session.execute(select(History).where(History.profile_id.in_(profile_ids))
                               .order_by(History.changed_at, History.id)).scalars().all()
    return {"items": [{"at": _json(h.changed_at), "by": h.changed_by, "field": h.field, "before": h.before,
                       "after": h.after, "profile_id": h.profile_id} for h in rows], "next_cursor": None}


# -- families ------------------------------------------------------------------------------
def _family_view(session, caller, family, access=None) -> dict:
    members = session.execute(select(FamilyMember).where(FamilyMember.family_id == family.id)
                              .order_by(FamilyMember.added_at, FamilyMember.profile_id)).scalars().all()
    table = Profile.__table__
    visible = visible_clause(caller, clock.now(), table, grants, "profile").label("visible")
    people = {row.id: row for row in session.execute(select(table, visible).where(
        table.c.id.in_([m.profile_id for m in members] or ["00000000-0000-0000-0000-000000000000"])))}
    out = []
    for member in members:
        person = people.get(member.profile_id)
        out.append({"profile_id": member.profile_id, "role": member.role,
                    "display_name": display_name(person) if person is not None else None,
                    "access": "full" if person is not None and person.visible else "signpost"})
    return {"id": family.id, "name": family.name, "members": out,
            "owner": {"organisation_id": family.owner_organisation_id, "team_id": family.owner_team_id},
            "restricted": family.restricted, "version": family.version, "created_at": _json(family.created_at),
            "updated_at": _json(family.updated_at), "access": "full"}


def _check_members(session, caller, members, prefix="members") -> None:
    errors = {}
    for position, member in enumerate(members):
        try:
            _require_visible_person(session, caller, str(member["profile_id"]), f"{prefix}.{position}.profile_id")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)


def create_family(uow, payload, directory) -> dict:
    data = load_or_fail(_family_schema, payload)
    _check_members(uow.session, uow.caller, data["members"])
    requested = str(data["owner_team_id"]) if data["owner_team_id"] else None
    team_id, organisation_id = owning_team(uow.caller, requested, directory)
    family = Family(id=str(uuid.uuid4()), name=data["name"], created_by=uow.caller.id, version=1,
                    owner_team_id=team_id, owner_organisation_id=organisation_id, restricted=False)
    uow.session.add(family)
    uow.session.flush()
    uow.session.add_all(FamilyMember(family_id=family.id, profile_id=str(m["profile_id"]), role=m["role"],
                                     added_by=uow.caller.id) for m in data["members"])
    uow.session.flush()
    uow.session.refresh(family)
    body = _family_view(uow.session, uow.caller, family)
    uow.add_event("family.created", {"record": {"type": "family", "id": family.id}, "owner": body["owner"],
                                     "name": family.name, "members": [{"profile_id": str(m["profile_id"]),
                                                                       "role": m["role"]} for m in data["members"]]})
    return body


def get_family(uow, family_id) -> dict:
    row, access, _ = records.load(uow.session, FAMILY, family_id)
    decision = records.require(uow.caller, access, "view")
    uow.add_event("family.viewed", {"record": {"type": "family", "id": row.id}, "owner": records.owner_of(access),
                                    "level": decision.level})
    return _family_view(uow.session, uow.caller, uow.session.get(Family, row.id))


def add_family_member(uow, family_id, payload) -> dict:
    row, access, _ = records.load(uow.session, FAMILY, family_id, lock=True)
    records.require(uow.caller, access, "edit")
    member = load_or_fail(_member_schema, payload)
    _require_visible_person(uow.session, uow.caller, str(member["profile_id"]), "profile_id")
    family = uow.session.get(Family, row.id)
    existing = uow.session.get(FamilyMember, (family.id, str(member["profile_id"])))
    if existing is not None:
        if existing.role == member["role"]:
            return _family_view(uow.session, uow.caller, family)
        before = existing.role
        existing.role = member["role"]
    else:
        before = None
        uow.session.add(FamilyMember(family_id=family.id, profile_id=str(member["profile_id"]), role=member["role"],
                                     added_by=uow.caller.id))
    family.version += 1
    family.updated_at = clock.now()
    uow.session.flush()
    uow.add_event("family.member_added", {"record": {"type": "family", "id": family.id},
                                          "owner": records.owner_of(access),
                                          "member": {"profile_id": str(member["profile_id"]), "role": member["role"]},
                                          "fields": {"members": {"before": before, "after": member["role"]}}})
    return _family_view(uow.session, uow.caller, family)


def remove_family_member(uow, family_id, profile_id) -> None:
    row, access, _ = records.load(uow.session, FAMILY, family_id, lock=True)
    records.require(uow.caller, access, "edit")
    member = uow.session.get(FamilyMember, (row.id, records.record_uuid(profile_id)))
    if member is None:
        raise NotFound()
    uow.session.delete(member)
    family = uow.session.get(Family, row.id)
    family.version += 1
    family.updated_at = clock.now()
    uow.session.flush()
    uow.add_event("family.member_removed", {"record": {"type": "family", "id": family.id},
                                            "owner": records.owner_of(access),
                                            "member": {"profile_id": member.profile_id, "role": member.role}})


def profile_families(uow, profile_id) -> dict:
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    table = Family.__table__
    visible = visible_clause(uow.caller, clock.now(), table, grants, "family")
    rows = uow.session.execute(select(Family, FamilyMember.role).join(FamilyMember, FamilyMember.family_id == Family.id)
                               .where(FamilyMember.profile_id == row.id, visible)
                               .order_by(Family.name, Family.id)).all()
    return {"items": [{**_family_view(uow.session, uow.caller, family), "role": role} for family, role in rows],
            "next_cursor": None}
