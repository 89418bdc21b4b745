"""People and premises: create, read, change, create-or-update by a partner's reference, history.

Plain functions over a unit of work (reads that record nothing take a session and the caller); no nameko.
Every read and write goes through the record's access list (concord_common.access); a record the caller
may not see is NotFound.
"""
import logging
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.errors import (Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed,
                                   load_or_fail)
from services.profiles import duplicates
from services.profiles.models import History, Profile
from services.profiles.schema_parts import ExternalRefSchema
from services.profiles.profile_views import active_merges, as_json, child_lists, read_profile_view
from services.profiles.profile_writes import (CHILD_LISTS, NO_CHILDREN, lists_unchanged, record_history,
                                             write_child_lists)
from services.profiles.record_kinds import PROFILE, invalid_field
from services.profiles.schemas import PersonCreateSchema, ProfileUpdateSchema

log = logging.getLogger(__name__)

_create_schema = PersonCreateSchema()
_update_schema = ProfileUpdateSchema()
_external_ref_schema = ExternalRefSchema()
SCALARS = ("given_name", "family_name", "name", "date_of_birth", "gender", "roles", "contact", "premises_type")
PERSON_ONLY = ("gender", "aliases", "identifiers", "flags", "roles", "date_of_birth", "given_name", "family_name",
               "addresses")
PREMISES_ONLY = ("premises_type", "address", "linked_people", "name")


def load_new(payload: dict, external_ref=None) -> tuple[dict, str | None, dict | None]:
    """A create body checked: (fields, the team asked to lead it, external reference)."""
    data = load_or_fail(_create_schema, payload)
    requested = data.pop("owner_team_id", None)
    external = data.pop("external_ref", None) or external_ref
    return data, (str(requested) if requested else None), external


def new_row(caller, data: dict, requested, external, directory, owner=None) -> tuple[dict, dict]:
    """The new profile's column values and its child lists (as loaded), nothing written yet. `owner` (team id,
    organisation id): set by the service itself, never from a caller's payload."""
    team_id, organisation_id = owner or records.owning_team(caller, requested, directory)
    consent = data.pop("consent", None) or {}
    child_data = {key: data.pop(key) for key in CHILD_LISTS if key in data}
    row = dict(id=str(uuid.uuid4()), created_by=caller.id, version=1, owner_team_id=team_id,
               owner_organisation_id=organisation_id, consent_status=consent.get("status", "not_sought"),
               consent_detail=consent.get("detail"), roles=sorted(set(data.pop("roles", []) or [])),
               external_system=external["system"] if external else None,
               external_id=external["id"] if external else None, **data)
    return row, child_data


def scalar_changes(row: dict) -> dict:
    """A new profile's history entries for its plain fields."""
    return {field: {"before": None, "after": as_json(row.get(field))}
            for field in SCALARS if row.get(field) not in (None, [])}


def created_event(body: dict) -> dict:
    return {"record": {"type": "profile", "id": body["id"]}, "owner": body["owner"], "profile": body}


def create_profile(uow, payload: dict, directory, external_ref=None, owner=None) -> dict:
    """`owner` (team id, organisation id): set by the service itself (a MASH referral's new subject is led by
    the MASH team), never from a caller's payload."""
    data, requested, external = load_new(payload, external_ref)
    if external:
        existing = uow.session.execute(select(Profile.id).where(
            Profile.external_system == external["system"], Profile.external_id == external["id"])).first()
        if existing is not None:
            raise Conflict("That external reference is already on a profile: update it with "
                           f"PUT /api/v1/profiles/by-external-ref/{external['system']}/{external['id']}.")
    row, child_data = new_row(uow.caller, data, requested, external, directory, owner)
    profile = Profile(**row)
    uow.session.add(profile)
    uow.session.flush()
    changes = scalar_changes(row)
    changes.update(write_child_lists(uow, profile, child_data, NO_CHILDREN))
    record_history(uow, profile.id, {"created": {"before": None, "after": None}, **changes})
    uow.session.flush()
    uow.session.refresh(profile)
    body = read_profile_view(uow.session, profile)
    uow.add_event("profile.created", created_event(body))
    log.info("profile created", extra={"fields": {"profile_id": profile.id}})
    return body


def create_profile_with_duplicates(uow, payload: dict, directory) -> dict:
    """The new profile, with the profiles that may be the same person."""
    profile = create_profile(uow, payload, directory)
    return {**profile, "possible_duplicates": duplicates.possible_duplicates(uow, profile)}


def get_profile(uow, profile_id) -> dict:
    """Only for those who may see it; the view itself is recorded in the same transaction
    (so if it cannot be recorded, it is not served)."""
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    decision = records.require(uow.caller, access, "view")
    uow.add_event("profile.viewed", {"record": {"type": "profile", "id": row.id},
                                     "owner": records.owner_of(access), "level": decision.level,
                                     "break_glass": decision.break_glass})
    return read_profile_view(uow.session, row)         # the row already read: no second SELECT


def _refuse_other_kinds_fields(kind, data) -> None:
    wrong = {"person": PREMISES_ONLY, "premises": PERSON_ONLY}[kind]
    errors = {key: [f"A {kind} profile has no {key}."] for key in wrong if key in data}
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)


def as_columns(data: dict) -> tuple[dict, dict]:
    """An update's fields as the profile's columns (consent as its two, roles sorted, each once) and its child lists."""
    consent = data.pop("consent", None)
    if consent is not None:
        data["consent_status"], data["consent_detail"] = consent["status"], consent.get("detail")
    if "roles" in data:
        data["roles"] = sorted(set(data["roles"]))
    return data, {key: data.pop(key) for key in CHILD_LISTS if key in data}


def update_body(payload: dict, kind: str) -> dict:
    """An upsert's body for a profile that exists, checked (kind, owner_team_id and restricted are for new
    profiles only; the kind cannot change)."""
    body = {key: value for key, value in payload.items() if key not in ("kind", "external_ref", "owner_team_id",
                                                                         "restricted")}
    if payload.get("kind") not in (None, kind):
        raise invalid_field("kind", "A profile's kind cannot change.")
    return load_or_fail(_update_schema, body)


def would_change(profile, data: dict, current: dict) -> bool:
    """Whether _apply_update of `data` (update_body's answer) would change the profile; nothing written.
    ValidationFailed as _apply_update raises it."""
    if profile.merged_into:
        return True                         # _apply_update refuses it: let it say so
    _refuse_other_kinds_fields(profile.kind, data)
    data, child_data = as_columns(dict(data))
    return any(getattr(profile, field) != value for field, value in data.items()) \
        or not lists_unchanged(child_data, current)


def _apply_update(uow, row, access, data) -> dict:
    """Write the fields in `data` (already validated) to a profile the caller may edit; bump its version,
    record its history and the event only if something changed."""
    profile = uow.session.get(Profile, row.id)
    if profile.merged_into:
        raise Conflict(f"This profile was merged into {profile.merged_into}: change that one, or unmerge first.")
    _refuse_other_kinds_fields(profile.kind, data)
    data, child_data = as_columns(data)
    changes = {}
    for field, value in data.items():
        before = getattr(profile, field)
        if before != value:
            changes[field] = {"before": as_json(before), "after": as_json(value)}
            setattr(profile, field, value)
    current = child_lists(uow.session, [profile.id])[profile.id]
    changes.update(write_child_lists(uow, profile, child_data, current))
    if changes:
        profile.version += 1
        profile.updated_at = clock.now()
        record_history(uow, profile.id, changes)
        uow.session.flush()
        uow.add_event("profile.updated", {"record": {"type": "profile", "id": row.id},
                                          "owner": records.owner_of(access), "fields": changes})
    return read_profile_view(uow.session, profile)


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
        raise invalid_field("_schema", "Send a JSON object.")
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
    return _apply_update(uow, row, access, update_body(payload, row.kind)), False


def upsert_with_duplicates(uow, system, external_id, payload, directory) -> dict:
    """The RPC's answer to a create-or-update: {profile, created}; a new profile carries its likely duplicates."""
    profile, created = upsert_by_external_ref(uow, system, external_id, payload, directory)
    if created:
        profile["possible_duplicates"] = duplicates.possible_duplicates(uow, profile)
    return {"profile": profile, "created": created}


def profile_history(uow, profile_id, params) -> dict:
    """Every change to the profile (and to those merged into it); the read is recorded."""
    session = uow.session
    row, access, _ = records.load(session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    records.record_read(uow, access, "history")
    # A survivor's history carries the histories of the profiles merged into it (each row says whose).
    profile_ids = [row.id] + [merged.duplicate_id for merged in active_merges(session, row.id)]
    rows = session.execute(select(History).where(History.profile_id.in_(profile_ids))
                           .order_by(History.changed_at, History.id)).scalars().all()
    return {"items": [{"at": as_json(h.changed_at), "by": h.changed_by, "field": h.field, "before": h.before,
                       "after": h.after, "profile_id": h.profile_id} for h in rows], "next_cursor": None}
