"""What only the operators' command line may do (caller kind "system"): the first
system administrator, and the demo directory `make run` loads."""
import uuid

from sqlalchemy import func, select

from concord_common import clock
from concord_common.errors import Forbidden, load_or_fail
from services.permissions import passwords, views
from services.permissions.logic import flush_unique
from services.permissions.models import Membership, Organisation, Team, User
from services.permissions.principals import end_user_sessions, invalidate
from services.permissions.schemas import AdminCreateSchema

OPERATORS = {"name": "Concord operators", "type": "other", "area": "national", "require_mfa": True}
DEMO_PASSWORD = "concord-demo-password"
DEMO_AREA = "West Yorkshire"
# organisation, type, e-mail domain, teams, users: (username, display name, team, team role, roles)
DEMO = [
    ("West Yorkshire Police", "police", "westyorkshire.police.example",
     ["Safeguarding Hub", "Neighbourhood Policing Team"], [
        ("insp.shah", "Inspector Priya Shah", "Safeguarding Hub", "supervisor", ["org_admin"]),
        ("ds.holroyd", "DS Mark Holroyd", "Safeguarding Hub", "spoc", []),
        ("pc.khan", "PC Aisha Khan", "Safeguarding Hub", "practitioner", []),
        ("sgt.walsh", "Sgt Helen Walsh", "Neighbourhood Policing Team", "supervisor", []),
        ("pc.brennan", "PC Tom Brennan", "Neighbourhood Policing Team", "practitioner", []),
    ]),
    ("Leeds City Council", "council", "leeds.council.example",
     ["Children's Social Care", "Anti-Social Behaviour Team", "Leeds MASH"], [
        ("g.lloyd", "Gareth Lloyd", "Children's Social Care", "supervisor", ["org_admin"]),
        ("f.clarke", "Fiona Clarke", "Children's Social Care", "spoc", []),
        ("d.osei", "Daniel Osei", "Children's Social Care", "practitioner", []),
        ("i.hussain", "Imran Hussain", "Anti-Social Behaviour Team", "spoc", []),
        ("r.moore", "Rachel Moore", "Anti-Social Behaviour Team", "practitioner", []),
        ("t.bennett", "Tom Bennett", "Leeds MASH", "supervisor", []),      # the MASH (docs/mash.md)
        ("l.okoro", "Lara Okoro", "Leeds MASH", "practitioner", []),
    ]),
    ("Park View Academy", "education", "parkview.school.example",
     ["Pastoral Team"], [
        ("s.wright", "Susan Wright", "Pastoral Team", "supervisor", ["org_admin"]),
        ("j.pearson", "Joanne Pearson", "Pastoral Team", "spoc", []),
        ("k.robinson", "Kyle Robinson", "Pastoral Team", "practitioner", []),
    ]),
    ("Leeds Teaching Hospitals NHS Trust", "health", "leedsth.nhs.example",
     ["Safeguarding Adults"], [
        ("dr.rahman", "Dr Nadia Rahman", "Safeguarding Adults", "supervisor", ["org_admin"]),
        ("c.hughes", "Claire Hughes", "Safeguarding Adults", "spoc", []),
        ("b.atkinson", "Ben Atkinson", "Safeguarding Adults", "practitioner", []),
    ]),
    ("Leeds Homes Housing Association", "housing", "leedshomes.example",
     ["Tenancy Enforcement"], [
        ("m.flynn", "Margaret Flynn", "Tenancy Enforcement", "supervisor", ["org_admin"]),
        ("p.dawson", "Paul Dawson", "Tenancy Enforcement", "spoc", []),
        ("z.ahmed", "Zara Ahmed", "Tenancy Enforcement", "practitioner", []),
    ]),
]


def _require_system(uow) -> None:
    if uow.caller is None or uow.caller.kind != "system":
        raise Forbidden("Only the operators' command line may do this.")



def _organisation_named(uow, name: str, **fields) -> Organisation:
    """The organisation with this name (any case), created if missing."""
    session = uow.session
    organisation = session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.lower()))
    if organisation is None:
        organisation = Organisation(id=str(uuid.uuid4()), name=name, created_at=clock.now(), **fields)
        session.add(organisation)
        flush_unique(session)
        uow.add_event("organisation.created", {"record": views.record("organisation", organisation.id),
                                               "organisation": views.organisation(organisation)})
    return organisation


DEMO_MASH_TEAMS = {"Leeds MASH"}      # teams of kind `mash`: they lead MASH referrals


def _team_named(uow, organisation: Organisation, name: str) -> Team:
    session = uow.session
    team = session.scalar(select(Team).where(Team.organisation_id == organisation.id,
                                             func.lower(Team.name) == name.lower()))
    kind = "mash" if name in DEMO_MASH_TEAMS else "general"
    if team is not None and team.kind != kind:
        team.kind = kind
    if team is None:
        team = Team(id=str(uuid.uuid4()), organisation_id=organisation.id, name=name, created_at=clock.now(),
                    kind=kind)
        session.add(team)
        flush_unique(session)
        uow.add_event("team.created", {"record": views.record("team", team.id), "team": views.team(team)})
    return team


def _new_user(uow, username, display_name, email, password, organisation, roles, places=()) -> User:
    session, now = uow.session, clock.now()
    user = User(id=str(uuid.uuid4()), username=username, display_name=display_name, email=email,
                password_hash=passwords.hash_password(password), organisation_id=organisation.id,
                roles=sorted(roles), created_at=now, password_changed_at=now)
    session.add(user)
    flush_unique(session)
    session.add_all([Membership(team_id=team.id, user_id=user.id, role=role) for team, role in places])
    session.flush()
    uow.add_event("user.created", {"record": views.record("user", user.id), "user": views.user(session, user)})
    return user


def admin_create(uow, settings, username, password) -> dict:
    """Create a system administrator, or reset an existing account's password and make it one."""
    _require_system(uow)
    data = load_or_fail(AdminCreateSchema(password_min_length=settings.password_min_length),
                        {"username": username, "password": password})
    session = uow.session
    user = session.scalar(select(User).where(func.lower(User.username) == data["username"].lower()))
    if user is None:
        operators = _organisation_named(uow, OPERATORS["name"], **{k: v for k, v in OPERATORS.items() if k != "name"})
        user = _new_user(uow, data["username"], data["username"], None, data["password"], operators,
                         ["system_admin"])
        return {"id": user.id, "username": user.username, "created": True}
    granted = "system_admin" not in user.roles
    user.roles = sorted({*user.roles, "system_admin"})
    user.password_hash = passwords.hash_password(data["password"])
    user.password_changed_at = clock.now()
    # This is the operators' way back in (password and authenticator both lost, or the account
    # disabled): it is re-enabled and two-step verification starts again at the next sign-in.
    reenabled, user.disabled = user.disabled, False
    mfa_reset, user.mfa_enabled, user.mfa_secret = user.mfa_enabled, False, None
    ended = end_user_sessions(uow, [user.id], "password_reset")
    uow.add_event("user.password_changed", {"record": views.record("user", user.id), "by": "operator",
                                            "system_admin_granted": granted, "re_enabled": reenabled,
                                            "mfa_reset": mfa_reset, "sessions_ended": len(ended)})
    invalidate(uow, [user.id], ended)
    return {"id": user.id, "username": user.username, "created": False}


def seed_demo(uow) -> dict:
    """The demo directory (idempotent: what exists is left alone). All passwords: DEMO_PASSWORD."""
    _require_system(uow)
    session, listed = uow.session, []
    for name, kind, domain, team_names, people in DEMO:
        organisation = _organisation_named(uow, name, type=kind, area=DEMO_AREA, require_mfa=False)
        teams = {team_name: _team_named(uow, organisation, team_name) for team_name in team_names}
        for username, display_name, team_name, role, roles in people:
            if session.scalar(select(User.id).where(func.lower(User.username) == username)) is None:
                _new_user(uow, username, display_name, f"{username}@{domain}", DEMO_PASSWORD, organisation, roles,
                          [(teams[team_name], role)])
            listed.append({"username": username, "display_name": display_name, "organisation": name,
                           "team": team_name, "role": role, "roles": roles})
    return {"users": listed}
