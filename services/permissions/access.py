"""Who the caller is, according to the directory, and what that lets them do here.

The caller in the RPC context is what the gateway resolved (perhaps cached a
moment ago); decisions here use the directory's current rows instead, so a
role or membership removed a second ago no longer counts.
"""
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from concord_common.context import Caller
from concord_common.errors import Forbidden, NotFound, Unauthenticated
from services.permissions.models import ApiClient, Membership, Organisation, User

MFA_FIRST = "Set up two-step verification before doing anything else."
CLIENTS_REFUSED = "API clients cannot use the directory; it is for signed-in people."


@dataclass(frozen=True)
class Actor:
    kind: str                                   # user | client | system
    id: str | None
    organisation_id: str | None
    roles: frozenset = frozenset()
    teams: dict = field(default_factory=dict)   # team id -> role in it
    mfa_enrolment_required: bool = False

    @property
    def is_system_admin(self) -> bool:
        return self.kind == "system" or "system_admin" in self.roles

    def is_org_admin(self, organisation_id: str) -> bool:
        return self.is_system_admin or (
            self.kind == "user" and "org_admin" in self.roles and self.organisation_id == organisation_id)

    def sees_organisation(self, organisation_id: str) -> bool:
        """May see the people (users, members) of that organisation."""
        return self.is_system_admin or self.organisation_id == organisation_id

    def manages_team(self, team) -> bool:
        return self.is_org_admin(team.organisation_id) or (
            self.kind == "user" and self.teams.get(team.id) == "spoc")


SYSTEM_ACTOR = Actor(kind="system", id="system", organisation_id=None)


def valid_id(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def actor_for(session, caller: Caller, allow_mfa_pending: bool = False, allow_clients: bool = False) -> Actor:
    """The signed-in caller as the directory knows them now; Unauthenticated if nobody is.

    The directory is for people: API clients (partner systems) are refused unless `allow_clients`.
    """
    caller = caller or Caller()
    if caller.kind == "system":
        return SYSTEM_ACTOR
    caller_id = valid_id(caller.id)
    if caller.kind == "user" and caller_id:
        row = session.execute(
            select(User, Organisation.require_mfa).join(Organisation, Organisation.id == User.organisation_id)
            .where(User.id == caller_id)).first()
        if row is None or row.User.disabled:
            raise Unauthenticated("Sign in to continue.")
        user = row.User
        teams = dict(session.execute(
            select(Membership.team_id, Membership.role).where(Membership.user_id == user.id)).all())
        actor = Actor("user", user.id, user.organisation_id, frozenset(user.roles), teams,
                      mfa_enrolment_required=row.require_mfa and not user.mfa_enabled)
        if actor.mfa_enrolment_required and not allow_mfa_pending:
            raise Forbidden(MFA_FIRST)
        return actor
    if caller.kind == "client" and caller_id:
        client = session.get(ApiClient, caller_id)
        if client is None or client.disabled:
            raise Unauthenticated("Sign in to continue.")
        if not allow_clients:
            raise Forbidden(CLIENTS_REFUSED)
        return Actor("client", client.id, client.organisation_id)
    raise Unauthenticated("Sign in to continue.")


def require(allowed: bool, detail: str = "You may not do this.") -> None:
    if not allowed:
        raise Forbidden(detail)


def require_admin_of(actor: Actor, raw_organisation_id, what: str) -> None:
    """Only system admins, or org admins for their own organisation (an unreadable id is left to validation)."""
    if actor.is_system_admin:
        return
    require(actor.kind == "user" and "org_admin" in actor.roles, f"Only an administrator may {what}.")
    organisation_id = valid_id(raw_organisation_id)
    require(organisation_id is None or organisation_id == actor.organisation_id,
            f"You may only {what} in your own organisation.")


def visible_user(session, actor: Actor, user_id) -> User:
    """The user if the actor may see them; NotFound otherwise (other organisations' users look absent)."""
    user = session.get(User, valid_id(user_id)) if valid_id(user_id) else None
    if user is None or not actor.sees_organisation(user.organisation_id):
        raise NotFound()
    return user
