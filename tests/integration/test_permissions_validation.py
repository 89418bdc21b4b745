"""Bad input gets a ValidationFailed naming each bad field, and nothing is written."""
import uuid
from types import SimpleNamespace

import pytest

from concord_common.errors import MalformedRequest, ValidationFailed
from tests.integration.permissions_support import PASSWORD, directory, unique  # noqa: F401


@pytest.fixture(scope="module")
def world(directory):
    org, other_org = directory.organisation(), directory.organisation()
    team, other_team = directory.team(org), directory.team(other_org)
    return SimpleNamespace(org=org, other_org=other_org, team=team, other_team=other_team,
                           existing=directory.user(org, teams=[(team, "practitioner")]))


def new_user(w, **changes) -> dict:
    payload = {"username": unique("new"), "display_name": "New Starter", "email": "new@example.org",
               "password": PASSWORD, "organisation_id": w.org["id"],
               "teams": [{"team_id": w.team["id"], "role": "practitioner"}]}
    payload.update(changes)
    return payload


CASES = {
    "organisation type": (lambda d, w: d.system.create_organisation(
        {"name": unique("Org"), "type": "bank", "area": "Testshire"}), {"type"}),
    "organisation name taken (any case)": (lambda d, w: d.system.create_organisation(
        {"name": w.org["name"].upper(), "type": "police", "area": "Testshire"}), {"name"}),
    "organisation without a name or area": (lambda d, w: d.system.create_organisation(
        {"type": "police", "name": "   "}), {"name", "area"}),
    "team name taken (any case)": (lambda d, w: d.system.create_team(
        w.org["id"], {"name": w.team["name"].lower()}), {"name"}),
    "username taken (any case)": (lambda d, w: d.system.create_user(
        new_user(w, username=w.existing["username"].upper())), {"username"}),
    "invalid e-mail": (lambda d, w: d.system.create_user(new_user(w, email="not-an-address")), {"email"}),
    "short password": (lambda d, w: d.system.create_user(new_user(w, password="Sh0rt-pass")), {"password"}),
    "common password": (lambda d, w: d.system.create_user(new_user(w, password="1QAZ2WSX3EDC")), {"password"}),
    "password is the username": (lambda d, w: d.system.create_user(
        new_user(w, username="jo.bloggs.leeds", password="Jo.Bloggs.Leeds")), {"password"}),
    "unknown team": (lambda d, w: d.system.create_user(new_user(w, teams=[
        {"team_id": w.team["id"], "role": "spoc"}, {"team_id": str(uuid.uuid4()), "role": "spoc"}])),
        {"teams.1.team_id"}),
    "team of another organisation": (lambda d, w: d.system.create_user(new_user(w, teams=[
        {"team_id": w.other_team["id"], "role": "spoc"}])), {"teams.0.team_id"}),
    "team role not in the list": (lambda d, w: d.system.create_user(new_user(w, teams=[
        {"team_id": w.team["id"], "role": "captain"}])), {"teams.0.role"}),
    "user role not in the list": (lambda d, w: d.system.create_user(new_user(w, roles=["superuser"])),
                                  {"roles.0"}),
    "unknown organisation": (lambda d, w: d.system.create_user(new_user(w, organisation_id=str(uuid.uuid4()),
                                                                         teams=[])), {"organisation_id"}),
    "many problems at once": (lambda d, w: d.system.create_user(new_user(
        w, username=w.existing["username"], email="nope", password="password", roles=["root"],
        teams=[{"team_id": "not-a-uuid", "role": "boss"}])),
        {"username", "email", "password", "roles.0", "teams.0.team_id", "teams.0.role"}),
    "member role not in the list": (lambda d, w: d.system.add_member(
        w.team["id"], {"user_id": w.existing["id"], "role": "captain"}), {"role"}),
    "member from another organisation": (lambda d, w: d.system.add_member(
        w.other_team["id"], {"user_id": w.existing["id"], "role": "spoc"}), {"user_id"}),
    "scope not in the list": (lambda d, w: d.system.create_api_client(
        {"name": "x", "organisation_id": w.org["id"], "scopes": ["cases:read", "profiles:delete"]}), {"scopes.1"}),
    "no scopes": (lambda d, w: d.system.create_api_client(
        {"name": "x", "organisation_id": w.org["id"], "scopes": []}), {"scopes"}),
    "weak new password": (lambda d, w: d.system.change_password(
        w.existing["id"], {"new_password": "Q1W2E3R4T5Y6"}), {"new_password"}),
    "unknown field": (lambda d, w: d.system.create_team(w.org["id"], {"name": unique("T"), "colour": "red"}),
                      {"colour"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_the_field_and_writes_nothing(directory, world, case):
    act, fields = CASES[case]
    before = directory.counts()
    with pytest.raises(ValidationFailed) as failed:
        act(directory, world)
    assert set(failed.value.errors) == fields, failed.value.errors
    assert directory.counts() == before


def test_a_body_that_is_not_an_object_is_malformed(directory, world):
    with pytest.raises(MalformedRequest):
        directory.system.create_user(["not", "an", "object"])


def test_the_password_never_comes_back_in_an_error(directory, world):
    with pytest.raises(ValidationFailed) as failed:
        directory.system.create_user(new_user(world, password="Password1234"))
    assert "Password1234" not in repr(failed.value.args)


def test_a_new_user_gets_all_their_teams_or_nothing(directory, world):
    payload = new_user(world, teams=[{"team_id": world.team["id"], "role": "supervisor"},
                                     {"team_id": world.other_team["id"], "role": "practitioner"}])
    with pytest.raises(ValidationFailed):
        directory.system.create_user(payload)
    payload["teams"] = payload["teams"][:1]
    created = directory.system.create_user(payload)
    assert [(t["id"], t["role"]) for t in created["teams"]] == [(world.team["id"], "supervisor")]
