"""What every record-owning service does with a record's access list.

Plain functions over a unit of work (or a session) and the caller; the nameko
adapter is entrypoints.py. A `RecordKind` tells them about one record type's
table; a `directory` object answers questions only the permissions service
can (does this team exist, which organisation is it in, is there an active
sharing agreement).
"""
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import select, update

from concord_common import clock
from concord_common.access.policy import Decision, Grant, RecordAccess, decide, visible_clause
from concord_common.access.schemas import (GrantSchema, ReasonSchema, RestrictionSchema, SystemGrantSchema,
                                           SystemTransferSchema, TransferSchema)
from concord_common.access.store import grants
from concord_common.context import Caller
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail

NOT_VISIBLE = ("You cannot see this record: it does not exist, or nothing in it has been shared with you. "
               "If a search showed you a signpost to it, you can ask its lead team for access.")


@dataclass(frozen=True)
class RecordKind:
    record_type: str                                   # a name in concord_common.record_types
    table: object                                      # a Table with id, owner_*, restricted, version
    display_name: Callable[[object], str]
    is_person: Callable[[object], bool] = lambda row: False
    consent_refused: Callable[[object], bool] = lambda row: False


def record_uuid(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound()


def _grant_of(row) -> Grant:
    return Grant(id=row.id, grantee_type=row.grantee_type, grantee_id=row.grantee_id, level=row.level,
                 expires_at=row.expires_at, revoked_at=row.revoked_at, source=row.source,
                 grantee_organisation_id=row.grantee_organisation_id)


def _access_of(kind: RecordKind, row, grant_rows) -> RecordAccess:
    return RecordAccess(kind.record_type, row.id, row.owner_team_id, row.owner_organisation_id,
                        bool(row.restricted), tuple(_grant_of(g) for g in grant_rows))


def load(session, kind: RecordKind, record_id, lock: bool = False):
    """(record row, RecordAccess, grant rows); NotFound if there is no such record."""
    query = select(kind.table).where(kind.table.c.id == record_uuid(record_id))
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound()
    grant_rows = session.execute(select(grants).where(grants.c.record_type == kind.record_type,
                                                      grants.c.record_id == row.id)
                                 .order_by(grants.c.granted_at)).all()
    return row, _access_of(kind, row, grant_rows), grant_rows


def load_many(session, kind: RecordKind, condition, lock: bool = False) -> list[tuple]:
    """[(record row, RecordAccess)] of the records matching `condition` (on kind.table): two queries however
    many records (a bulk import's batch)."""
    query = select(kind.table).where(condition).order_by(kind.table.c.id)       # locks taken in one order
    rows = session.execute(query.with_for_update() if lock else query).all()
    grant_rows = {}
    if rows:
        for g in session.execute(select(grants).where(grants.c.record_type == kind.record_type,
                                                      grants.c.record_id.in_([row.id for row in rows]))
                                 .order_by(grants.c.granted_at)):
            grant_rows.setdefault(str(g.record_id), []).append(g)
    return [(row, _access_of(kind, row, grant_rows.get(str(row.id), []))) for row in rows]


def hidden(access: RecordAccess) -> NotFound:
    """The 404 for a record that exists but the caller may not see: the same answer as for no record at
    all (the record travels on the exception only, never across RPC), so that the service adapter
    (concord_common.service.ServiceBase) can record the refusal as `<type>.denied`."""
    refused = NotFound()
    refused.denied = {"record": {"type": access.record_type, "id": access.record_id},
                      "owner": owner_of(access)}
    return refused


def record_denial(uow, denied: dict) -> None:
    """The event `<type>.denied` (audit action `denied`): the record, and the RPC and gateway route the
    attempt came through (`uow.origin`, set by ServiceBase)."""
    uow.add_event(f"{denied['record']['type']}.denied",
                  {**denied, **(getattr(uow, "origin", None) or {}), "outcome": "failure"})


def require(caller: Caller, access: RecordAccess, action: str) -> Decision:
    """Deny by default: 404 if the caller may not know the record exists, 403 if they may."""
    decision = decide(caller, access, action, clock.now())
    if not decision.visible:
        raise hidden(access)
    if not decision.allowed:
        raise Forbidden(decision.explain())
    return decision


def involved_organisations(access: RecordAccess) -> list[str]:
    now = clock.now()
    found = [access.owner_organisation_id]
    for grant in access.grants:
        if grant.active(now) and grant.grantee_organisation_id and grant.grantee_organisation_id not in found:
            found.append(grant.grantee_organisation_id)
    return found


def owner_of(access: RecordAccess) -> dict:
    return {"organisation_id": access.owner_organisation_id, "team_id": access.owner_team_id}


def grant_view(row) -> dict:
    now = clock.now()
    status = "revoked" if row.revoked_at else ("expired" if row.expires_at and row.expires_at <= now else "active")
    return {"id": row.id, "grantee_type": row.grantee_type, "grantee_id": row.grantee_id,
            "grantee_organisation_id": row.grantee_organisation_id, "level": row.level,
            "lawful_basis": row.lawful_basis, "justification": row.justification, "source": row.source,
            "source_id": row.source_id,
            "expires_at": _iso(row.expires_at), "granted_by": row.granted_by, "granted_at": _iso(row.granted_at),
            "status": status}


def _iso(value):
    return value.isoformat() if value else None


def _record_ref(kind: RecordKind, row) -> dict:
    return {"type": kind.record_type, "id": row.id}


def owning_team(caller: Caller, requested: str | None, directory) -> tuple[str, str]:
    """(team id, organisation id) that will lead a new record: the creator's team, or one they name.

    An API client must name a team of its organisation; a person in several teams must say which."""
    def invalid(message):
        return ValidationFailed("One or more fields are invalid.", {"owner_team_id": [message]})
    if caller.kind == "user":
        teams = caller.team_ids()
        if requested:
            if requested not in teams:
                raise invalid("You can only give a new record to one of your own teams.")
            return requested, caller.organisation_id
        if len(teams) == 1:
            return next(iter(teams)), caller.organisation_id
        if not teams:
            raise Forbidden("You are not in a team, so you cannot create records.")
        raise invalid("You are in several teams: say which one leads this record.")
    if caller.kind == "client":
        if not requested:
            raise invalid("Name the team in your organisation that leads this record.")
        if directory.team_organisation(requested) != caller.organisation_id:
            raise invalid("That team is not in your organisation.")
        return requested, caller.organisation_id
    raise Forbidden("Only people and partner systems create records.")


# -- reading the access list (each read recorded, like a view) ---------------------------
def record_read(uow, access: RecordAccess, part: str, **details) -> None:
    """Record that the caller read `part` of the record (its history, its access list …): the event
    `<type>.<part>_viewed`, which the audit service keeps as action `viewed`."""
    uow.add_event(f"{access.record_type}.{part}_viewed", {
        "record": {"type": access.record_type, "id": access.record_id}, "owner": owner_of(access),
        "part": part, **details})


def access_list(uow, kind, record_id) -> dict:
    """Owner, restriction and grants: for the lead team and those with edit access."""
    row, access, grant_rows = load(uow.session, kind, record_id)
    decision = require(uow.caller, access, "view")
    if decision.level != "edit":
        raise Forbidden("Only the lead team and those with edit access may see who else has access.")
    record_read(uow, access, "access_list")
    return {"owner": owner_of(access), "restricted": access.restricted,
            "grants": [grant_view(g) for g in grant_rows if g.revoked_at is None]}


def why(uow, kind, record_id) -> dict:
    """Why the caller can (or cannot) see the record, in plain words — never revealing it exists
    (asked about a record they may not see, the answer is NOT_VISIBLE and the refusal is recorded)."""
    nothing = {"can_view": False, "can_edit": False, "can_share": False, "explanation": NOT_VISIBLE}
    try:
        row, access, _ = load(uow.session, kind, record_id)
    except NotFound:
        return nothing
    now = clock.now()
    view = decide(uow.caller, access, "view", now)
    if not view.visible:
        record_denial(uow, hidden(access).denied)
        return nothing
    edit, share = decide(uow.caller, access, "edit", now), decide(uow.caller, access, "share", now)
    record_read(uow, access, "why", level=view.level)
    return {"can_view": view.allowed, "can_edit": edit.allowed, "can_share": share.allowed,
            "level": view.level, "explanation": view.explain(), "restricted": access.restricted}


def check_access(session, caller, kind, record_id, action) -> dict:
    row, access, _ = load(session, kind, record_id)
    decision = require(caller, access, action)
    return {"allowed": True, "level": decision.level, "owner": owner_of(access)}


def visible_names(session, caller, kind, record_ids) -> dict:
    """The display names of those of `record_ids` the caller may open now (others are left out, as if absent):
    for a list of records the caller chose themselves (their recently opened). Records nothing: it opens
    no record and searches nothing."""
    wanted = []
    for value in list(record_ids or [])[:100]:
        try:
            wanted.append(record_uuid(value))
        except NotFound:
            continue
    if not wanted:
        return {"items": []}
    table = kind.table
    rows = session.execute(select(table).where(table.c.id.in_(wanted),
                                               visible_clause(caller, clock.now(), table, grants, kind.record_type))
                           ).all()
    return {"items": [{"id": str(row.id), "display_name": kind.display_name(row)} for row in rows]}


# -- changing it ---------------------------------------------------------------------
def add_grant(uow, kind, record_id, payload, directory) -> dict:
    caller = uow.caller
    row, access, _ = load(uow.session, kind, record_id, lock=True)
    require(caller, access, "share")
    data = load_or_fail(GrantSchema(), payload)
    grantee_id = str(data["grantee_id"])
    if data["grantee_type"] == "team":
        if grantee_id == access.owner_team_id:
            raise ValidationFailed("One or more fields are invalid.",
                                   {"grantee_id": ["That team already leads this record."]})
        grantee_org = directory.team_organisation(grantee_id)
    else:
        grantee_org = directory.organisation_exists(grantee_id) and grantee_id
    agreement = None
    needs = []
    if grantee_org != access.owner_organisation_id:
        agreement = directory.agreement_between(access.owner_organisation_id, grantee_org)
        if agreement is None:
            needs.append("No active sharing agreement covers that organisation: say why sharing is justified.")
    if kind.consent_refused(row):
        needs.append("Consent to share was refused: record the reason for overriding it.")
    if needs and not data["justification"]:
        raise ValidationFailed("One or more fields are invalid.", {"justification": needs})
    grant_id = str(uuid.uuid4())
    uow.session.execute(grants.insert().values(
        id=grant_id, record_type=kind.record_type, record_id=row.id, grantee_type=data["grantee_type"],
        grantee_id=grantee_id, grantee_organisation_id=grantee_org, level=data["level"],
        lawful_basis=data["lawful_basis"], justification=data["justification"], source="grant",
        expires_at=data["expires_at"], granted_by=caller.id, granted_at=clock.now()))
    created = grant_view(uow.session.execute(select(grants).where(grants.c.id == grant_id)).one())
    uow.add_event(f"{kind.record_type}.shared", {
        "record": _record_ref(kind, row), "owner": owner_of(access), "grant": created,
        "lawful_basis": data["lawful_basis"], "justification": data["justification"],
        "sharing_agreement_id": agreement["id"] if agreement else None})
    return created


def revoke_grant(uow, kind, record_id, grant_id) -> None:
    caller = uow.caller
    row, access, grant_rows = load(uow.session, kind, record_id, lock=True)
    require(caller, access, "share")
    target = next((g for g in grant_rows if str(g.id) == str(grant_id) and g.revoked_at is None), None)
    if target is None:
        raise NotFound()
    uow.session.execute(update(grants).where(grants.c.id == target.id)
                        .values(revoked_at=clock.now(), revoked_by=caller.id))
    uow.add_event(f"{kind.record_type}.unshared", {"record": _record_ref(kind, row), "owner": owner_of(access),
                                                   "grant": grant_view(target)})


def set_restricted(uow, kind, record_id, payload) -> dict:
    row, access, _ = load(uow.session, kind, record_id, lock=True)
    require(uow.caller, access, "share")
    restricted = load_or_fail(RestrictionSchema(), payload)["restricted"]
    if restricted != access.restricted:
        uow.session.execute(update(kind.table).where(kind.table.c.id == row.id).values(restricted=restricted))
        uow.add_event(f"{kind.record_type}.{'restricted' if restricted else 'unrestricted'}",
                      {"record": _record_ref(kind, row), "owner": owner_of(access),
                       "fields": {"restricted": {"before": access.restricted, "after": restricted}}})
    return {"owner": owner_of(access), "restricted": restricted}


def break_glass(uow, kind, record_id, payload, minutes: int) -> dict:
    """Emergency access for a limited time: anyone signed in, with a reason; loud in the audit."""
    caller = uow.caller
    if caller.kind != "user":
        raise Forbidden("Only a signed-in person can use emergency access.")
    reason = load_or_fail(ReasonSchema(), payload)["reason"].strip()
    row, access, _ = load(uow.session, kind, record_id)
    expires_at = clock.now() + timedelta(minutes=minutes)
    grant_id = str(uuid.uuid4())
    uow.session.execute(grants.insert().values(
        id=grant_id, record_type=kind.record_type, record_id=row.id, grantee_type="user", grantee_id=caller.id,
        grantee_organisation_id=caller.organisation_id, level="view",
        lawful_basis="Emergency (break-glass) access", justification=reason, source="break_glass",
        expires_at=expires_at, granted_by=caller.id, granted_at=clock.now()))
    uow.add_event(f"{kind.record_type}.break_glass", {
        "record": _record_ref(kind, row), "owner": owner_of(access), "reason": reason,
        "expires_at": expires_at.isoformat(), "display_name": kind.display_name(row)})
    return {"record": _record_ref(kind, row), "level": "view", "expires_at": expires_at.isoformat(),
            "grant_id": grant_id}


def request_access(uow, kind, record_id, payload, directory) -> dict:
    caller = uow.caller
    if caller.kind != "user":
        raise Forbidden("Only a signed-in person can ask for access.")
    reason = load_or_fail(ReasonSchema(), payload)["reason"].strip()
    row, access, _ = load(uow.session, kind, record_id)
    if decide(caller, access, "view", clock.now()).allowed:
        raise Conflict("You can already see this record.")
    return directory.register_access_request(_record_summary(kind, row, access), reason)


def request_transfer(uow, kind, record_id, payload, directory) -> dict:
    row, access, _ = load(uow.session, kind, record_id)
    require(uow.caller, access, "share")
    data = load_or_fail(TransferSchema(), payload)
    return directory.register_transfer(_record_summary(kind, row, access),
                                       {"to_team_id": str(data["to_team_id"]), "note": data["note"]})


def _record_summary(kind, row, access) -> dict:
    return {"type": kind.record_type, "id": row.id, "display_name": kind.display_name(row),
            "owner_team_id": access.owner_team_id, "owner_organisation_id": access.owner_organisation_id,
            "is_person": kind.is_person(row)}


# -- asked by the permissions service, as the system ------------------------------------
def _system_only(caller: Caller) -> None:
    if caller.kind != "system":
        raise Forbidden("Only Concord itself may do this.")


def apply_access_grant(uow, kind, record_id, payload) -> dict:
    _system_only(uow.caller)
    data = load_or_fail(SystemGrantSchema(), payload)
    row, access, grant_rows = load(uow.session, kind, record_id, lock=True)
    if data["source_id"]:   # a retried call (the first answer was lost) gets the same grant back
        earlier = next((g for g in grant_rows if g.source == data["source"] and g.source_id == data["source_id"]),
                       None)
        if earlier is not None:
            return grant_view(earlier)
    grant_id = str(uuid.uuid4())
    uow.session.execute(grants.insert().values(id=grant_id, record_type=kind.record_type, record_id=row.id,
                                               granted_at=clock.now(), **data))
    created = grant_view(uow.session.execute(select(grants).where(grants.c.id == grant_id)).one())
    uow.add_event(f"{kind.record_type}.shared", {"record": _record_ref(kind, row), "owner": owner_of(access),
                                                 "grant": created, "lawful_basis": data["lawful_basis"],
                                                 "justification": data["justification"]})
    return created


def apply_transfer(uow, kind, record_id, payload, apply_consent=None) -> dict:
    _system_only(uow.caller)
    data = load_or_fail(SystemTransferSchema(), payload)
    row, access, _ = load(uow.session, kind, record_id, lock=True)
    if access.owner_team_id == data["to_team_id"]:       # a retried call: already done
        return {"owner": owner_of(access)}
    if kind.is_person(row) and not data["consent"]:
        raise ValidationFailed("One or more fields are invalid.",
                               {"consent": ["Consent must be confirmed again when a person's record moves."]})
    values = {"owner_team_id": data["to_team_id"], "owner_organisation_id": data["to_organisation_id"]}
    if data["consent"] and apply_consent:
        values.update(apply_consent(data["consent"]))
    if "version" in kind.table.c:
        values["version"] = row.version + 1
    uow.session.execute(update(kind.table).where(kind.table.c.id == row.id).values(**values))
    uow.add_event(f"{kind.record_type}.owner_changed", {
        "record": _record_ref(kind, row), "owner": {"organisation_id": data["to_organisation_id"],
                                                    "team_id": data["to_team_id"]},
        "transfer_id": data["transfer_id"], "accepted_by": data["accepted_by"],
        "fields": {"owner_team_id": {"before": access.owner_team_id, "after": data["to_team_id"]},
                   "owner_organisation_id": {"before": access.owner_organisation_id,
                                             "after": data["to_organisation_id"]}}})
    return {"owner": {"organisation_id": data["to_organisation_id"], "team_id": data["to_team_id"]}}


# -- asked by the notifications service, as the system: may an organisation view these now? --------------------
def organisation_viewer(organisation_id: str) -> Caller:
    """An organisation as a viewer: what it leads and what is shared with it as an organisation — what an API
    client of it sees (its token's scopes aside). Team and personal grants are not the organisation's."""
    return Caller(kind="client", id=f"organisation:{organisation_id}", organisation_id=organisation_id)


def visible_to_organisation(session, caller, kinds: dict, organisation_id, refs) -> dict:
    """{"visible": [{"type", "id"}]}: those of `refs` ([{"type", "id"}], at most 500) the organisation may view
    now, decided in SQL by the same rules as every list (policy.visible_clause). Records of types this service
    does not own, and ids that are no record, are left out. For Concord itself only (webhook deliveries)."""
    _system_only(caller)
    if not organisation_id or not isinstance(organisation_id, str):
        return {"visible": []}
    wanted: dict[str, list[str]] = {}
    for ref in list(refs or [])[:500]:
        kind = kinds.get((ref or {}).get("type"))
        if kind is None:
            continue
        try:
            wanted.setdefault(kind.record_type, []).append(record_uuid(ref.get("id")))
        except NotFound:
            continue
    viewer, now, visible = organisation_viewer(organisation_id), clock.now(), []
    for record_type, ids in wanted.items():
        table = kinds[record_type].table
        found = session.execute(select(table.c.id).where(
            table.c.id.in_(ids), visible_clause(viewer, now, table, grants, record_type))).scalars().all()
        visible += [{"type": record_type, "id": str(record_id)} for record_id in found]
    return {"visible": visible}
