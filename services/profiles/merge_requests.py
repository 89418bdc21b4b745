"""Merge requests: a merge whose duplicate another team leads waits for that team. Plain functions, no nameko.

Modelled on transfers (services/permissions/transfers.py), but kept in this service: it owns both profiles,
so asking, accepting (the merge itself) and the events are one transaction here, with no call as the system.
`duplicates.merge` asks when the caller's team leads the survivor and another team leads the duplicate; the
request stays pending until the duplicate's lead team accepts (the merge is done then, by them) or rejects
it, or the asking team cancels it. One pending request per pair.

Who may do what with a merge request:
  see it            members of the asking team (or whoever asked) and of the receiving team (else 404)
  accept / reject   members of the receiving team; the asking side gets 403, everyone else 404
  cancel            members of the asking team, or whoever asked; the receiving team gets 403, else 404
Accepting re-checks everything: both teams must still lead their profiles (else 409), and the pair must
still be mergeable (409 / 422 as for a direct merge).
"""
import uuid

from sqlalchemy import or_, select

from concord_common import clock
from concord_common.access import records
from concord_common.errors import Conflict, Forbidden, NotFound, load_or_fail
from services.profiles import duplicates
from services.profiles.answers import display_name
from services.profiles.models import MergeRequest, Profile
from services.profiles.profile_views import as_json
from services.profiles.schemas import MergeDecisionSchema, MergeRequestListSchema

RECEIVERS_ONLY = "Only the team that leads the duplicate may accept or reject this merge request."
ASKERS_ONLY = "Only the team that asked may cancel this merge request."
ALREADY_ASKED = "A request to merge these profiles is already waiting for the team that leads the duplicate."
MOVED_ON = "The lead team of one of the profiles has changed since this was asked: ask again."
_decision_schema = MergeDecisionSchema()
_list_schema = MergeRequestListSchema()


def _is_asker(caller, row) -> bool:
    return caller.kind == "user" and (row.from_team_id in caller.team_ids() or caller.id == row.requested_by)


def _is_receiver(caller, row) -> bool:
    return caller.kind == "user" and row.to_team_id in caller.team_ids()


def _pending_for(uow, request_id, may, refusal) -> MergeRequest:
    """The request locked, if the caller may act on it (else 403 to the other side, 404 to anyone else)."""
    row = uow.session.get(MergeRequest, records.record_uuid(request_id), with_for_update=True)
    if row is None or not (_is_asker(uow.caller, row) or _is_receiver(uow.caller, row)):
        raise NotFound()
    if not may(uow.caller, row):
        raise Forbidden(refusal)
    if row.status != "pending":
        raise Conflict(f"This merge request has already been {row.status}.")
    return row


def view(session, row) -> dict:
    names = {p.id: display_name(p) for p in session.execute(
        select(Profile).where(Profile.id.in_([row.survivor_id, row.duplicate_id]))).scalars()}
    return {"id": row.id, "status": row.status,
            "survivor": {"id": row.survivor_id, "display_name": names.get(row.survivor_id)},
            "duplicate": {"id": row.duplicate_id, "display_name": names.get(row.duplicate_id)},
            "from_team_id": row.from_team_id, "from_organisation_id": row.from_organisation_id,
            "to_team_id": row.to_team_id, "to_organisation_id": row.to_organisation_id,
            "requested_by": row.requested_by, "requested_at": as_json(row.requested_at), "note": row.note,
            "decided_by": row.decided_by, "decided_at": as_json(row.decided_at), "decision_note": row.decision_note,
            "merge_id": row.merge_id}


def _event(uow, event_type, row, **extra) -> None:
    """On the duplicate (its lead team decides) and naming the survivor."""
    uow.add_event(event_type, {"record": {"type": "profile", "id": row.duplicate_id},
                               "owner": {"organisation_id": row.to_organisation_id, "team_id": row.to_team_id},
                               "merge_request": {"id": row.id, "survivor_id": row.survivor_id,
                                                 "duplicate_id": row.duplicate_id, "from_team_id": row.from_team_id,
                                                 "from_organisation_id": row.from_organisation_id},
                               **extra})


def ask(uow, survivor, survivor_access, duplicate, duplicate_access, note) -> dict:
    """Called by duplicates.merge (rights and mergeability checked, both rows locked)."""
    session = uow.session
    pending = session.execute(select(MergeRequest).where(
        MergeRequest.survivor_id == survivor.id, MergeRequest.duplicate_id == duplicate.id,
        MergeRequest.status == "pending")).scalar()
    if pending is not None:
        raise Conflict(ALREADY_ASKED)
    row = MergeRequest(id=str(uuid.uuid4()), survivor_id=survivor.id, duplicate_id=duplicate.id,
                       from_team_id=survivor_access.owner_team_id,
                       from_organisation_id=survivor_access.owner_organisation_id,
                       to_team_id=duplicate_access.owner_team_id,
                       to_organisation_id=duplicate_access.owner_organisation_id, status="pending",
                       requested_by=uow.caller.id, requested_at=clock.now(), note=note)
    session.add(row)
    session.flush()
    _event(uow, "profile.merge_requested", row, note=note)
    return view(session, row)


def accept(uow, request_id, payload=None) -> dict:
    """The receiving team says yes: the merge is done now, by them. Returns the survivor with the merge."""
    decision = load_or_fail(_decision_schema, payload or {})
    row = _pending_for(uow, request_id, _is_receiver, RECEIVERS_ONLY)
    survivor, survivor_access, duplicate, duplicate_access = duplicates.lock_pair(uow, row.survivor_id,
                                                                                  row.duplicate_id)
    if (survivor_access.owner_team_id, duplicate_access.owner_team_id) != (row.from_team_id, row.to_team_id) \
            or not duplicates.leads(uow.caller, duplicate_access):
        raise Conflict(MOVED_ON)
    duplicates.check_mergeable(uow.session, survivor, duplicate)
    merged = duplicates.fold(uow, survivor, survivor_access, duplicate, duplicate_access)
    row.status, row.decided_by, row.decided_at = "accepted", uow.caller.id, clock.now()
    row.decision_note, row.merge_id = decision["note"], merged["merge"]["id"]
    uow.session.flush()
    _event(uow, "profile.merge_request_accepted", row, merge_id=row.merge_id, note=row.decision_note)
    return {**merged, "merge_request": view(uow.session, row)}


def reject(uow, request_id, payload=None) -> dict:
    decision = load_or_fail(_decision_schema, payload or {})
    row = _pending_for(uow, request_id, _is_receiver, RECEIVERS_ONLY)
    return _close(uow, row, "rejected", decision["note"])


def cancel(uow, request_id, payload=None) -> dict:
    decision = load_or_fail(_decision_schema, payload or {})
    row = _pending_for(uow, request_id, _is_asker, ASKERS_ONLY)
    return _close(uow, row, "cancelled", decision["note"])


def _close(uow, row, status, note) -> dict:
    row.status, row.decided_by, row.decided_at, row.decision_note = status, uow.caller.id, clock.now(), note
    uow.session.flush()
    _event(uow, f"profile.merge_request_{status}", row, note=note)
    return view(uow.session, row)


def list_merge_requests(session, caller, params=None) -> dict:
    """Requests to the caller's teams ("incoming") and from them or by the caller ("outgoing"), newest first."""
    criteria = load_or_fail(_list_schema, params or {})
    if caller.kind != "user":
        return {"items": [], "next_cursor": None}
    teams = sorted(caller.team_ids())
    incoming = MergeRequest.to_team_id.in_(teams)
    outgoing = or_(MergeRequest.from_team_id.in_(teams), MergeRequest.requested_by == caller.id)
    query = select(MergeRequest).where({"incoming": incoming, "outgoing": outgoing}.get(criteria["direction"],
                                                                                       or_(incoming, outgoing)))
    if criteria["status"]:
        query = query.where(MergeRequest.status == criteria["status"])
    limit, offset = criteria["limit"], criteria["cursor"]
    rows = session.execute(query.order_by(MergeRequest.requested_at.desc(), MergeRequest.id)
                           .limit(limit + 1).offset(offset)).scalars().all()
    return {"items": [view(session, row) for row in rows[:limit]],
            "next_cursor": str(offset + limit) if len(rows) > limit else None}


def get_merge_request(session, caller, request_id) -> dict:
    row = session.get(MergeRequest, records.record_uuid(request_id))
    if row is None or not (_is_asker(caller, row) or _is_receiver(caller, row)):
        raise NotFound()
    return view(session, row)

