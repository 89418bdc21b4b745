"""Risk assessments through the gateway: who may see, make and sign them off, as a matrix (who x what x an
unrestricted and a restricted case); bad input; the audit trail and timeline; the OpenAPI shapes; the pages.

An assessment is part of its case's file: the case's access decides. The rules of scoring are in
tests/logic/test_risk.py.
"""
import re
import uuid

import pytest

from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_case_access import client_api, grant
from tests.e2e.test_openapi import conforms, fetch
from tests.e2e.test_web_profiles import Browser, error_summary, text_of
from tests.support import unique_surname

HIGH = {"template": "matrix_5x5", "answers": {"likelihood": 5, "impact": 4}}


@pytest.fixture(scope="module")
def system_module(request):
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_risk") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    owner = Directory(url, admin)
    granted_team_org, granted_org, foreign = Directory(url, admin), Directory(url, admin), Directory(url, admin)
    people = {
        "lead practitioner": owner.user("lp", [(owner.hub, "practitioner")]),
        "lead supervisor": owner.user("ls", [(owner.hub, "supervisor")]),
        "supervisor of another team": owner.user("os", [(owner.npt, "supervisor")]),
        "granted team (view)": granted_team_org.user("gt", [(granted_team_org.hub, "supervisor")]),
        "granted organisation (edit)": granted_org.user("go", [(granted_org.npt, "supervisor")]),
        "other organisation": foreign.user("fo", [(foreign.hub, "practitioner")]),
    }
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["system admin"] = admin
    lead = apis["lead practitioner"]
    word = unique_surname()
    subject = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Risk",
                                                     "family_name": word}), 201)
    cases = {}
    for restricted in (False, True):
        case = lead.ok(lead.post("/api/v1/cases", {
            "case_type": "asb", "title": f"{word} risk case", "restricted": restricted,
            "participants": [{"profile_id": subject["id"], "role": "victim"}]}), 201)
        grant(lead, f"cases/{case['id']}", "team", granted_team_org.hub["id"], "view")
        grant(lead, f"cases/{case['id']}", "organisation", granted_org.org["id"], "edit")
        cases[restricted] = case
    apis["client of owner, cases:read"] = client_api(url, admin, owner.org["id"], ["cases:read"])
    apis["client of owner, cases:read+write"] = client_api(url, admin, owner.org["id"], ["cases:read", "cases:write"])
    apis["client without cases scopes"] = client_api(url, admin, owner.org["id"], ["profiles:read"])
    apis["client of other org, cases:read"] = client_api(url, admin, foreign.org["id"], ["cases:read"])
    return {"url": url, "apis": apis, "people": people, "cases": cases, "subject": subject, "lead": lead,
            "owner": owner, "word": word}


def outcome(response) -> str:
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


def act(api, action, world, case):
    path, lead = f"/api/v1/cases/{case['id']}", world["lead"]
    if action == "history":
        return outcome(api.get(path + "/risk-assessments"))
    if action == "assess":
        return outcome(api.post(path + "/risk-assessments", HIGH))
    if action == "sign off":
        made = lead.ok(lead.post(path + "/risk-assessments", HIGH), 201)
        return outcome(api.post(f"/api/v1/risk-assessments/{made['id']}/sign-off"))
    if action == "case risk":
        response = api.get(path)
        return response.json()["risk"]["level"] if response.status_code == 200 else str(response.status_code)
    if action == "person's cases":
        response = api.get("/api/v1/cases", params={"profile_id": world["subject"]["id"]})
        if response.status_code != 200:
            return str(response.status_code)
        found = [item for item in response.json()["items"] if item["id"] == case["id"]]
        if not found:
            return "absent"
        return found[0]["risk"]["level"] if found[0]["access"] == "full" else \
            ("signpost with risk" if "risk" in found[0] else "signpost")
    raise AssertionError(action)


ACTIONS = ("history", "assess", "sign off", "case risk", "person's cases")
# "ok" = 2xx; "high" = the newest level is shown; person's cases: (unrestricted, restricted).
EXPECTED = {
    "lead practitioner":                 ("ok", "ok", "403", "high", ("high", "high")),
    "lead supervisor":                   ("ok", "ok", "ok", "high", ("high", "high")),
    "supervisor of another team":        ("404", "404", "404", "404", ("signpost", "absent")),
    "granted team (view)":               ("ok", "403", "403", "high", ("high", "high")),
    "granted organisation (edit)":       ("ok", "ok", "403", "high", ("high", "high")),
    "other organisation":                ("404", "404", "404", "404", ("signpost", "absent")),
    "system admin":                      ("404", "404", "404", "404", ("signpost", "absent")),
    "client of owner, cases:read":       ("ok", "403", "403", "high", ("high", "high")),
    "client of owner, cases:read+write": ("ok", "ok", "403", "high", ("high", "high")),
    "client without cases scopes":       ("403", "403", "403", "403", ("403", "403")),
    "client of other org, cases:read":   ("404", "403", "403", "404", ("signpost", "absent")),
}


@pytest.mark.parametrize("restricted", [False, True], ids=["unrestricted", "restricted"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_risk_permission_matrix(world, who, restricted):
    api, case = world["apis"][who], world["cases"][restricted]
    got = {action: act(api, action, world, case) for action in ACTIONS}
    expected = dict(zip(ACTIONS, EXPECTED[who]))
    expected["person's cases"] = expected["person's cases"][1 if restricted else 0]
    assert got == expected


# -- bad input: a clear 422 naming the field, and nothing written ---------------------------------------------------
def test_bad_input_is_named_and_nothing_is_written(world):
    lead, case = world["lead"], world["cases"][False]
    path = f"/api/v1/cases/{case['id']}/risk-assessments"
    before = len(lead.ok(lead.get(path))["items"])
    iom = lead.ok(lead.post("/api/v1/cases", {"case_type": "iom", "title": "Offender case"}), 201)
    refusals = [
        (path, {"template": "crystal_ball", "answers": {}}, "template"),
        (f"/api/v1/cases/{iom['id']}/risk-assessments", {"template": "asb_vulnerability", "answers": {}}, "template"),
        (path, {"template": "matrix_5x5", "answers": {"impact": 3}}, "answers.likelihood"),
        (path, {"template": "matrix_5x5", "answers": {"likelihood": 9, "impact": 3}}, "answers.likelihood"),
        (path, {"template": "matrix_5x5", "answers": {"likelihood": "5", "impact": 3}}, "answers.likelihood"),
        (path, {**HIGH, "override": {"level": "low"}}, "override.reason"),
        (path, {**HIGH, "override": {"level": "extreme", "reason": "Because."}}, "override.level"),
        (path, {**HIGH, "subject_profile_id": str(uuid.uuid4())}, "subject_profile_id"),
        (path, {**HIGH, "review_on": "yesterday"}, "review_on"),
        (path, {"answers": HIGH["answers"]}, "template"),
        (path, {"template": "matrix_5x5"}, "answers"),
    ]
    for where, body, field in refusals:
        response = lead.post(where, body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"], (body, response.json())
    assert lead.post(path, [HIGH]).status_code == 400
    assert len(lead.ok(lead.get(path))["items"]) == before
    assert lead.ok(lead.get(f"/api/v1/cases/{iom['id']}/risk-assessments"))["items"] == []


def test_sign_off_rules(world):
    lead, case = world["lead"], world["cases"][False]
    supervisor = world["apis"]["lead supervisor"]
    own = supervisor.ok(supervisor.post(f"/api/v1/cases/{case['id']}/risk-assessments", HIGH), 201)
    refused = supervisor.post(f"/api/v1/risk-assessments/{own['id']}/sign-off")
    assert refused.status_code == 403 and "other than the assessor" in refused.json()["detail"]
    made = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/risk-assessments", HIGH), 201)
    signed = supervisor.ok(supervisor.post(f"/api/v1/risk-assessments/{made['id']}/sign-off"))
    assert signed["signed_off_by"]["id"] == world["people"]["lead supervisor"]["id"] and signed["signed_off_at"]
    assert supervisor.post(f"/api/v1/risk-assessments/{made['id']}/sign-off").status_code == 409
    nowhere = lead.post(f"/api/v1/risk-assessments/{uuid.uuid4()}/sign-off")
    hidden = world["apis"]["other organisation"].post(f"/api/v1/risk-assessments/{made['id']}/sign-off")
    assert nowhere.status_code == hidden.status_code == 404 and nowhere.content == hidden.content
    assert lead.ok(lead.get(f"/api/v1/cases/{case['id']}"))["risk"] == {
        "id": made["id"], "level": "high", "assessed_at": made["assessed_at"], "signed_off": True}

    def told():       # the lead team hears that an assessment awaits sign-off (its supervisors sign)
        items = supervisor.ok(supervisor.get("/api/v1/me/notifications"))["items"]
        return [n for n in items if n["title"] == "A risk assessment awaits sign-off"
                and (n["record"] or {}).get("id") == case["id"]] or None
    support.wait_for(told, message="the sign-off notice")


def test_an_override_is_explained_recorded_and_audited(world):
    lead, case = world["lead"], world["cases"][True]
    document = fetch(world["url"])
    templates = lead.ok(lead.get("/api/v1/risk-templates"))
    conforms(document, "cases.RiskTemplatePage", templates)
    assert {"matrix_5x5", "asb_vulnerability"} <= {t["code"] for t in templates["items"]}
    made = lead.post(f"/api/v1/cases/{case['id']}/risk-assessments", {
        "template": "matrix_5x5", "answers": {"likelihood": 2, "impact": 2}, "review_on": "2099-01-31",
        "subject_profile_id": world["subject"]["id"], "override": {"level": "medium", "reason": "New threats."}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["Location"] == f"/api/v1/risk-assessments/{body['id']}"
    conforms(document, "cases.RiskAssessment", body)
    assert (body["score"], body["computed_level"], body["level"]) == (4, "low", "medium")
    assert body["factors"] == [{"code": "likelihood", "answer": 2, "points": 2},
                               {"code": "impact", "answer": 2, "points": 2}]
    assert body["override"] == {"level": "medium", "reason": "New threats."} and body["review_on"] == "2099-01-31"
    history = lead.ok(lead.get(f"/api/v1/cases/{case['id']}/risk-assessments"))
    conforms(document, "cases.RiskAssessmentPage", history)
    assert history["items"][0]["id"] == body["id"]                      # newest first
    conforms(document, "cases.Case", lead.ok(lead.get(f"/api/v1/cases/{case['id']}")))
    timeline = [e["kind"] for e in lead.ok(lead.get(f"/api/v1/cases/{case['id']}/timeline"))["items"]]
    assert timeline[:2] == ["risk_assessed", "risk_overridden"] or timeline[:2] == ["risk_overridden",
                                                                                     "risk_assessed"]
    supervisor = world["apis"]["lead supervisor"]
    supervisor.ok(supervisor.post(f"/api/v1/risk-assessments/{body['id']}/sign-off"))

    def trail():
        items = supervisor.ok(supervisor.get(f"/api/v1/audit/records/cases/{case['id']}"))["items"]
        actions = {item["action"] for item in items}
        return actions if {"risk_assessed", "risk_overridden", "risk_signed_off"} <= actions else None
    support.wait_for(trail, message="the assessment's audit entries")


# -- the pages ---------------------------------------------------------------------------------------------------
def test_assess_on_the_pages_then_sign_off(world):
    url, case = world["url"], world["cases"][False]
    practitioner = Browser(url, world["people"]["lead practitioner"]["username"])
    page = practitioner.page(f"/cases/{case['id']}")
    assert 'id="risk"' in page.text and f'href="/cases/{case["id"]}/risk/new"' in page.text
    choose = practitioner.page(f"/cases/{case['id']}/risk/new")
    assert choose.status_code == 200 and 'name="template" type="radio" value="asb_vulnerability"' in choose.text
    form = practitioner.page(f"/cases/{case['id']}/risk/new?template=asb_vulnerability")
    assert form.status_code == 200 and form.text.count('type="radio" value="yes"') >= 10
    answers = {f"answer-{code}": "no" for code in re.findall(r'name="answer-([a-z_]+)"', form.text)}
    del answers["answer-violence"]
    answers.update({"answer-self_harm": "yes", "answer-unsafe_at_home": "yes"})
    refused = practitioner.submit(f"/cases/{case['id']}/risk", {"template": "asb_vulnerability", **answers,
                                                                "override": "yes", "override_level": "high"})
    assert refused.status_code == 422
    assert [href for href, _ in error_summary(refused.text)] == ["#answer-violence", "#override_reason"]
    answers["answer-violence"] = "yes"
    made = practitioner.submit(f"/cases/{case['id']}/risk", {"template": "asb_vulnerability", **answers,
                                                             "subject_profile_id": world["subject"]["id"]})
    assert made.status_code == 303, made.text
    result = practitioner.page(made.headers["Location"])
    words = text_of(result.text)
    assert "Risk assessed" in words and "Medium risk" in words and "Score 12" in words
    assert "Awaiting sign-off" in words and 'id="factors"' in result.text and "Sign off this assessment" not in words
    supervisor = Browser(url, world["people"]["lead supervisor"]["username"])
    assessment_path = made.headers["Location"].split("?")[0]
    assert "Sign off this assessment" in supervisor.page(assessment_path).text
    signed = supervisor.submit(assessment_path + "/sign-off", {})
    assert signed.status_code == 303
    assert "Risk assessment signed off" in text_of(supervisor.page(signed.headers["Location"]).text)
    again = supervisor.submit(assessment_path + "/sign-off", {})
    assert again.status_code == 409 and "already signed off" in again.text
    history = practitioner.page(f"/cases/{case['id']}/risk")
    assert history.status_code == 200 and f'data-assessment="{assessment_path.rsplit("/", 1)[1]}"' in history.text
    assert supervisor.submit(assessment_path + "/sign-off", {}, csrf=False).status_code in (400, 403)


def test_high_risk_shows_on_lists_for_those_who_see_the_case_and_never_on_signposts(world):
    url, case = world["url"], world["cases"][False]
    lead = world["lead"]
    lead.ok(lead.post(f"/api/v1/cases/{case['id']}/risk-assessments", HIGH), 201)
    mine = Browser(url, world["people"]["lead practitioner"]["username"])
    listed = mine.page(f"/cases?q={world['word']}")
    assert re.search(rf'data-case="{case["id"]}".*?</tr>', listed.text, re.S).group(0).count('data-risk="high"') == 1
    profile = mine.page(f"/profiles/{world['subject']['id']}")
    assert re.search(rf'data-case="{case["id"]}".*?</li>', profile.text, re.S).group(0).count('data-risk="high"') == 1
    stranger = Browser(url, world["people"]["supervisor of another team"]["username"])
    their_list = stranger.page(f"/cases?q={world['word']}")
    assert f'data-case="{case["id"]}" data-access="signpost"' in their_list.text
    assert 'data-risk="high"' not in their_list.text
    assert stranger.page(f"/cases/{case['id']}/risk").status_code == 404
    assert stranger.page(f"/cases/{case['id']}/risk/new").status_code == 404
    viewer = Browser(url, world["people"]["granted team (view)"]["username"])
    assert viewer.page(f"/cases/{case['id']}/risk").status_code == 200
    assert viewer.page(f"/cases/{case['id']}/risk/new").status_code == 403
