"""Rows to the plain dicts the RPC methods answer with (ids as strings, times ISO 8601 UTC)."""
from sqlalchemy import select

from services.permissions.models import Membership, Organisation, Team, User
from services.permissions.schemas import ApiClientSchema, OrganisationSchema, TeamSchema, UserSchema

_organisation = OrganisationSchema()
_team = TeamSchema()
_user = UserSchema()
_api_client = ApiClientSchema()


def record(kind: str, record_id) -> dict:
    """What every audit event names in `data.record`."""
    return {"type": kind, "id": record_id}


def organisation(row: Organisation) -> dict:
    return _organisation.dump(row)


def team(row: Team) -> dict:
    return _team.dump(row)


def api_client(row) -> dict:
    return _api_client.dump(row)


def teams_of(session, user_id: str) -> list[dict]:
    rows = session.execute(
        select(Team.id, Team.name, Membership.role).join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id).order_by(Team.name)).all()
    return [{"id": row.id, "name": row.name, "role": row.role} for row in rows]


def user(session, row: User) -> dict:
    return {**_user.dump(row), "teams": teams_of(session, row.id)}


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
