"""Actions through the gateway: who may do what to which action, as a matrix; bad input answered 4xx with the
field named and nothing written; the assignee told; the timeline; My actions.

Organisation "owner" leads two cases (one restricted), shared with team B hub (view) and organisation C (edit).
Each case has an action for B hub (the team) and one for a person of C's Neighbourhood Team.
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_case_access import client_api, grant
from tests.support import wait_for


def day(offset: int) -> str:
    return (datetime.now(timezone.utc).date() + timedelta(days=offset)).isoformat()


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_actions") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    owner, b, c, foreign = (Directory(url, admin) for _ in range(4))
    people = {
        "lead practitioner": owner.user("lp", [(owner.hub, "practitioner")]),
        "lead supervisor": owner.user("ls", [(owner.hub, "supervisor")]),
        "same org other team": owner.user("ot", [(owner.npt, "practitioner")]),
        "assignee team (view grant)": b.user("bt", [(b.hub, "practitioner")]),
        "assignee person (org edit grant)": c.user("cp", [(c.npt, "practitioner")]),
        "assignee person's team-mate": c.user("cm", [(c.npt, "practitioner")]),
        "org edit grantee, other team": c.user("ch", [(c.hub, "practitioner")]),
        "other organisation": foreign.user("fo", [(foreign.hub, "practitioner")]),
    }
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["system admin"] = admin
    lead = apis["lead practitioner"]
    cases = {}
    for restricted in (False, True):
        case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "restricted": restricted,
                                                   "title": f"Actions matrix {uuid.uuid4().hex[:6]}"}), 201)
        grant(lead, f"cases/{case['id']}", "team", b.hub["id"], "view")
        grant(lead, f"cases/{case['id']}", "organisation", c.org["id"], "edit")
        team_action = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/actions", {
            "title": "Visit the flat", "assignee": {"team_id": b.hub["id"]}, "due": day(7)}), 201)
        person_action = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/actions", {
            "title": "Call the school", "assignee": {"user_id": people["assignee person (org edit grant)"]["id"]},
            "due": day(5), "priority": "high"}), 201)
        cases[restricted] = {"case": case, "team": team_action, "person": person_action}
    apis["client of owner, cases:read+write"] = client_api(url, admin, owner.org["id"], ["cases:read", "cases:write"])
    apis["client of owner, cases:read"] = client_api(url, admin, owner.org["id"], ["cases:read"])
    apis["client of other org, cases:read+write"] = client_api(url, admin, foreign.org["id"],
                                                               ["cases:read", "cases:write"])
    apis["client without cases scopes"] = client_api(url, admin, owner.org["id"], ["profiles:read"])
    return {"url": url, "apis": apis, "people": people, "cases": cases, "lead": lead, "owner": owner, "b": b,
            "c": c, "foreign": foreign}


def act(api, what, world, which):
    case, team_action, person_action = which["case"], which["team"], which["person"]
    if what == "list":
        return api.get(f"/api/v1/cases/{case['id']}/actions")
    if what == "create":
        return api.post(f"/api/v1/cases/{case['id']}/actions", {
            "title": "Matrix action", "assignee": {"team_id": world["b"].hub["id"]}, "due": day(9)})
    if what == "status (team's)":
        return api.patch(f"/api/v1/actions/{team_action['id']}", {"status": "in_progress"})
    if what == "status (person's)":
        return api.patch(f"/api/v1/actions/{person_action['id']}", {"status": "in_progress"})
    if what == "due":
        return api.patch(f"/api/v1/actions/{team_action['id']}", {"due": day(8)})
    raise AssertionError(what)


WHAT = ("list", "create", "status (team's)", "status (person's)", "due")
EXPECTED = {
    "lead practitioner":                     ("ok", "ok", "ok", "ok", "ok"),
    "lead supervisor":                       ("ok", "ok", "ok", "ok", "ok"),
    "same org other team":                   ("404", "404", "404", "404", "404"),
    "assignee team (view grant)":            ("ok", "403", "ok", "403", "403"),
    "assignee person (org edit grant)":      ("ok", "ok", "403", "ok", "403"),
    "assignee person's team-mate":           ("ok", "ok", "403", "ok", "403"),
    "org edit grantee, other team":          ("ok", "ok", "403", "403", "403"),
    "other organisation":                    ("404", "404", "404", "404", "404"),
    "system admin":                          ("404", "404", "404", "404", "404"),
    "client of owner, cases:read+write":     ("ok", "ok", "ok", "ok", "ok"),
    "client of owner, cases:read":           ("ok", "403", "403", "403", "403"),
    "client of other org, cases:read+write": ("404", "404", "404", "404", "404"),
    "client without cases scopes":           ("403", "403", "403", "403", "403"),
}


def outcome(response):
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


@pytest.mark.parametrize("restricted", [False, True], ids=["unrestricted", "restricted"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_action_permission_matrix(world, who, restricted):
    api, which = world["apis"][who], world["cases"][restricted]
    got = {what: outcome(act(api, what, world, which)) for what in WHAT}
    assert got == dict(zip(WHAT, EXPECTED[who]))


def test_a_refusal_to_someone_who_cannot_view_the_case_is_the_same_404_as_no_action(world):
    stranger = world["apis"]["other organisation"]
    hidden = stranger.patch(f"/api/v1/actions/{world['cases'][False]['team']['id']}", {"status": "in_progress"})
    absent = stranger.patch(f"/api/v1/actions/{uuid.uuid4()}", {"status": "in_progress"})
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json()


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, field", [
    ({"title": "x", "assignee": {"team_id": "TEAM"}, "due": day(-1)}, "due"),
    ({"title": "x", "assignee": {"team_id": "OTHER_TEAM"}, "due": day(3)}, "assignee"),       # cannot see it
    ({"title": "x", "assignee": {"team_id": str(uuid.uuid4())}, "due": day(3)}, "assignee"),  # no such team
    ({"title": "x", "assignee": {"user_id": str(uuid.uuid4())}, "due": day(3)}, "assignee"),  # no such person
    ({"title": "x", "assignee": {"user_id": "FOREIGN_USER"}, "due": day(3)}, "assignee"),     # cannot see it
    ({"title": "", "assignee": {"team_id": "TEAM"}, "due": day(3)}, "title"),
    ({"title": "x", "assignee": {"team_id": "TEAM"}, "due": "next week"}, "due"),
    ({"title": "x", "assignee": {"team_id": "TEAM"}, "due": day(3), "colour": "red"}, "colour"),
])
def test_bad_action_input_is_422_naming_the_field_and_nothing_is_written(world, body, field):
    lead, which = world["lead"], world["cases"][False]
    path = f"/api/v1/cases/{which['case']['id']}/actions"
    swap = {"TEAM": world["b"].hub["id"], "OTHER_TEAM": world["b"].npt["id"],
            "FOREIGN_USER": world["people"]["other organisation"]["id"]}
    body = {**body, "assignee": {key: swap.get(value, value) for key, value in body["assignee"].items()}}
    before = lead.ok(lead.get(path, params={"status": "all"}))["items"]
    response = lead.post(path, body)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"], response.json()
    assert lead.ok(lead.get(path, params={"status": "all"}))["items"] == before


def test_bad_changes_are_refused_and_the_action_is_left_as_it_was(world):
    lead, which = world["lead"], world["cases"][False]
    action = lead.ok(lead.post(f"/api/v1/cases/{which['case']['id']}/actions", {
        "title": "To be checked", "assignee": {"team_id": world["b"].hub["id"]}, "due": day(4)}), 201)
    path = f"/api/v1/actions/{action['id']}"
    for body, status, field in (({"status": "done"}, 422, "note"), ({"status": "cancelled"}, 422, "note"),
                                ({"status": "parked"}, 422, "status"), ({"due": day(-2)}, 422, "due"),
                                ({}, 422, None)):
        response = lead.patch(path, body)
        assert response.status_code == status, (body, response.text)
        if field:
            assert field in response.json()["errors"], response.json()
    refused = world["apis"]["org edit grantee, other team"].patch(path, {"status": "done", "note": "Not mine."})
    assert refused.status_code == 403
    listed = lead.ok(lead.get(f"/api/v1/cases/{which['case']['id']}/actions"))["items"]
    assert next(item for item in listed if item["id"] == action["id"])["status"] == "open"
    done = lead.ok(lead.patch(path, {"status": "done", "note": "Checked with the neighbours."}))
    assert done["status"] == "done" and done["status_note"] == "Checked with the neighbours."
    assert lead.patch(path, {"status": "in_progress"}).status_code == 409


# -- told, and on the timeline ------------------------------------------------------------------------------------
def test_the_assignee_is_told_and_the_timeline_shows_the_action(world):
    lead, which = world["lead"], world["cases"][False]
    assignee = world["apis"]["assignee person (org edit grant)"]
    reference = which["case"]["reference"]

    def told():
        return [n for n in assignee.ok(assignee.get("/api/v1/me/notifications"))["items"]
                if n["kind"] == "case.action_set" and reference in n["body"]]
    notices = wait_for(told, timeout=20, message="the action-set notice")
    assert notices[0]["title"] == "An action was set for you" and "Call the school" in notices[0]["body"]
    team_member = world["apis"]["assignee team (view grant)"]
    wait_for(lambda: [n for n in team_member.ok(team_member.get("/api/v1/me/notifications"))["items"]
                      if n["kind"] == "case.action_set" and "Visit the flat" in n["body"]], timeout=20,
             message="the team's notice")
    timeline = lead.ok(lead.get(f"/api/v1/cases/{which['case']['id']}/timeline", params={"limit": "100"}))["items"]
    kinds = {entry["kind"] for entry in timeline}
    assert {"action_set", "action_updated"} <= kinds
    assert any("Call the school" in entry["summary"] for entry in timeline if entry["kind"] == "action_set")


def test_my_actions_across_cases_soonest_first_with_filters(world):
    mine = world["apis"]["assignee person (org edit grant)"]
    listed = mine.ok(mine.get("/api/v1/me/actions"))
    titles = [item["title"] for item in listed["items"]]
    assert titles.count("Call the school") == 2 and "Visit the flat" not in titles
    assert [item["due"] for item in listed["items"]] == sorted(item["due"] for item in listed["items"])
    assert listed["counts"]["active"] >= 2 and listed["counts"]["overdue"] == 0
    assert mine.ok(mine.get("/api/v1/me/actions", params={"overdue": "true"}))["items"] == []
    bad = mine.get("/api/v1/me/actions", params={"status": "whenever"})
    assert bad.status_code == 422 and "status" in bad.json()["errors"]
    team = world["apis"]["assignee team (view grant)"]
    assert {item["case_id"] for item in team.ok(team.get("/api/v1/me/actions"))["items"]} == \
        {which["case"]["id"] for which in world["cases"].values()}
    assert world["apis"]["other organisation"].ok(world["apis"]["other organisation"].get(
        "/api/v1/me/actions"))["items"] == []
    assert world["apis"]["client of owner, cases:read+write"].get("/api/v1/me/actions").status_code == 403


# -- the pages, without JavaScript ----------------------------------------------------------------------------------
def test_the_action_pages_work_without_javascript_and_refuse_without_csrf(world):
    from tests.e2e.test_web_profiles import Browser, error_summary, text_of
    which = world["cases"][False]
    case_id, action_id = which["case"]["id"], which["team"]["id"]
    team = Browser(world["url"], world["people"]["assignee team (view grant)"]["username"])
    mine = text_of(team.page("/actions").text)
    assert "My actions" in mine and "Visit the flat" in mine and "Open and in progress (" in mine
    case_page = text_of(team.page(f"/cases/{case_id}").text)
    assert "Visit the flat" in case_page and "Add an action" not in case_page      # view only: no form
    form = team.page(f"/cases/{case_id}/actions/{action_id}")
    assert form.status_code == 200 and "New status" in form.text and 'name="due-day"' not in form.text
    assert team.submit(f"/cases/{case_id}/actions/{action_id}", {"status": "in_progress"}, csrf=False).status_code \
        == 403
    refused = team.submit(f"/cases/{case_id}/actions/{action_id}", {"status": "cancelled"})
    assert refused.status_code == 422 and error_summary(refused.text) == [("#note", "Enter why the action is cancelled")]
    moved = team.submit(f"/cases/{case_id}/actions/{action_id}", {"status": "in_progress", "from": "mine"})
    assert moved.status_code == 303 and moved.headers["Location"] == "/actions?changed=1"
    lead = Browser(world["url"], world["people"]["lead practitioner"]["username"])
    empty = lead.submit(f"/cases/{case_id}/actions", {"action-title": "", "action-assignee": ""})
    assert empty.status_code == 422 and [href for href, _ in error_summary(empty.text)] == [
        "#action-title", "#action-assignee", "#action-due-day"]
    assert lead.submit(f"/cases/{case_id}/actions", {"action-title": "x"}, csrf=False).status_code == 403
    stranger = Browser(world["url"], world["people"]["other organisation"]["username"])
    theirs, nobody = (stranger.page(f"/cases/{case_id}/actions/{action_id}"),
                      stranger.page(f"/cases/{case_id}/actions/{uuid.uuid4()}"))
    assert theirs.status_code == nobody.status_code == 404 and theirs.text == nobody.text
