"""Transfers of ownership: a record's owner team hands it to another team. Plain functions, no nameko.

The owning service registers a transfer once it has checked the caller may
share the record; it stays pending until the receiving team accepts or
rejects it (or the sending team cancels it, or a newer transfer of the same
record supersedes it). Accepting asks the owning service, as the system, to
move the record, and is recorded only once it has: if the owning service
refuses, the transfer stays pending. A person's consent is confirmed again on
acceptance. Pending access requests for the record follow it to its new team.

Who may do what with a transfer:
  see it            members of the sending or the receiving team (else 404)
  accept / reject   members of the receiving team, any role; others of the receiving
                    organisation and members of the sending team get 403, everyone else 404
  cancel            members of the sending team, or whoever asked for it; members of the
                    receiving team and others of the sending organisation get 403, else 404
"""
import uuid

from sqlalchemy import or_, select, text, update

from concord_common import clock
from concord_common.errors import Forbidden, NotFound, ValidationFailed, load_or_fail
from services.permissions import access_requests, paging, views
from services.permissions.access import Actor, actor_for
from services.permissions.models import Team, Transfer
from services.permissions.records import (RecordOwners, owner_refused_gone, item_or_404, record_ref,
                                          require_pending, close_pending)
from services.permissions.schemas import (TransferAcceptSchema, TransferListSchema, TransferRecordSchema,
                                          TransferRegisterSchema, load_parts)

PEOPLE_ONLY = "Only a signed-in person may transfer a record."
RECEIVERS_ONLY = "Only a member of the receiving team may accept or reject this transfer."
SENDERS_ONLY = "Only the sending team may cancel this transfer."
NOT_PENDING = "This transfer has already been {status}."
CONSENT_NEEDED = ["Confirm the person's consent to the transfer: given, refused, not_sought or overridden."]


# -- rights ----------------------------------------------------------------------------
def _is_sender(actor: Actor, row: Transfer) -> bool:
    return actor.kind == "user" and (row.from_team_id in actor.teams or actor.id == row.requested_by)


def _is_receiver(actor: Actor, row: Transfer) -> bool:
    return actor.kind == "user" and row.to_team_id in actor.teams


def _require_receiver(actor: Actor, row: Transfer) -> None:
    if _is_receiver(actor, row):
        return
    if actor.kind == "system" or _is_sender(actor, row) or actor.organisation_id == row.to_organisation_id:
        raise Forbidden(RECEIVERS_ONLY)
    raise NotFound()


def _require_sender(actor: Actor, row: Transfer) -> None:
    if _is_sender(actor, row):
        return
    if actor.kind == "system" or _is_receiver(actor, row) or actor.organisation_id == row.from_organisation_id:
        raise Forbidden(SENDERS_ONLY)
    raise NotFound()


def _event_data(row: Transfer, **extra) -> dict:
    return {"record": record_ref(row.record_type, row.record_id), "transfer_id": row.id,
            "from_team_id": row.from_team_id, "from_organisation_id": row.from_organisation_id,
            "to_team_id": row.to_team_id, "to_organisation_id": row.to_organisation_id, **extra}


def _lock_record(session, record_type: str, record_id: str) -> None:
    """Serialise transfers of one record (across replicas) until this transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"transfer:{record_type}:{record_id}"})


# -- asking ------------------------------------------------------------------------------
def register_transfer(uow, record, payload) -> dict:
    """Called by the owning service, with the person handing the record over as caller,
    once it has checked they may share it. A pending transfer of the same record is superseded."""
    session = uow.session
    actor = actor_for(session, uow.caller)
    if actor.kind != "user":
        raise Forbidden(PEOPLE_ONLY)
    teams: dict[str, Team] = {}

    def teams_exist(data):
        errors = {}
        described, asked = data.get("record") or {}, data.get("") or {}
        if described.get("owner_team_id") is not None and described.get("owner_organisation_id") is not None:
            owner = session.get(Team, str(described["owner_team_id"]))
            if owner is None or owner.organisation_id != str(described["owner_organisation_id"]):
                errors["record.owner_team_id"] = ["There is no such team in the owner's organisation."]
        if asked.get("to_team_id") is not None:
            teams["to"] = session.get(Team, str(asked["to_team_id"]))
            if teams["to"] is None:
                errors["to_team_id"] = ["There is no such team."]
            elif described.get("owner_team_id") is not None and teams["to"].id == str(described["owner_team_id"]):
                errors["to_team_id"] = ["This team already owns the record."]
        return errors

    data = load_parts({"record": (TransferRecordSchema(), record), "": (TransferRegisterSchema(), payload)},
                      teams_exist)
    described, asked, to_team = data["record"], data[""], teams["to"]
    record_type, record_id = described["type"], str(described["id"])
    _lock_record(session, record_type, record_id)

    now, row_id = clock.now(), str(uuid.uuid4())
    superseded = session.scalars(
        update(Transfer).where(Transfer.record_type == record_type, Transfer.record_id == record_id,
                               Transfer.status == "pending")
        .values(status="superseded", decided_by=actor.id, decided_at=now,
                decision_note="A newer transfer of this record replaced it.")
        .returning(Transfer)).all()
    row = Transfer(id=row_id, record_type=record_type, record_id=record_id,
                   record_display_name=described["display_name"], is_person=described["is_person"],
                   from_team_id=str(described["owner_team_id"]),
                   from_organisation_id=str(described["owner_organisation_id"]),
                   to_team_id=to_team.id, to_organisation_id=to_team.organisation_id, status="pending",
                   requested_by=actor.id, note=asked["note"], created_at=now)
    session.add(row)
    session.flush()
    for old in superseded:
        uow.add_event("record.transfer_superseded", _event_data(old, superseded_by=row.id))
    uow.add_event("record.transfer_requested", _event_data(row, requested_by=actor.id, note=row.note))
    return views.transfer(session, row, actor.teams)


# -- deciding ----------------------------------------------------------------------------------
def accept_transfer(uow, owners: RecordOwners, transfer_id, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, Transfer, transfer_id, lock=True)     # held until the decision commits
    _require_receiver(actor, row)
    require_pending(row, NOT_PENDING)
    data = load_or_fail(TransferAcceptSchema(), {} if payload is None else payload)
    if row.is_person and data["consent"] is None:
        raise ValidationFailed("One or more fields are invalid.", {"consent": CONSENT_NEEDED})
    consent = dict(data["consent"]) if data["consent"] is not None else None

    owner_refused_gone(lambda: owners.apply_transfer(row.record_type, row.record_id, {
        "to_team_id": row.to_team_id,
        "to_organisation_id": row.to_organisation_id,
        "consent": consent,
        "transfer_id": row.id,
        "accepted_by": actor.id,
    }))

    row.status, row.decided_by, row.decided_at = "accepted", actor.id, clock.now()
    row.decision_note, row.consent = data["note"], consent
    moved = access_requests.follow_transfer(session, row.record_type, row.record_id, row.to_team_id,
                                            row.to_organisation_id)
    session.flush()
    uow.add_event("record.transferred", _event_data(row, accepted_by=actor.id, consent=consent,
                                                    note=row.decision_note, access_requests_moved=moved))
    return views.transfer(session, row, actor.teams)


def reject_transfer(uow, transfer_id, payload=None) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, Transfer, transfer_id, lock=True)
    _require_receiver(actor, row)
    close_pending(session, row, "rejected", actor.id, payload, NOT_PENDING)
    uow.add_event("record.transfer_rejected", _event_data(row, rejected_by=actor.id, note=row.decision_note))
    return views.transfer(session, row, actor.teams)


def cancel_transfer(uow, transfer_id, payload=None) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, Transfer, transfer_id, lock=True)
    _require_sender(actor, row)
    close_pending(session, row, "cancelled", actor.id, payload, NOT_PENDING)
    uow.add_event("record.transfer_cancelled", _event_data(row, cancelled_by=actor.id, note=row.decision_note))
    return views.transfer(session, row, actor.teams)


# -- reading -------------------------------------------------------------------------------------
def list_transfers(session, caller, status=None, direction=None, limit=None, cursor=None) -> dict:
    """Transfers to the caller's teams ("incoming") and from them, or asked for by the caller ("outgoing")."""
    actor = actor_for(session, caller)
    query_args = load_or_fail(TransferListSchema(), {"status": status, "direction": direction,
                                                     "limit": limit, "cursor": cursor})
    team_ids = list(actor.teams)
    incoming = Transfer.to_team_id.in_(team_ids) if team_ids else None
    outgoing = [Transfer.from_team_id.in_(team_ids)] if team_ids else []
    if actor.kind == "user":
        outgoing.append(Transfer.requested_by == actor.id)
    outgoing = or_(*outgoing) if outgoing else None
    if query_args["direction"] == "incoming":
        outgoing = None
    elif query_args["direction"] == "outgoing":
        incoming = None
        outgoing = outgoing if outgoing is None or not team_ids else outgoing & ~Transfer.to_team_id.in_(team_ids)
    conditions = [c for c in (incoming, outgoing) if c is not None]
    if not conditions:
        return {"items": [], "next_cursor": None}
    query = select(Transfer).where(or_(*conditions))
    if query_args["status"]:
        query = query.where(Transfer.status == query_args["status"])
    rows, next_cursor = paging.page(session, query, Transfer, query_args["limit"] or 50, query_args["cursor"])
    return {"items": views.transfers(session, rows, actor.teams), "next_cursor": next_cursor}


def get_transfer(session, caller, transfer_id) -> dict:
    actor = actor_for(session, caller)
    row = item_or_404(session, Transfer, transfer_id)
    if not (actor.kind == "system" or _is_sender(actor, row) or _is_receiver(actor, row)):
        raise NotFound()
    return views.transfer(session, row, actor.teams)

