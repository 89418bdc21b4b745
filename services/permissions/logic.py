"""The directory: organisations, teams, users and memberships. Plain functions, no nameko.

Writes take a unit of work (`uow.caller` is who asks); reads take a session
and the caller. Every function decides for itself whether the caller may act.
"""
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from concord_common import clock
from concord_common.errors import Forbidden, NotFound, ValidationFailed, load_or_fail
from services.permissions import auth, passwords, views
from services.permissions.auth import Outcome
from services.permissions.access import Actor, actor_for, require, require_admin_of, valid_id, visible_user
from services.permissions.models import Membership, Organisation, Team, User
from services.permissions.principals import end_user_sessions, invalidate
from services.permissions.schemas import (MemberAddSchema, OrganisationCreateSchema,
                                          PasswordChangeSchema, TeamCreateSchema, UserCreateSchema)

TAKEN = {"organisations_name_key": ("name", "An organisation with this name already exists."),
         "teams_organisation_name_key": ("name", "This organisation already has a team with this name."),
         "users_username_key": ("username", "This username is already taken.")}


def flush_unique(session) -> None:
    """Flush; a unique index lost to a concurrent writer becomes the same 422 the pre-check gives."""
    try:
        session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint in TAKEN:
            field, message = TAKEN[constraint]
            raise ValidationFailed("One or more fields are invalid.", {field: [message]}) from None
        raise


def _username_taken(session, username: str) -> bool:
    return session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None


# -- organisations ---------------------------------------------------------------
def create_organisation(uow, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    require(actor.is_system_admin, "Only a system administrator may create organisations.")

    def name_free(data):
        taken = "name" in data and session.scalar(
            select(Organisation.id).where(func.lower(Organisation.name) == data["name"].lower()))
        return {"name": [TAKEN["organisations_name_key"][1]]} if taken else {}

    data = load_or_fail(OrganisationCreateSchema(), payload, name_free)
    organisation = Organisation(id=str(uuid.uuid4()), created_at=clock.now(), **data)
    session.add(organisation)
    flush_unique(session)
    body = views.organisation(organisation)
    uow.add_event("organisation.created", {"record": views.record("organisation", organisation.id),
                                           "organisation": body})
    return body


def list_organisations(session, caller) -> dict:
    actor_for(session, caller)
    rows = session.scalars(select(Organisation).order_by(Organisation.area, Organisation.name)).all()
    return {"items": [views.organisation(row) for row in rows], "next_cursor": None}


def get_organisation(session, caller, organisation_id) -> dict:
    actor_for(session, caller)
    organisation = _organisation_or_404(session, organisation_id)
    teams = session.scalars(select(Team).where(Team.organisation_id == organisation.id).order_by(Team.name))
    return {**views.organisation(organisation), "teams": [{"id": team.id, "name": team.name} for team in teams]}


def _organisation_or_404(session, organisation_id) -> Organisation:
    organisation = session.get(Organisation, valid_id(organisation_id)) if valid_id(organisation_id) else None
    if organisation is None:
        raise NotFound()
    return organisation


# -- teams -------------------------------------------------------------------------
def create_team(uow, organisation_id, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    organisation = _organisation_or_404(session, organisation_id)
    require(actor.is_org_admin(organisation.id), "Only an administrator of this organisation may add teams.")

    def name_free(data):
        taken = "name" in data and session.scalar(select(Team.id).where(
            Team.organisation_id == organisation.id, func.lower(Team.name) == data["name"].lower()))
        return {"name": [TAKEN["teams_organisation_name_key"][1]]} if taken else {}

    data = load_or_fail(TeamCreateSchema(), payload, name_free)
    team = Team(id=str(uuid.uuid4()), organisation_id=organisation.id, name=data["name"], created_at=clock.now(),
                kind=data["kind"])
    session.add(team)
    flush_unique(session)
    body = views.team(team)
    uow.add_event("team.created", {"record": views.record("team", team.id), "team": body})
    return body


def _team_or_404(session, team_id) -> Team:
    team = session.get(Team, valid_id(team_id)) if valid_id(team_id) else None
    if team is None:
        raise NotFound()
    return team


def get_team(session, caller, team_id) -> dict:
    """Every signed-in caller may see a team (to share with it); its members only its own organisation."""
    actor = actor_for(session, caller)
    team = _team_or_404(session, team_id)
    body = views.team(team)
    if actor.sees_organisation(team.organisation_id):
        body["members"] = views.members_of(session, team.id)
    return body


def teams_of_kind(session, caller, kind) -> list[dict]:
    """Every team of a kind (`mash`: the cases service finds the MASH team that leads a referral)."""
    rows = session.execute(select(Team).where(Team.kind == kind).order_by(Team.name, Team.id)).scalars()
    return [views.team(row) for row in rows]


ADMIN_ROLES = {"org_admin", "system_admin"}
OWN_MEMBERSHIP = ("Nobody may change their own membership of a team or their role in it: ask another "
                  "administrator or the team's SPOC.")
SUPERVISOR_BY_ADMIN = "Only an administrator of the organisation may make someone a supervisor."


def _overseer_ids(session, team_id: str) -> list[str]:
    """Who is told of changes to a team nobody may make alone: its supervisors (its SPOCs if it has none)."""
    roles = dict(session.execute(select(Membership.user_id, Membership.role)
                                 .where(Membership.team_id == team_id)).all())
    supervisors = sorted(user_id for user_id, role in roles.items() if role == "supervisor")
    return supervisors or sorted(user_id for user_id, role in roles.items() if role == "spoc")


def _refuse_own_membership(uow, team: Team, actor: Actor, change: str) -> Outcome:
    """Refused, and recorded (committed although the call fails): the team's overseers are told."""
    user = uow.session.get(User, actor.id)
    uow.add_event("team.own_membership_refused", {
        "record": views.record("team", team.id), "team_name": team.name, "user_id": user.id,
        "display_name": user.display_name, "change": change, "administrator": bool(ADMIN_ROLES & set(user.roles)),
        "overseer_ids": _overseer_ids(uow.session, team.id)})
    return Outcome(error=Forbidden(OWN_MEMBERSHIP))


def add_member(uow, team_id, payload) -> Outcome:
    """Add a member or change their role. Nobody changes their own place (refused and recorded); only an
    administrator makes a supervisor; the overseers are told when an administrator joins a team."""
    session = uow.session
    actor = actor_for(session, uow.caller)
    team = _team_or_404(session, team_id)
    require(actor.manages_team(team), "Only this team's SPOC or an organisation administrator may change its members.")

    def same_organisation(data):
        user = session.get(User, str(data["user_id"])) if "user_id" in data else None
        if "user_id" in data and (user is None or user.organisation_id != team.organisation_id):
            return {"user_id": ["There is no such user in this team's organisation."]}
        return {}

    data = load_or_fail(MemberAddSchema(), payload, same_organisation)
    user_id = str(data["user_id"])
    if actor.kind == "user" and user_id == actor.id:
        return _refuse_own_membership(uow, team, actor, f"role:{data['role']}")
    if data["role"] == "supervisor":
        require(actor.is_org_admin(team.organisation_id), SUPERVISOR_BY_ADMIN)
    membership = session.get(Membership, (team.id, user_id))
    previous_role = membership.role if membership else None
    if membership is None:
        session.add(Membership(team_id=team.id, user_id=user_id, role=data["role"]))
    elif previous_role != data["role"]:
        membership.role = data["role"]
    if previous_role != data["role"]:
        member = session.get(User, user_id)
        administrator = bool(ADMIN_ROLES & set(member.roles))
        uow.add_event("team.member_added", {
            "record": views.record("team", team.id), "user_id": user_id, "role": data["role"],
            "previous_role": previous_role, "administrator": administrator, "team_name": team.name,
            "display_name": member.display_name,
            "overseer_ids": [i for i in _overseer_ids(session, team.id) if i != user_id] if administrator else []})
        invalidate(uow, [user_id])
    return Outcome({"team_id": team.id, "user_id": user_id, "role": data["role"]})


def remove_member(uow, team_id, user_id) -> Outcome:
    session = uow.session
    actor = actor_for(session, uow.caller)
    team = _team_or_404(session, team_id)
    require(actor.manages_team(team), "Only this team's SPOC or an organisation administrator may change its members.")
    membership = session.get(Membership, (team.id, valid_id(user_id))) if valid_id(user_id) else None
    if membership is None:
        raise NotFound()
    if actor.kind == "user" and membership.user_id == actor.id:
        return _refuse_own_membership(uow, team, actor, "leave")
    session.delete(membership)
    session.flush()
    still_in_a_team = session.scalar(select(Membership.team_id).where(Membership.user_id == membership.user_id)
                                     .limit(1))
    ended = [] if still_in_a_team else end_user_sessions(uow, [membership.user_id], "removed_from_last_team")
    uow.add_event("team.member_removed", {"record": views.record("team", team.id), "user_id": membership.user_id,
                                          "role": membership.role, "sessions_ended": len(ended)})
    invalidate(uow, [membership.user_id], ended)
    return Outcome(None)


# -- users -------------------------------------------------------------------------
def create_user(uow, settings, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    raw = payload if isinstance(payload, dict) else {}
    require_admin_of(actor, raw.get("organisation_id"), "create users")
    if isinstance(raw.get("roles"), list) and "system_admin" in raw["roles"]:
        require(actor.is_system_admin, "Only a system administrator may make someone a system administrator.")

    def directory_checks(data):
        errors = {}
        organisation_id = str(data["organisation_id"]) if "organisation_id" in data else None
        if organisation_id and session.get(Organisation, organisation_id) is None:
            errors["organisation_id"] = ["There is no such organisation."]
            organisation_id = None
        if "username" in data and _username_taken(session, data["username"]):
            errors["username"] = [TAKEN["users_username_key"][1]]
        places = raw.get("teams") if isinstance(raw.get("teams"), list) else []
        for index, place in enumerate(places):   # the raw list, so indexes match what was sent
            team_id = valid_id(place.get("team_id")) if isinstance(place, dict) else None
            team = session.get(Team, team_id) if team_id else None
            if team_id and team is None:
                errors[f"teams.{index}.team_id"] = ["There is no such team."]
            elif team is not None and organisation_id and team.organisation_id != organisation_id:
                errors[f"teams.{index}.team_id"] = ["This team belongs to another organisation."]
        return errors

    data = load_or_fail(UserCreateSchema(password_min_length=settings.password_min_length), payload,
                        directory_checks)
    now = clock.now()
    user = User(id=str(uuid.uuid4()), username=data["username"], display_name=data["display_name"],
                email=data["email"], password_hash=passwords.hash_password(data["password"]),
                organisation_id=str(data["organisation_id"]), roles=sorted(set(data["roles"])),
                created_at=now, password_changed_at=now)
    session.add(user)
    flush_unique(session)
    session.add_all([Membership(team_id=str(place["team_id"]), user_id=user.id, role=place["role"])
                     for place in data["teams"]])
    session.flush()
    body = views.user(session, user)
    uow.add_event("user.created", {"record": views.record("user", user.id), "user": body})
    return body


def get_user(session, caller, user_id) -> dict:
    actor = actor_for(session, caller)
    return views.user(session, visible_user(session, actor, user_id))


def _require_admin_over(actor: Actor, user: User, what: str) -> None:
    require(actor.is_org_admin(user.organisation_id), f"Only an administrator of their organisation may {what}.")
    if "system_admin" in user.roles:
        require(actor.is_system_admin, f"Only a system administrator may {what} for a system administrator.")


def disable_user(uow, user_id) -> None:
    session = uow.session
    actor = actor_for(session, uow.caller)
    user = visible_user(session, actor, user_id)
    _require_admin_over(actor, user, "disable a user")
    if user.disabled:
        return None
    user.disabled = True
    ended = end_user_sessions(uow, [user.id], "user_disabled")
    uow.add_event("user.disabled", {"record": views.record("user", user.id), "sessions_ended": len(ended)})
    invalidate(uow, [user.id], ended)
    return None


def change_password(uow, settings, user_id, payload) -> Outcome:
    """The user themself (with their current password), or an administrator resetting it. A wrong
    current password counts towards the lockout as a failed sign-in does (and is refused while locked),
    so this is no way round it to guess a password."""
    session = uow.session
    actor = actor_for(session, uow.caller)
    user = visible_user(session, actor, user_id)
    by_self = actor.kind == "user" and actor.id == user.id
    if not by_self:
        _require_admin_over(actor, user, "reset a password")
    raw = payload if isinstance(payload, dict) else {}
    if by_self and raw.get("current_password"):
        auth.one_attempt_at_a_time(session, settings, user.username)
    wrong_current = False

    def current_password_checks(data):
        nonlocal wrong_current
        if not by_self:
            return {}
        if not data.get("current_password"):
            return {"current_password": ["Enter your current password."]}
        if not passwords.verify_password(user.password_hash, data["current_password"]):
            wrong_current = True
            return {"current_password": ["Your current password is not correct."]}
        return {}

    try:
        data = load_or_fail(PasswordChangeSchema(password_min_length=settings.password_min_length,
                                                 username=user.username), payload, current_password_checks)
    except ValidationFailed as refused:
        if not wrong_current:
            raise
        auth.record_failure(uow, settings, user.username, None, user, "wrong_current_password")
        return Outcome(error=refused)
    user.password_hash = passwords.hash_password(data["new_password"])
    user.password_changed_at = clock.now()
    ended = end_user_sessions(uow, [user.id], "password_changed")
    uow.add_event("user.password_changed", {"record": views.record("user", user.id),
                                            "by": "self" if by_self else "administrator",
                                            "sessions_ended": len(ended)})
    invalidate(uow, [user.id], ended)
    return Outcome(None)
