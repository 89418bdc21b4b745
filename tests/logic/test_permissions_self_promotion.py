"""No self-promotion (issue 11, item 6): nobody changes their own place in a team, a SPOC gives roles
up to SPOC only, and a team's overseers hear of an administrator joining it or of anyone trying to
change their own place. Against services/permissions/logic.py on a real database, no broker.

Organisation A has teams A1 (supervisor, SPOC, practitioner) and A2; the operators' organisation has
O1 and O2. Each caller has a home team (where they are a member) and a target team (where they are
not): "join" adds themself to the target, "promote self" makes them supervisor of their home team,
"leave" removes them from it. The "grant …" actions give a fresh colleague a role in A1.
"""
from types import SimpleNamespace

import pytest

from concord_common.context import SYSTEM
from concord_common.errors import ConcordError, Forbidden, NotFound
from services.notifications.logic import notices_for
from services.permissions import logic
from tests.logic.permissions_world import permissions, permissions_engine  # noqa: F401

ACTIONS = ("join", "promote_self", "leave", "grant_practitioner", "grant_spoc", "grant_supervisor")
EXPECTED = {
    #                 join   promote_self leave  grant_practitioner grant_spoc grant_supervisor
    "system_admin":  ("403", "403",       "403", "ok",              "ok",      "ok"),
    "org_admin":     ("403", "403",       "403", "ok",              "ok",      "ok"),
    "admin_and_spoc": ("403", "403",      "403", "ok",              "ok",      "ok"),
    "spoc":          ("403", "403",       "403", "ok",              "ok",      "403"),
    "supervisor":    ("403", "403",       "403", "403",             "403",     "403"),
    "practitioner":  ("403", "403",       "403", "403",             "403",     "403"),
}
# Refusals that are recorded (team.own_membership_refused, the overseers told): where the caller
# could otherwise change that team's members at all.
RECORDED = {"system_admin": {"join", "promote_self", "leave"}, "org_admin": {"join", "promote_self", "leave"},
            "admin_and_spoc": {"join", "promote_self", "leave"}, "spoc": {"promote_self", "leave"}}


@pytest.fixture
def world(permissions):
    p = permissions
    org_a, operators = p.organisation(), p.organisation()
    a1, a2, o1, o2 = p.team(org_a), p.team(org_a), p.team(operators), p.team(operators)
    supervisor = p.user(org_a, teams=[(a1, "supervisor")])
    people = {   # who: (user, home team, target team)
        "system_admin": (p.user(operators, teams=[(o1, "practitioner")], roles=["system_admin"]), o1, o2),
        "org_admin": (p.user(org_a, teams=[(a2, "practitioner")], roles=["org_admin"]), a2, a1),
        "admin_and_spoc": (p.user(org_a, teams=[(a1, "spoc")], roles=["org_admin"]), a1, a2),
        "spoc": (p.user(org_a, teams=[(a1, "spoc")]), a1, a2),
        "supervisor": (supervisor, a1, a2),
        "practitioner": (p.user(org_a, teams=[(a1, "practitioner")]), a1, a2),
    }
    callers = {who: p.signed_in(user["username"])[1] for who, (user, _, _) in people.items()}
    return SimpleNamespace(org_a=org_a, a1=a1, a2=a2, supervisor=supervisor, people=people, callers=callers)


def attempt(p, world, who: str, action: str):
    user, home, target = world.people[who]
    caller = world.callers[who]
    if action == "join":
        return p.run(caller, logic.add_member, target["id"], {"user_id": user["id"], "role": "practitioner"})
    if action == "promote_self":
        return p.run(caller, logic.add_member, home["id"], {"user_id": user["id"], "role": "supervisor"})
    if action == "leave":
        return p.run(caller, logic.remove_member, home["id"], user["id"])
    colleague = p.user(world.org_a)
    role = action.removeprefix("grant_")
    return p.run(caller, logic.add_member, world.a1["id"], {"user_id": colleague["id"], "role": role})


def outcome_of(p, world, who, action) -> str:
    try:
        attempt(p, world, who, action)
    except ConcordError as error:
        return {Forbidden: "403", NotFound: "404"}.get(type(error), str(error.status))
    return "ok"


def refusals_recorded(p, world, who) -> int:
    _, home, target = world.people[who]
    return sum(len(p.events("team.own_membership_refused", team["id"])) for team in (home, target))


def test_who_may_change_whose_place_in_a_team(permissions, world):
    """The whole matrix in one world (each person signs in once): every cell is run, then compared."""
    seen, recorded = {}, {}
    for who in EXPECTED:
        user, home, target = world.people[who]
        cells = []
        for action in ACTIONS:
            before = refusals_recorded(permissions, world, who)
            cells.append(outcome_of(permissions, world, who, action))
            if refusals_recorded(permissions, world, who) != before:
                recorded.setdefault(who, set()).add(action)
        seen[who] = tuple(cells)
        home_roles = {m["user_id"]: m["role"] for m in permissions.read(SYSTEM, logic.get_team, home["id"])["members"]}
        target_members = {m["user_id"] for m in permissions.read(SYSTEM, logic.get_team, target["id"])["members"]}
        assert home_roles.get(user["id"]) == user["teams"][0]["role"] and user["id"] not in target_members, who
    assert seen == EXPECTED
    assert recorded == RECORDED


def test_an_org_admin_cannot_join_a_team_and_its_supervisor_is_told(permissions, world):
    admin, _, team = world.people["org_admin"]
    with pytest.raises(Forbidden):
        attempt(permissions, world, "org_admin", "join")
    members = permissions.read(SYSTEM, logic.get_team, team["id"])["members"]
    assert admin["id"] not in {member["user_id"] for member in members}     # its restricted records stay shut
    [refused] = permissions.events("team.own_membership_refused", team["id"])
    assert refused["data"]["administrator"] is True and refused["data"]["change"] == "role:practitioner"
    assert refused["data"]["overseer_ids"] == [world.supervisor["id"]]
    [(kind, recipient, title, body)] = notices_for(refused["type"], refused["data"])
    assert (kind, recipient) == ("user", world.supervisor["id"]) and "refused" in body


def test_a_second_administrator_may_add_one_and_the_supervisor_is_told(permissions, world):
    admin, _, team = world.people["org_admin"]
    _, events = permissions.run(world.callers["admin_and_spoc"], logic.add_member, team["id"],
                                {"user_id": admin["id"], "role": "practitioner"})
    [added] = [event for event in events if event["type"] == "team.member_added"]
    assert added["data"]["administrator"] is True and added["data"]["overseer_ids"] == [world.supervisor["id"]]
    [(kind, recipient, title, _)] = notices_for(added["type"], added["data"])
    assert (kind, recipient, title) == ("user", world.supervisor["id"], "An administrator joined your team")
    practitioner = permissions.user(world.org_a)
    _, events = permissions.run(world.callers["spoc"], logic.add_member, team["id"],
                                {"user_id": practitioner["id"], "role": "practitioner"})
    [plain] = [event for event in events if event["type"] == "team.member_added"]
    assert plain["data"]["overseer_ids"] == [] and notices_for(plain["type"], plain["data"]) == []


def test_a_spoc_cannot_make_themself_supervisor_by_any_route(permissions, world):
    spoc, team, _ = world.people["spoc"]
    caller = world.callers["spoc"]
    for role in ("supervisor", "spoc", "practitioner"):
        with pytest.raises(Forbidden):
            permissions.run(caller, logic.add_member, team["id"], {"user_id": spoc["id"], "role": role})
    with pytest.raises(Forbidden):                       # nor a supervisor of anyone else
        attempt(permissions, world, "spoc", "grant_supervisor")
    roles = {m["user_id"]: m["role"] for m in permissions.read(SYSTEM, logic.get_team, team["id"])["members"]}
    assert roles[spoc["id"]] == "spoc" and list(roles.values()).count("supervisor") == 1
