"""Meetings and panels through the gateway: who sees a meeting and its agenda cases (a matrix, before and after
the 7 days), who may add to the agenda and write minutes, bad input, and what reaches the case's access list,
timeline, audit log and the attendees' notifications.

Organisation A: its hub leads the cases, its neighbourhood team chairs the panel. B's hub is invited as a team,
organisation C as a whole; D is invited to nothing.
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import create_engine, text

from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import Browser, error_summary, text_of

LAWFUL = "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115"
JUSTIFY = "Joint ASB casework agreed at the community safety partnership."


@pytest.fixture(scope="module")
def system_module(request):
    prefix = request.getfixturevalue("database_prefix") + "_meetings"
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              prefix) as system:
        cases_db = support.database_url_for(support.config_for(
            "cases", "amqp://unused", request.getfixturevalue("database_server"), prefix))
        yield system + (cases_db,)


def soon(days=2):
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.fixture(scope="module")
def world(system_module):
    url, config, cases_db = system_module
    admin = bootstrap_admin(url, config)
    a, b, c, d = (Directory(url, admin) for _ in range(4))
    people = {"lead": a.user("lead", [(a.hub, "practitioner")]), "chair": a.user("chair", [(a.npt, "practitioner")]),
              "attendee team": b.user("bteam", [(b.hub, "practitioner")]),
              "attendee organisation": c.user("corg", [(c.npt, "practitioner")]),
              "not invited": d.user("dnot", [(d.hub, "practitioner")])}
    apis = {name: sign_in(url, person["username"]) for name, person in people.items()}
    lead, chair = apis["lead"], apis["chair"]
    meeting_body = {"kind": "asb_panel", "title": "Eastside ASB panel", "starts_at": soon(),
                    "location": "Civic Centre, room 4", "chair_team_id": a.npt["id"],
                    "attendees": [{"team_id": a.hub["id"]}, {"team_id": b.hub["id"]}, {"organisation_id": c.org["id"]}]}
    meeting = chair.ok(chair.post("/api/v1/meetings", meeting_body), 201)
    cases = {name: lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": f"Canal Wharf noise {name}"}), 201)
             for name in ("agenda", "other")}
    # B's hub may view the other case (an ordinary grant): it sees the case but does not lead it.
    lead.ok(lead.post(f"/api/v1/cases/{cases['other']['id']}/grants", {
        "grantee_type": "team", "grantee_id": b.hub["id"], "level": "view", "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)
    item = lead.ok(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda",
                             {"case_id": cases["agenda"]["id"], "lawful_basis": LAWFUL}), 201)
    return {"url": url, "apis": apis, "meeting": meeting, "meeting_body": meeting_body, "cases": cases, "item": item,
            "dirs": {"a": a, "b": b, "c": c, "d": d}, "cases_db": cases_db, "people": people}


def status(response) -> str:
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


def act(world, api, action) -> str:
    meeting, cases = world["meeting"], world["cases"]
    if action == "list":
        found = api.ok(api.get("/api/v1/meetings"))["items"]
        return "listed" if meeting["id"] in [m["id"] for m in found] else "absent"
    if action == "open meeting":
        return status(api.get(f"/api/v1/meetings/{meeting['id']}"))
    if action == "open agenda case":
        return status(api.get(f"/api/v1/cases/{cases['agenda']['id']}"))
    if action == "add to agenda":
        response = api.post(f"/api/v1/meetings/{meeting['id']}/agenda",
                            {"case_id": cases["other"]["id"], "lawful_basis": LAWFUL})
        if response.status_code == 201:          # put things back as they were
            assert api.delete(f"/api/v1/meetings/{meeting['id']}/agenda/{response.json()['id']}").status_code == 204
        return status(response)
    if action == "minutes":
        return status(api.post(f"/api/v1/meetings/{meeting['id']}/agenda/{world['item']['id']}/minutes",
                               {"discussion": "Matrix: noise continues.", "decisions": [{"text": "Keep watching"}]}))
    raise AssertionError(action)


ACTIONS = ("list", "open meeting", "open agenda case", "add to agenda", "minutes")
EXPECTED = {
    "lead":                  ("listed", "ok", "ok", "ok", "403"),
    "chair":                 ("listed", "ok", "ok", "404", "ok"),
    "attendee team":         ("listed", "ok", "ok", "403", "403"),
    "attendee organisation": ("listed", "ok", "ok", "404", "403"),
    "not invited":           ("absent", "404", "404", "404", "404"),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_meeting_access_matrix(world, who):
    got = {action: act(world, world["apis"][who], action) for action in ACTIONS}
    assert got == dict(zip(ACTIONS, EXPECTED[who]))


def test_the_agenda_shows_each_attendee_what_they_may_see(world):
    for who in ("chair", "attendee team", "attendee organisation"):
        api = world["apis"][who]
        seen = api.ok(api.get(f"/api/v1/meetings/{world['meeting']['id']}"))
        case = seen["agenda"][0]["case"]
        assert case["access"] == "full" and case["reference"] == world["cases"]["agenda"]["reference"]
        assert seen["is_chair"] is (who == "chair")


def test_an_uninvited_callers_404_is_byte_for_byte_the_one_for_no_meeting(world):
    api = world["apis"]["not invited"]
    for tail, method, body in (("", "GET", None), ("/agenda", "POST", {"case_id": str(uuid.uuid4()),
                                                                         "lawful_basis": LAWFUL}),
                               ("/cancel", "POST", None)):
        answers = []
        for meeting_id in (world["meeting"]["id"], str(uuid.uuid4())):
            response = requests.request(method, f"{world['url']}/api/v1/meetings/{meeting_id}{tail}", json=body,
                                        headers=api.headers(), timeout=15)
            answers.append((response.status_code, response.headers.get("Content-Type"), response.content))
        assert answers[0] == answers[1] and answers[0][0] == 404, answers


def test_the_case_access_list_timeline_audit_and_notifications_tell_of_the_meeting(world):
    lead, case_id, meeting = world["apis"]["lead"], world["cases"]["agenda"]["id"], world["meeting"]
    grants = [g for g in lead.ok(lead.get(f"/api/v1/cases/{case_id}/access"))["grants"] if g["source"] == "meeting"]
    dirs = world["dirs"]
    assert {(g["grantee_type"], g["grantee_id"]) for g in grants} == {
        ("team", dirs["a"].npt["id"]), ("team", dirs["b"].hub["id"]), ("organisation", dirs["c"].org["id"])}
    assert {g["source_id"] for g in grants} == {meeting["id"]} and all(g["level"] == "view" for g in grants)
    assert all("Eastside ASB panel" in g["justification"] and g["expires_at"] for g in grants)
    chair = world["apis"]["chair"]
    why = chair.ok(chair.get(f"/api/v1/cases/{case_id}/why"))
    assert "meeting" in why["explanation"]

    timeline = [e["kind"] for e in lead.ok(lead.get(f"/api/v1/cases/{case_id}/timeline"))["items"]]
    assert "agenda_added" in timeline

    def audited():
        return {e["action"] for e in lead.ok(lead.get(f"/api/v1/audit/records/cases/{case_id}"))["items"]}
    support.wait_for(lambda: {"shared", "agenda_added"} <= audited(), message="the agenda grants to be audited")

    told = world["apis"]["attendee team"]
    support.wait_for(lambda: any(n["title"] == "A case was added to a meeting's agenda" for n in
                                 told.ok(told.get("/api/v1/me/notifications"))["items"]),
                     message="the attendee team to be told")
    notes = told.ok(told.get("/api/v1/me/notifications"))["items"]
    assert not [n for n in notes if n["title"] == "Your team was given access to a case"
                and case_id in n["body"]]                                  # told once, of the agenda


def test_minutes_and_decisions_reach_the_case_timeline(world):
    chair, meeting, item = world["apis"]["chair"], world["meeting"], world["item"]
    written = chair.ok(chair.post(f"/api/v1/meetings/{meeting['id']}/agenda/{item['id']}/minutes", {
        "discussion": "Landlord to act; police to patrol.", "decisions": [{"text": "Warning letter"},
                                                                          {"text": "Review in 4 weeks"}]}), 201)
    assert [d["text"] for d in written["minutes"]["decisions"]] == ["Warning letter", "Review in 4 weeks"]
    lead = world["apis"]["lead"]
    kinds = [e["kind"] for e in lead.ok(lead.get(f"/api/v1/cases/{world['cases']['agenda']['id']}/timeline"))["items"]]
    assert kinds.count("decision") >= 2 and "minutes" in kinds
    seen = world["apis"]["attendee organisation"].get(f"/api/v1/meetings/{meeting['id']}").json()
    assert any(m["discussion"] == "Landlord to act; police to patrol." for m in seen["agenda"][0]["minutes"])


def problem(response, status, field):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    if field:
        assert field in response.json()["errors"], response.json()


def test_bad_input_is_refused_naming_the_field_and_nothing_is_half_written(world):
    chair, body = world["apis"]["chair"], world["meeting_body"]
    before = len(chair.ok(chair.get("/api/v1/meetings"))["items"])
    for changes, field in (({"kind": "tea_party"}, "kind"), ({"starts_at": "2020-05-01T10:00:00+00:00"}, "starts_at"),
                           ({"attendees": []}, "attendees"), ({"chair_team_id": str(uuid.uuid4())}, "chair_team_id"),
                           ({"attendees": [{"team_id": str(uuid.uuid4())}]}, "attendees.0.team_id")):
        problem(chair.post("/api/v1/meetings", {**body, **changes}), 422, field)
    assert len(chair.ok(chair.get("/api/v1/meetings"))["items"]) == before
    meeting, item = world["meeting"], world["item"]
    lead = world["apis"]["lead"]
    problem(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda", {"case_id": world["cases"]["other"]["id"]}),
            422, "lawful_basis")
    minutes = f"/api/v1/meetings/{meeting['id']}/agenda/{item['id']}/minutes"
    problem(chair.post(minutes, {"discussion": " "}), 422, "discussion")
    problem(chair.post(minutes, {"discussion": "ok", "decisions": [{"text": "Act", "action": {"title": "x"}}]}),
            422, "decisions.0.action.assignee")
    unseen = {"title": "Visit", "assignee": {"team_id": world["dirs"]["d"].hub["id"]}, "due": soon(10)[:10]}
    problem(chair.post(minutes, {"discussion": "ok", "decisions": [{"text": "Fine"}, {"text": "Act",
                                                                                       "action": unseen}]}),
            422, "decisions.1.action.assignee")
    problem(world["apis"]["attendee team"].post(minutes, {"discussion": "Not mine to write"}), 403, None)
    after = chair.ok(chair.get(f"/api/v1/meetings/{meeting['id']}"))["agenda"][0]["minutes"]
    assert not [m for m in after if m["discussion"] in ("ok", "Not mine to write")]


def test_after_7_days_attendees_see_only_a_signpost_and_cannot_open_the_case(world):
    lead, chair = world["apis"]["lead"], world["apis"]["chair"]
    dirs = world["dirs"]
    meeting = chair.ok(chair.post("/api/v1/meetings", {**world["meeting_body"], "title": "Last month's panel"}), 201)
    case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Expiring agenda case"}), 201)
    lead.ok(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda", {"case_id": case["id"], "lawful_basis": LAWFUL}),
            201)
    before = {who: status(world["apis"][who].get(f"/api/v1/cases/{case['id']}"))
              for who in ("chair", "attendee team", "attendee organisation", "not invited")}
    assert before == {"chair": "ok", "attendee team": "ok", "attendee organisation": "ok", "not invited": "404"}
    # The meeting was 8 days ago: its grants ran out a day ago (as the clock would have it).
    engine = create_engine(world["cases_db"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE meetings SET starts_at = now() - interval '8 days' WHERE id = :id"),
                     {"id": meeting["id"]})
        conn.execute(text("UPDATE record_grants SET expires_at = now() - interval '1 day' "
                          "WHERE source = 'meeting' AND source_id = :id"), {"id": meeting["id"]})
    engine.dispose()
    after = {who: status(world["apis"][who].get(f"/api/v1/cases/{case['id']}"))
             for who in ("lead", "chair", "attendee team", "attendee organisation", "not invited")}
    assert after == {"lead": "ok", "chair": "404", "attendee team": "404", "attendee organisation": "404",
                     "not invited": "404"}
    api = world["apis"]["attendee team"]
    seen = api.ok(api.get(f"/api/v1/meetings/{meeting['id']}"))["agenda"][0]
    assert seen["case"] == {"access": "signpost", "organisation_id": dirs["a"].org["id"]}
    assert case["reference"] not in str(seen) and "Expiring" not in str(seen)
    problem(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda",
                      {"case_id": world["cases"]["other"]["id"], "lawful_basis": LAWFUL}), 409, None)
    # The meeting's page: a signpost naming the organisation, nothing of the case.
    page = Browser(world["url"], world["people"]["attendee team"]["username"]).page(f"/meetings/{meeting['id']}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert f"A case held by {dirs['a'].org['name']}" in words
    assert case["reference"] not in page.text and "Expiring" not in page.text and case["id"] not in page.text


def test_the_meeting_pages_without_javascript(world):
    meeting = world["meeting"]
    lead = Browser(world["url"], world["people"]["lead"]["username"])
    page = lead.page(f"/meetings/{meeting['id']}")
    assert page.status_code == 200 and world["cases"]["agenda"]["reference"] in page.text
    assert world["cases"]["other"]["reference"] in page.text        # offered: her team leads it
    refused = lead.submit(f"/meetings/{meeting['id']}/agenda", {"case_id": world["cases"]["other"]["id"]})
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#lawful_basis",
                                            "Enter the lawful basis for sharing the case with the attendees")]
    assert lead.submit(f"/meetings/{meeting['id']}/agenda", {"case_id": world["cases"]["other"]["id"],
                                                             "lawful_basis": LAWFUL}, csrf=False).status_code == 403
    stranger = Browser(world["url"], world["people"]["not invited"]["username"])
    hidden, absent = stranger.page(f"/meetings/{meeting['id']}"), stranger.page(f"/meetings/{uuid.uuid4()}")
    assert hidden.status_code == absent.status_code == 404 and "Page not found" in hidden.text
    listing = text_of(stranger.page("/meetings").text)
    assert "Eastside ASB panel" not in listing and "No meetings are coming up" in listing
    chair = Browser(world["url"], world["people"]["chair"]["username"])
    empty = chair.submit(f"/meetings/{meeting['id']}/agenda/{world['item']['id']}/minutes", {"discussion": " "})
    assert empty.status_code == 422
    assert error_summary(empty.text) == [(f"#minutes-{world['item']['id']}-discussion", "Enter what was discussed")]


def test_taking_a_case_off_and_cancelling_revoke_the_attendees_access(world):
    lead, chair = world["apis"]["lead"], world["apis"]["chair"]
    partner = world["apis"]["attendee team"]
    meeting = chair.ok(chair.post("/api/v1/meetings", {**world["meeting_body"], "title": "Called-off panel"}), 201)
    case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Briefly shared case"}), 201)
    item = lead.ok(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda",
                             {"case_id": case["id"], "lawful_basis": LAWFUL}), 201)
    assert partner.get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert partner.delete(f"/api/v1/meetings/{meeting['id']}/agenda/{item['id']}").status_code == 403
    assert chair.delete(f"/api/v1/meetings/{meeting['id']}/agenda/{item['id']}").status_code == 204
    assert partner.get(f"/api/v1/cases/{case['id']}").status_code == 404
    lead.ok(lead.post(f"/api/v1/meetings/{meeting['id']}/agenda", {"case_id": case["id"], "lawful_basis": LAWFUL}),
            201)
    assert partner.get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert partner.post(f"/api/v1/meetings/{meeting['id']}/cancel").status_code == 403
    cancelled = chair.ok(chair.post(f"/api/v1/meetings/{meeting['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert partner.get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert not [g for g in lead.ok(lead.get(f"/api/v1/cases/{case['id']}/access"))["grants"]
                if g["source"] == "meeting"]


def test_a_decision_sets_an_action_on_the_case(world):
    chair, meeting, item = world["apis"]["chair"], world["meeting"], world["item"]
    partner_team = world["dirs"]["b"].hub["id"]
    written = chair.ok(chair.post(f"/api/v1/meetings/{meeting['id']}/agenda/{item['id']}/minutes", {
        "discussion": "Agreed a joint visit.", "decisions": [{"text": "Police to visit with housing", "action": {
            "title": "Joint visit to 3 Canal Wharf", "assignee": {"team_id": partner_team}, "due": soon(14)[:10]}}]}),
        201)
    action_id = written["minutes"]["decisions"][0]["action_id"]
    lead = world["apis"]["lead"]
    listed = lead.ok(lead.get(f"/api/v1/cases/{world['cases']['agenda']['id']}/actions"))["items"]
    assert [(a["id"], a["assignee"]["team_id"]) for a in listed if a["title"] == "Joint visit to 3 Canal Wharf"] == [
        (action_id, partner_team)]
    told = world["apis"]["attendee team"]
    support.wait_for(lambda: any(n["title"] == "An action was set for your team" for n in
                                 told.ok(told.get("/api/v1/me/notifications"))["items"]),
                     message="the assignee team to be told")
