"""Access requests: someone asks the team that owns a record to let them see it. Plain functions, no nameko.

The owning service registers a request (it has checked the record exists and
describes it: type, id, display name, owner); the owner team decides. An
approval asks the owning service, as the system, to add a user-level grant,
and is recorded only once that grant exists, in the same transaction as the
decision's event: if the owning service refuses, nothing is recorded.

Who may do what with a request:
  see it            the requester, members of the owner team (else 404)
  approve / deny    members of the owner team, any role (not the requester: 403);
                    others in the owner's organisation get 403, everyone else 404
  withdraw          the requester (the owner team: 403; others in its organisation: 403; else 404)
"""
import uuid

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from concord_common import clock
from concord_common.errors import Conflict, Forbidden, NotFound, load_or_fail
from services.permissions import paging, views
from services.permissions.access import Actor, actor_for
from services.permissions.models import AccessRequest, Team, User
from services.permissions.records import (RecordOwners, owner_refused_gone, item_or_404, record_ref,
                                          require_pending, close_pending)
from services.permissions.schema_parts import utc
from services.permissions.schemas import (AccessApprovalSchema, AccessRequestListSchema, ReasonSchema,
                                          RecordRefSchema, load_parts)

PEOPLE_ONLY = "Only a signed-in person may ask for access to a record."
ALREADY_OWNER = "You are in the team that owns this record."
NOT_YOURS_TO_DECIDE = "Only a member of the team that owns the record may decide this request."
NOT_PENDING = "This request has already been {status}."
GRANT_BASIS = "Access request approved"


# -- rights ------------------------------------------------------------------------
def _is_requester(actor: Actor, row: AccessRequest) -> bool:
    return actor.kind == "user" and actor.id == row.requester_id


def _in_owner_team(actor: Actor, row: AccessRequest) -> bool:
    return actor.kind == "user" and row.owner_team_id in actor.teams


def _may_see(actor: Actor, row: AccessRequest) -> bool:
    return actor.kind == "system" or _is_requester(actor, row) or _in_owner_team(actor, row)


def _require_decider(actor: Actor, row: AccessRequest) -> None:
    if _in_owner_team(actor, row) and not _is_requester(actor, row):
        return
    if actor.kind == "system" or _is_requester(actor, row) or actor.organisation_id == row.owner_organisation_id:
        raise Forbidden(NOT_YOURS_TO_DECIDE)
    raise NotFound()


def _event_data(row: AccessRequest, **extra) -> dict:
    return {"record": record_ref(row.record_type, row.record_id), "access_request_id": row.id,
            "owner": {"team_id": row.owner_team_id, "organisation_id": row.owner_organisation_id},
            "requester_id": row.requester_id, **extra}


# -- asking --------------------------------------------------------------------------
def register_access_request(uow, record, reason) -> dict:
    """Called by the owning service with the requester as caller. A second request for the same
    record while one is pending answers that one (`"created": false`) and changes nothing."""
    session = uow.session
    actor = actor_for(session, uow.caller)
    if actor.kind != "user":
        raise Forbidden(PEOPLE_ONLY)

    def owner_exists(data):
        described = data.get("record") or {}
        team_id, organisation_id = described.get("owner_team_id"), described.get("owner_organisation_id")
        if team_id is None or organisation_id is None:
            return {}
        team = session.get(Team, str(team_id))
        if team is None or team.organisation_id != str(organisation_id):
            return {"record.owner_team_id": ["There is no such team in the owner's organisation."]}
        return {}

    data = load_parts({"record": (RecordRefSchema(), record), "": (ReasonSchema(), {"reason": reason})},
                      owner_exists)
    described, reason = data["record"], data[""]["reason"]
    if str(described["owner_team_id"]) in actor.teams:
        raise Conflict(ALREADY_OWNER)

    row_id = str(uuid.uuid4())
    inserted = session.execute(
        pg_insert(AccessRequest).values(
            id=row_id, record_type=described["type"], record_id=str(described["id"]),
            record_display_name=described["display_name"], owner_team_id=str(described["owner_team_id"]),
            owner_organisation_id=str(described["owner_organisation_id"]), requester_id=actor.id,
            requester_organisation_id=actor.organisation_id, reason=reason, status="pending",
            created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["requester_id", "record_type", "record_id"],
                                index_where=AccessRequest.status == "pending")
        .returning(AccessRequest.id)).scalar()
    if inserted is None:      # one is pending already (perhaps from a moment ago, on another replica)
        row = session.scalar(select(AccessRequest).where(
            AccessRequest.requester_id == actor.id, AccessRequest.record_type == described["type"],
            AccessRequest.record_id == str(described["id"]), AccessRequest.status == "pending"))
        if row is None:   # decided in the instant between the two statements
            raise Conflict("Your earlier request for this record was just decided; look at it before asking again.")
        return {**views.access_request(session, row, actor.id), "created": False}
    row = session.get(AccessRequest, row_id)
    uow.add_event("access_request.requested", _event_data(
        row, requester_organisation_id=row.requester_organisation_id, reason=row.reason))
    return {**views.access_request(session, row, actor.id), "created": True}


# -- deciding ----------------------------------------------------------------------------
def approve_access_request(uow, owners: RecordOwners, request_id, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, AccessRequest, request_id, lock=True)     # held until the decision commits
    _require_decider(actor, row)
    require_pending(row, NOT_PENDING)
    data = load_or_fail(AccessApprovalSchema(), payload)
    requester = session.get(User, row.requester_id)
    if requester is None or requester.disabled:
        raise Conflict("The person who asked no longer has an account; deny the request instead.")

    grant = owner_refused_gone(lambda: owners.apply_access_grant(row.record_type, row.record_id, {
        "grantee_type": "user",
        "grantee_id": row.requester_id,
        "grantee_organisation_id": row.requester_organisation_id,
        "level": data["level"],
        "expires_at": utc(data["expires_at"]),
        "lawful_basis": GRANT_BASIS,
        "justification": row.reason,
        "source": "access_request",
        "source_id": row.id,
        "granted_by": actor.id,
    }))

    row.status, row.decided_by, row.decided_at = "approved", actor.id, clock.now()
    row.decision_level, row.decision_expires_at, row.decision_note = data["level"], data["expires_at"], data["note"]
    row.grant_id = str(grant.get("id")) if isinstance(grant, dict) and grant.get("id") else None
    session.flush()
    uow.add_event("access_request.approved", _event_data(
        row, level=row.decision_level, expires_at=utc(row.decision_expires_at), decided_by=actor.id,
        grant_id=row.grant_id, reason=row.reason, note=row.decision_note))
    return views.access_request(session, row, actor.id)


def deny_access_request(uow, request_id, payload=None) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, AccessRequest, request_id, lock=True)
    _require_decider(actor, row)
    close_pending(session, row, "denied", actor.id, payload, NOT_PENDING)
    uow.add_event("access_request.denied", _event_data(
        row, level=None, expires_at=None, decided_by=actor.id, reason=row.reason, note=row.decision_note))
    return views.access_request(session, row, actor.id)


def withdraw_access_request(uow, request_id, payload=None) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    row = item_or_404(session, AccessRequest, request_id, lock=True)
    if not _is_requester(actor, row):
        if actor.kind == "system" or _in_owner_team(actor, row) or actor.organisation_id == row.owner_organisation_id:
            raise Forbidden("Only the person who asked may withdraw a request.")
        raise NotFound()
    close_pending(session, row, "withdrawn", actor.id, payload, NOT_PENDING)
    uow.add_event("access_request.withdrawn", _event_data(row, decided_by=actor.id, note=row.decision_note))
    return views.access_request(session, row, actor.id)


def follow_transfer(session, record_type: str, record_id: str, to_team_id: str, to_organisation_id: str) -> int:
    """Pending requests for a record that changed hands go to its new owner team; returns how many."""
    rows = session.scalars(select(AccessRequest).where(
        AccessRequest.record_type == record_type, AccessRequest.record_id == record_id,
        AccessRequest.status == "pending").with_for_update()).all()
    for row in rows:
        row.owner_team_id, row.owner_organisation_id = to_team_id, to_organisation_id
    return len(rows)


# -- reading ---------------------------------------------------------------------------
def list_access_requests(session, caller, status=None, direction=None, limit=None, cursor=None) -> dict:
    """Requests for records the caller's teams own ("incoming") and the caller's own ("outgoing")."""
    actor = actor_for(session, caller)
    query_args = load_or_fail(AccessRequestListSchema(), {"status": status, "direction": direction,
                                                          "limit": limit, "cursor": cursor})
    mine = AccessRequest.requester_id == actor.id if actor.kind == "user" else None
    theirs = AccessRequest.owner_team_id.in_(list(actor.teams)) if actor.teams else None
    if query_args["direction"] == "outgoing":
        theirs = None
    elif query_args["direction"] == "incoming":
        mine, theirs = None, (theirs & (AccessRequest.requester_id != actor.id) if theirs is not None else None)
    conditions = [c for c in (mine, theirs) if c is not None]
    if not conditions:
        return {"items": [], "next_cursor": None}
    query = select(AccessRequest).where(or_(*conditions))
    if query_args["status"]:
        query = query.where(AccessRequest.status == query_args["status"])
    rows, next_cursor = paging.page(session, query, AccessRequest, query_args["limit"] or 50, query_args["cursor"])
    return {"items": views.access_requests(session, rows, actor.id), "next_cursor": next_cursor}


def get_access_request(session, caller, request_id) -> dict:
    actor = actor_for(session, caller)
    row = item_or_404(session, AccessRequest, request_id)
    if not _may_see(actor, row):
        raise NotFound()
    return views.access_request(session, row, actor.id)
