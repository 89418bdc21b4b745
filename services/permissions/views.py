"""Rows to the plain dicts the RPC methods answer with (ids as strings, times ISO 8601 UTC)."""
from sqlalchemy import select

from services.permissions.answers import ApiClientSchema, OrganisationSchema, TeamSchema, UserSchema
from services.permissions.models import (AccessRequest, Membership, Organisation, SharingAgreement,
                                         SharingAgreementParty, Team, Transfer, User)
from services.permissions.schema_parts import utc
from services.permissions.schemas import today

_organisation_schema = OrganisationSchema()
_team_schema = TeamSchema()
_user_schema = UserSchema()
_api_client_schema = ApiClientSchema()


def record(kind: str, record_id) -> dict:
    """What every audit event names in `data.record`."""
    return {"type": kind, "id": record_id}


def organisation(row: Organisation) -> dict:
    return _organisation_schema.dump(row)


def team(row: Team) -> dict:
    return _team_schema.dump(row)


def api_client(row) -> dict:
    return _api_client_schema.dump(row)


def teams_of(session, user_id: str) -> list[dict]:
    rows = session.execute(
        select(Team.id, Team.name, Membership.role).join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id).order_by(Team.name)).all()
    return [{"id": row.id, "name": row.name, "role": row.role} for row in rows]


def user(session, row: User) -> dict:
    return {**_user_schema.dump(row), "teams": teams_of(session, row.id)}


def me(session, row: User) -> dict:
    """The signed-in user as they see themselves (GET /me, the sign-in answer)."""
    require_mfa = session.scalar(select(Organisation.require_mfa).where(Organisation.id == row.organisation_id))
    return {
        "kind": "user",
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "organisation_id": row.organisation_id,
        "teams": teams_of(session, row.id),
        "roles": list(row.roles),
        "mfa_enabled": row.mfa_enabled,
        "mfa_enrolment_required": bool(require_mfa and not row.mfa_enabled),
    }


def members_of(session, team_id: str) -> list[dict]:
    rows = session.execute(
        select(User.id, User.username, User.display_name, Membership.role)
        .join(Membership, Membership.user_id == User.id).where(Membership.team_id == team_id)
        .order_by(User.display_name, User.username)).all()
    return [{"user_id": row.id, "username": row.username, "display_name": row.display_name, "role": row.role}
            for row in rows]


# -- sharing -----------------------------------------------------------------------
class Names:
    """Display names of the people, teams and organisations some rows mention, in three queries."""

    def __init__(self, session, user_ids=(), team_ids=(), organisation_ids=()):
        user_ids, team_ids = {i for i in user_ids if i}, {i for i in team_ids if i}
        self.users = {row.id: row for row in session.execute(
            select(User.id, User.display_name, User.organisation_id).where(User.id.in_(user_ids)))} if user_ids else {}
        self.teams = {row.id: row for row in session.execute(
            select(Team.id, Team.name, Team.organisation_id).where(Team.id.in_(team_ids)))} if team_ids else {}
        organisation_ids = ({i for i in organisation_ids if i} | {row.organisation_id for row in self.users.values()}
                            | {row.organisation_id for row in self.teams.values()})
        self.organisations = dict(session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(organisation_ids))).all()
        ) if organisation_ids else {}

    def organisation(self, organisation_id) -> dict:
        return {"id": organisation_id, "name": self.organisations.get(organisation_id)}

    def person(self, user_id) -> dict | None:
        if user_id is None:
            return None
        row = self.users.get(user_id)
        organisation_id = row.organisation_id if row else None
        return {"id": user_id, "display_name": row.display_name if row else None,
                "organisation_id": organisation_id, "organisation_name": self.organisations.get(organisation_id)}

    def team(self, team_id) -> dict:
        row = self.teams.get(team_id)
        organisation_id = row.organisation_id if row else None
        return {"id": team_id, "name": row.name if row else None, "organisation_id": organisation_id,
                "organisation_name": self.organisations.get(organisation_id)}


def agreement_status(row: SharingAgreement, on=None) -> str:
    """active | not_started | ended."""
    on = on or today()
    if row.ended_at is not None or (row.end_date is not None and row.end_date < on):
        return "ended"
    if row.start_date > on:
        return "not_started"
    return "active"


def sharing_agreements(session, rows) -> list[dict]:
    ids = [row.id for row in rows]
    parties: dict[str, list[str]] = {}
    if ids:
        for agreement_id, organisation_id in session.execute(
                select(SharingAgreementParty.agreement_id, SharingAgreementParty.organisation_id)
                .where(SharingAgreementParty.agreement_id.in_(ids))):
            parties.setdefault(agreement_id, []).append(organisation_id)
    names = Names(session, organisation_ids={o for found in parties.values() for o in found})
    on = today()
    return [{
        "id": row.id,
        "name": row.name,
        "purpose": row.purpose,
        "lawful_basis": row.lawful_basis,
        "parties": sorted((names.organisation(o) for o in parties.get(row.id, [])),
                          key=lambda party: (party["name"] or "", party["id"])),
        "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat() if row.end_date else None,
        "review_date": row.review_date.isoformat(),
        "status": agreement_status(row, on),
        "active": agreement_status(row, on) == "active",
        "review_overdue": row.review_date < on,
        "created_by": row.created_by,
        "created_at": utc(row.created_at),
        "ended_by": row.ended_by,
        "ended_at": utc(row.ended_at),
    } for row in rows]


def sharing_agreement(session, row: SharingAgreement) -> dict:
    return sharing_agreements(session, [row])[0]


def access_requests(session, rows, viewer_id=None) -> list[dict]:
    names = Names(session, user_ids={i for row in rows for i in (row.requester_id, row.decided_by)},
                  team_ids={row.owner_team_id for row in rows})
    return [{
        "id": row.id,
        "status": row.status,
        "direction": "outgoing" if viewer_id == row.requester_id else "incoming",
        "record": {"type": row.record_type, "id": row.record_id, "display_name": row.record_display_name},
        "owner": {"team_id": row.owner_team_id, "organisation_id": row.owner_organisation_id,
                  "team": names.team(row.owner_team_id)},
        "requester": names.person(row.requester_id),
        "reason": row.reason,
        "created_at": utc(row.created_at),
        "decision": None if row.decided_at is None else {
            "by": names.person(row.decided_by), "at": utc(row.decided_at), "level": row.decision_level,
            "expires_at": utc(row.decision_expires_at), "note": row.decision_note, "grant_id": row.grant_id},
    } for row in rows]


def access_request(session, row: AccessRequest, viewer_id=None) -> dict:
    return access_requests(session, [row], viewer_id)[0]


def transfers(session, rows, viewer_teams=()) -> list[dict]:
    names = Names(session, user_ids={i for row in rows for i in (row.requested_by, row.decided_by)},
                  team_ids={i for row in rows for i in (row.from_team_id, row.to_team_id)})
    return [{
        "id": row.id,
        "status": row.status,
        "direction": "incoming" if row.to_team_id in viewer_teams else "outgoing",
        "record": {"type": row.record_type, "id": row.record_id, "display_name": row.record_display_name,
                   "is_person": row.is_person},
        "from_team": names.team(row.from_team_id),
        "to_team": names.team(row.to_team_id),
        "requested_by": names.person(row.requested_by),
        "note": row.note,
        "created_at": utc(row.created_at),
        "decision": None if row.decided_at is None else {
            "by": names.person(row.decided_by), "at": utc(row.decided_at), "note": row.decision_note,
            "consent": row.consent},
    } for row in rows]


def transfer(session, row: Transfer, viewer_teams=()) -> dict:
    return transfers(session, [row], viewer_teams)[0]
