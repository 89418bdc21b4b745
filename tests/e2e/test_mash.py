"""MASH referrals through the gateway (issue 15): who may do what, as a matrix of (MASH team member, asked team
member, referrer of another agency, unrelated practitioner, partner client with and without mash:refer) ×
(create, read, triage, research, answer, decide, dashboard); bad input answered 4xx naming the field, nothing
written; a partner's retried referral written once; the asked team's My actions and notifications."""
import uuid

import pytest
import requests

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_case_access import client_api
from tests.support import wait_for

ACTORS = ("mash member", "asked team member", "referrer (other agency)", "unrelated practitioner",
          "partner with mash:refer", "partner without mash:refer")
# What each actor gets; the MASH member sets up each cell's state first.
EXPECTED = {
    "create":    (201, 201, 201, 201, 201, 403),
    "read":      (200, 404, 200, 404, 403, 403),
    "triage":    (200, 404, 404, 404, 403, 403),
    "research":  (201, 404, 404, 404, 403, 403),
    "answer":    (403, 200, 404, 404, 403, 403),
    "decide":    (200, 404, 404, 404, 403, 403),
    "dashboard": (200, 403, 403, 403, 403, 403),
}


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_mash") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    council, police, school, other = (Directory(url, admin) for _ in range(4))
    mash_team = admin.ok(admin.post(f"/api/v1/organisations/{council.org['id']}/teams",
                                    {"name": "MASH", "kind": "mash"}), 201)
    assert mash_team["kind"] == "mash"
    people = {"mash member": council.user("mw", [(mash_team, "practitioner")]),
              "asked team member": police.user("pa", [(police.hub, "practitioner")]),
              "referrer (other agency)": school.user("sr", [(school.hub, "practitioner")]),
              "unrelated practitioner": other.user("up", [(other.hub, "practitioner")])}
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["partner with mash:refer"] = client_api(url, admin, school.org["id"], ["mash:refer"])
    apis["partner without mash:refer"] = client_api(url, admin, school.org["id"], ["cases:write"])
    return {"url": url, "apis": apis, "mash": mash_team, "police": police, "school": school}


def referral_body(**changes):
    return {"subject": {"given_name": "Lily", "family_name": f"Evans{uuid.uuid4().hex[:5]}",
                        "date_of_birth": "2016-04-02"},
            "category": "child", "concerns": "Bruising seen at school on Monday.",
            "referrer": {"name": "Joanne Pearson", "organisation": "Park View Academy", "contact": "0113 496 0000"},
            **changes}


def referral(world, triaged=False):
    referrer = world["apis"]["referrer (other agency)"]
    made = referrer.ok(referrer.post("/api/v1/mash/referrals", referral_body()), 201)
    if triaged:
        mash = world["apis"]["mash member"]
        mash.ok(mash.post(f"/api/v1/mash/referrals/{made['id']}/triage", {"rag": "amber", "rationale": "Unexplained."}))
    return made


def research(world, made):
    mash = world["apis"]["mash member"]
    return mash.ok(mash.post(f"/api/v1/mash/referrals/{made['id']}/research-requests", {
        "team_id": world["police"].hub["id"], "question": "Any call-outs to the home?"}), 201)


def attempt(world, api, what):
    if what == "create":
        return api.post("/api/v1/mash/referrals", referral_body())
    if what == "dashboard":
        return api.get("/api/v1/mash/dashboard")
    made = referral(world, triaged=what == "decide")
    if what == "read":
        return api.get(f"/api/v1/mash/referrals/{made['id']}")
    if what == "triage":
        return api.post(f"/api/v1/mash/referrals/{made['id']}/triage", {"rag": "red", "rationale": "Injury."})
    if what == "research":
        return api.post(f"/api/v1/mash/referrals/{made['id']}/research-requests", {
            "team_id": world["police"].hub["id"], "question": "Known?"})
    if what == "answer":
        return api.post(f"/api/v1/research-requests/{research(world, made)['id']}/respond", {"nothing_known": True})
    if what == "decide":
        return api.post(f"/api/v1/mash/referrals/{made['id']}/decision", {"outcome": "early_help",
                                                                          "rationale": "Below threshold."})
    raise AssertionError(what)


def test_the_access_matrix(world):
    got = {what: tuple(attempt(world, world["apis"][actor], what).status_code for actor in ACTORS)
           for what in EXPECTED}
    assert got == EXPECTED


def test_the_referrer_sees_only_reference_status_and_outcome(world):
    made = referral(world, triaged=True)
    referrer, mash = world["apis"]["referrer (other agency)"], world["apis"]["mash member"]
    assert made["reference"].startswith("MASH-") and made["status"] == "received" and "concerns" not in made
    mash.ok(mash.post(f"/api/v1/mash/referrals/{made['id']}/decision", {"outcome": "child_in_need",
                                                                        "rationale": "s17 assessment."}))
    seen = referrer.ok(referrer.get(f"/api/v1/mash/referrals/{made['id']}"))
    assert seen["status"] == "decided" and seen["outcome"] == "child_in_need" and "outcome_rationale" not in seen


def test_the_journey_with_research_a_case_and_notices(world):
    apis = world["apis"]
    mash, asked, referrer = apis["mash member"], apis["asked team member"], apis["referrer (other agency)"]
    made = referral(world, triaged=True)
    full = mash.ok(mash.get(f"/api/v1/mash/referrals/{made['id']}"))
    assert full["subject"]["linked"] == "created" and full["respond_by"]
    request = research(world, made)
    mine = asked.ok(asked.get("/api/v1/me/actions"))
    assert request["id"] in [item["id"] for item in mine["research_requests"]]
    shown = asked.ok(asked.get(f"/api/v1/research-requests/{request['id']}"))
    assert shown["question"] == "Any call-outs to the home?" and shown["subject_name"].startswith("Lily")
    assert shown["referral_id"] is None
    asked.ok(asked.post(f"/api/v1/research-requests/{request['id']}/respond", {"information": "Two in 2025."}))
    again = asked.post(f"/api/v1/research-requests/{request['id']}/respond", {"information": "More."})
    assert again.status_code == 409
    decided = mash.ok(mash.post(f"/api/v1/mash/referrals/{made['id']}/decision", {
        "outcome": "s47_enquiry", "rationale": "Threshold met.", "open_case": {"case_type": "exploitation"}}))
    assert decided["status"] == "decided" and decided["case_id"]
    assert decided["research_requests"][0]["information"] == "Two in 2025."
    case = mash.ok(mash.get(f"/api/v1/cases/{decided['case_id']}"))
    assert [p["display_name"] for p in case["participants"]] == [full["subject"]["display_name"]]

    def told(api, title):
        return any(n["title"] == title for n in api.ok(api.get("/api/v1/me/notifications"))["items"])
    wait_for(lambda: told(asked, "The MASH asks what your team knows"), timeout=15)
    wait_for(lambda: told(referrer, "Outcome of your MASH referral"), timeout=15)
    board = mash.ok(mash.get("/api/v1/mash/dashboard"))
    assert board["decided_today"] >= 1 and set(board["by_rag"]) == {"red", "amber", "green"}


def test_bad_input_is_named_and_writes_nothing(world):
    apis = world["apis"]
    mash, referrer = apis["mash member"], apis["referrer (other agency)"]
    before = mash.ok(mash.get("/api/v1/mash/dashboard"))["awaiting_triage"]
    for body, field in ((referral_body(subject={}), "subject.profile_id"),
                        (referral_body(category="teen"), "category"),
                        (referral_body(subject={"profile_id": str(uuid.uuid4())}), None)):
        answer = referrer.post("/api/v1/mash/referrals", body)
        if field is None:
            assert answer.status_code == 404       # a profile they may not see: as a random id
        else:
            assert answer.status_code == 422 and field in answer.json()["errors"], answer.text
    assert mash.ok(mash.get("/api/v1/mash/dashboard"))["awaiting_triage"] == before
    made = referral(world)
    path = f"/api/v1/mash/referrals/{made['id']}"
    decision = {"outcome": "early_help", "rationale": "x"}
    assert mash.post(path + "/decision", decision).status_code == 409          # before triage
    for sub, body, field in (("/triage", {"rag": "red"}, "rationale"),
                             ("/triage", {"rag": "purple", "rationale": "x"}, "rag"),
                             ("/research-requests", {"team_id": world["mash"]["id"], "question": "q"}, "team_id"),
                             ("/research-requests", {"team_id": str(uuid.uuid4()), "question": "q"}, "team_id")):
        answer = mash.post(path + sub, body)
        assert answer.status_code == 422 and field in answer.json()["errors"], (sub, answer.text)
    mash.ok(mash.post(path + "/triage", {"rag": "green", "rationale": "x"}))
    answer = mash.post(path + "/decision", {"outcome": "maybe", "rationale": "x"})
    assert answer.status_code == 422 and "outcome" in answer.json()["errors"]
    full = mash.ok(mash.get(path))
    assert full["status"] == "triaged" and full["research_requests"] == [] and len(full["triage_history"]) == 1


def test_a_partners_retried_referral_is_written_once(world):
    partner = world["apis"]["partner with mash:refer"]
    key, body = uuid.uuid4().hex, referral_body()
    def send():
        return requests.post(partner.url + "/api/v1/mash/referrals", json=body, timeout=15,
                             headers={**partner.headers(), "Idempotency-Key": key})
    first, again = partner.ok(send(), 201), partner.ok(send(), 201)
    assert again["id"] == first["id"] and again["reference"] == first["reference"]


def test_a_referral_not_yours_answers_exactly_like_one_that_does_not_exist(world):
    made = referral(world)
    stranger = world["apis"]["unrelated practitioner"]
    hidden = stranger.get(f"/api/v1/mash/referrals/{made['id']}")
    absent = stranger.get(f"/api/v1/mash/referrals/{uuid.uuid4()}")
    assert hidden.status_code == absent.status_code == 404 and hidden.json() == absent.json()
