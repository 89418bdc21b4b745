"""Who may do what in the directory: every caller × action × target, against the running service.

Callers are real signed-in principals (resolved from real tokens, as the gateway does).
Org A holds teams A1 and A2, org B holds team B1. The org admin administers org A;
the SPOC, supervisor and practitioner are in team A1; the API client belongs to org A
(partner systems may not use the directory at all: 403 whatever they ask).
"""
from types import SimpleNamespace

import pytest

from concord_common.context import Caller
from concord_common.errors import Forbidden, NotFound, Unauthenticated
from tests.integration.permissions_support import PASSWORD, caller_of, directory, unique  # noqa: F401

OUTCOMES = {"ok": None, "401": Unauthenticated, "403": Forbidden, "404": NotFound}
TARGETS = {
    "create_organisation": ("-",),
    "create_team": ("own_org", "other_org"),
    "create_user": ("own_org", "other_org"),
    "create_api_client": ("own_org", "other_org"),
    "add_member": ("own_team", "sibling_team", "other_org_team"),
    "remove_member": ("own_team", "sibling_team", "other_org_team"),
    "disable_user": ("own_org_user", "other_org_user"),
    "get_user": ("own_org_user", "other_org_user"),
}
# One row per caller; one column per action (create_organisation … get_user, as in TARGETS),
# with an outcome per target. "own" is org A / team A1 for every caller.
EXPECTED = {
    #                org    team       user       api_client add_member     remove_member  disable    get_user
    "system_admin": ("ok",  "ok ok",   "ok ok",   "ok ok",   "ok ok ok",    "ok ok ok",    "ok ok",   "ok ok"),
    "org_admin":    ("403", "ok 403",  "ok 403",  "ok 403",  "ok ok 403",   "ok ok 403",   "ok 404",  "ok 404"),
    "spoc":         ("403", "403 403", "403 403", "403 403", "ok 403 403",  "ok 403 403",  "403 404", "ok 404"),
    "supervisor":   ("403", "403 403", "403 403", "403 403", "403 403 403", "403 403 403", "403 404", "ok 404"),
    "practitioner": ("403", "403 403", "403 403", "403 403", "403 403 403", "403 403 403", "403 404", "ok 404"),
    "api_client":   ("403", "403 403", "403 403", "403 403", "403 403 403", "403 403 403", "403 403", "403 403"),
    "anonymous":    ("401", "401 401", "401 401", "401 401", "401 401 401", "401 401 401", "401 401", "401 401"),
}


def matrix():
    for who, row in EXPECTED.items():
        for (action, targets), cell in zip(TARGETS.items(), row):
            outcomes = cell.split()
            assert len(outcomes) == len(targets), (who, action)
            for target, outcome in zip(targets, outcomes):
                yield pytest.param(who, action, target, outcome, id=f"{who}-{action}-{target}-{outcome}")


@pytest.fixture(scope="module")
def world(directory):
    d = directory
    org_a, org_b, operators = d.organisation(), d.organisation(type="police"), d.organisation(type="other")
    a1, a2, b1 = d.team(org_a), d.team(org_a), d.team(org_b)
    people = {
        "system_admin": d.user(operators, roles=["system_admin"]),
        "org_admin": d.user(org_a, roles=["org_admin"]),
        "spoc": d.user(org_a, teams=[(a1, "spoc")]),
        "supervisor": d.user(org_a, teams=[(a1, "supervisor")]),
        "practitioner": d.user(org_a, teams=[(a1, "practitioner"), (a2, "practitioner")]),
    }
    callers = {who: d.caller(user["username"]) for who, user in people.items()}
    client = d.system.create_api_client({"name": "Force records system", "organisation_id": org_a["id"],
                                         "scopes": ["profiles:read", "cases:write"]})
    token = d.anonymous.client_token(client["client_id"], client["client_secret"])
    callers["api_client"] = caller_of(d.anonymous.resolve_token(token["access_token"]))
    callers["anonymous"] = Caller()
    return SimpleNamespace(
        orgs={"own_org": org_a, "other_org": org_b},
        teams={"own_team": a1, "sibling_team": a2, "other_org_team": b1},
        users={"own_org_user": d.user(org_a, teams=[(a2, "practitioner")]), "other_org_user": d.user(org_b)},
        org_of_team={a1["id"]: org_a, a2["id"]: org_a, b1["id"]: org_b},
        callers=callers)


def user_payload(organisation: dict, teams=()) -> dict:
    return {"username": unique("new"), "display_name": "New Starter", "email": "new@example.org",
            "password": PASSWORD, "organisation_id": organisation["id"],
            "teams": [{"team_id": team["id"], "role": "practitioner"} for team in teams]}


def attempt(d, world, who: str, action: str, target: str):
    """Prepare a fresh target (as the system), then act on it as `who`."""
    acting = d.as_(world.callers[who])
    if action == "create_organisation":
        return acting.create_organisation({"name": unique("Org"), "type": "charity", "area": "Testshire"})
    if action == "create_team":
        return acting.create_team(world.orgs[target]["id"], {"name": unique("Team")})
    if action == "create_user":
        organisation = world.orgs[target]
        team = world.teams["own_team" if target == "own_org" else "other_org_team"]
        return acting.create_user(user_payload(organisation, [team]))
    if action == "create_api_client":
        return acting.create_api_client({"name": unique("client"), "organisation_id": world.orgs[target]["id"],
                                         "scopes": ["cases:read"]})
    if action in ("add_member", "remove_member"):
        team = world.teams[target]
        member = d.system.create_user(user_payload(world.org_of_team[team["id"]],
                                                   [team] if action == "remove_member" else []))
        if action == "add_member":
            return acting.add_member(team["id"], {"user_id": member["id"], "role": "practitioner"})
        return acting.remove_member(team["id"], member["id"])
    if action == "disable_user":
        organisation = world.orgs["own_org" if target == "own_org_user" else "other_org"]
        return acting.disable_user(d.system.create_user(user_payload(organisation))["id"])
    if action == "get_user":
        return acting.get_user(world.users[target]["id"])
    raise AssertionError(action)


@pytest.mark.parametrize("who,action,target,outcome", list(matrix()))
def test_who_may_do_what(directory, world, who, action, target, outcome):
    expected = OUTCOMES[outcome]
    if expected is None:
        attempt(directory, world, who, action, target)
    else:
        with pytest.raises(expected):
            attempt(directory, world, who, action, target)


def test_a_refused_change_leaves_nothing_behind(directory, world):
    before = directory.counts()
    with pytest.raises(Forbidden):
        attempt(directory, world, "spoc", "create_team", "own_org")
    with pytest.raises(Forbidden):
        directory.as_(world.callers["org_admin"]).create_user(user_payload(world.orgs["other_org"]))
    assert directory.counts() == before


def test_teams_are_visible_to_all_but_members_only_within_the_organisation(directory, world):
    team_a1 = world.teams["own_team"]
    inside = directory.as_(world.callers["practitioner"]).get_team(team_a1["id"])
    assert {m["role"] for m in inside["members"]} >= {"spoc", "supervisor", "practitioner"}
    assert set(inside["members"][0]) == {"user_id", "username", "display_name", "role"}
    outside = directory.as_(world.callers["practitioner"]).get_team(world.teams["other_org_team"]["id"])
    assert outside["id"] == world.teams["other_org_team"]["id"] and "members" not in outside
    assert "members" in directory.as_(world.callers["system_admin"]).get_team(team_a1["id"])
    with pytest.raises(Unauthenticated):
        directory.anonymous.get_team(team_a1["id"])
    organisations = directory.as_(world.callers["practitioner"]).list_organisations()
    assert organisations["next_cursor"] is None
    assert world.orgs["other_org"]["id"] in {org["id"] for org in organisations["items"]}
    own = directory.as_(world.callers["practitioner"]).get_organisation(world.orgs["own_org"]["id"])
    assert {team["id"] for team in own["teams"]} >= {world.teams["own_team"]["id"], world.teams["sibling_team"]["id"]}
    client = directory.as_(world.callers["api_client"])
    for read in (client.list_organisations, lambda: client.get_team(team_a1["id"])):
        with pytest.raises(Forbidden):
            read()
    assert client.me()["kind"] == "client" and client.me()["scopes"] == ["profiles:read", "cases:write"]


def test_only_a_system_admin_may_make_or_act_on_a_system_admin(directory, world):
    org_admin = directory.as_(world.callers["org_admin"])
    with pytest.raises(Forbidden):
        org_admin.create_user({**user_payload(world.orgs["own_org"]), "roles": ["system_admin"]})
    created = org_admin.create_user({**user_payload(world.orgs["own_org"]), "roles": ["org_admin"]})
    assert created["roles"] == ["org_admin"]
    operator_here = directory.system.create_user({**user_payload(world.orgs["own_org"]), "roles": ["system_admin"]})
    with pytest.raises(Forbidden):
        org_admin.disable_user(operator_here["id"])
    with pytest.raises(Forbidden):
        org_admin.change_password(operator_here["id"], {"new_password": "a-brand-new-passphrase"})


def test_users_never_show_a_password_or_its_hash(directory, world):
    shown = directory.as_(world.callers["org_admin"]).create_user(user_payload(world.orgs["own_org"]))
    assert not {"password", "password_hash", "mfa_secret"} & set(shown)
    assert PASSWORD not in repr(shown)
    assert set(shown) >= {"id", "username", "display_name", "email", "organisation_id", "teams", "roles"}
