"""The ASB toolkit through the gateway: powers, breaches and complaints as part of a case's file (an access
matrix), bad input (problem+json naming the field, nothing written), breach and Community Trigger notices, the
activations list with signposts, the timeline and audit log — and expiry by the scheduled job run once per tick
with two replicas of the cases service."""
import uuid
from datetime import date, timedelta

import eventlet
import pytest
import requests
from sqlalchemy import create_engine, text

from concord_common.runner import service_class
from concord_common.settings import SERVICE_NAMES
from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.support import unique_surname, wait_for

TICK = {"SCHEDULE_SECONDS": {"cases.powers_expire": 1}, "SCHEDULE_POLL_SECONDS": 0.2}
LAWFUL = "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115"
JUSTIFY = "Joint ASB casework agreed at the community safety partnership."


@pytest.fixture(scope="module")
def asb(request):
    amqp_uri, server = request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server")
    prefix = request.getfixturevalue("database_prefix") + "_asb"
    port = support.free_port()
    configs = {name: support.config_for(name, amqp_uri, server, prefix, **(TICK if name == "cases" else {}))
               for name in SERVICE_NAMES}
    configs["gateway"] = support.config_for("gateway", amqp_uri, server, prefix,
                                            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    runners = []
    try:
        from nameko.runners import ServiceRunner
        for name in [*SERVICE_NAMES, "cases", "gateway"]:        # two replicas of the cases service
            runner = ServiceRunner(configs[name])
            runner.add_service(service_class(name))
            runner.start()
            runners.append(runner)
        url = f"http://127.0.0.1:{port}"
        admin = bootstrap_admin(url, configs["permissions"])
        police = Directory(url, admin, name=f"West Yorkshire Police {uuid.uuid4().hex[:6]}")
        council = Directory(url, admin, name=f"Leeds City Council {uuid.uuid4().hex[:6]}")
        stranger_org = Directory(url, admin, name=f"Bradford Council {uuid.uuid4().hex[:6]}")
        people = {"lead": police.user("lead", [(police.hub, "practitioner")]),
                  "supervisor": police.user("sup", [(police.hub, "supervisor")]),
                  "other team": police.user("npt", [(police.npt, "practitioner")]),
                  "council": council.user("asb", [(council.hub, "practitioner")]),
                  "council viewer": council.user("view", [(council.npt, "practitioner")]),
                  "stranger": stranger_org.user("x", [(stranger_org.hub, "practitioner")]),
                  "org admin": police.user("oadmin", [(police.npt, "practitioner")], roles=["org_admin"])}
        apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
        apis["admin"] = admin
        engine = create_engine(support.database_url_for(configs["cases"]))
        yield {"url": url, "apis": apis, "police": police, "council": council, "engine": engine}
        engine.dispose()
    finally:
        def stop(runner):
            with eventlet.Timeout(20, False):
                runner.stop()
                return
            runner.kill()
        list(eventlet.GreenPool().imap(stop, runners))


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


def person(api, given="Ada"):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": given,
                                                 "family_name": unique_surname()}), 201)


def share(api, path, team_id, level):
    api.ok(api.post(f"{path}/grants", {"grantee_type": "team", "grantee_id": team_id, "level": level,
                                       "lawful_basis": LAWFUL, "justification": JUSTIFY}), 201)


def count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def days(n) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


@pytest.fixture(scope="module")
def shared_case(asb):
    """A police-led ASB case: the council's ASB team may edit it, its neighbourhood team may view it."""
    apis = asb["apis"]
    lead = apis["lead"]
    perp, resident = person(lead, "Sam"), person(lead, "Ada")
    case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Canal Wharf noise", "participants": [
        {"profile_id": perp["id"], "role": "perpetrator"}, {"profile_id": resident["id"], "role": "complainant"}]}),
        201)
    path = f"/api/v1/cases/{case['id']}"
    share(lead, path, asb["council"].hub["id"], "edit")
    share(lead, path, asb["council"].npt["id"], "view")
    return {"case": case, "path": path, "perp": perp, "resident": resident}


# -- access: part of the case's file ------------------------------------------------------------------------------
MATRIX = {               # who: (may view, may edit); refusals: 404 when they may not know the case, else 403
    "lead": (True, True), "supervisor": (True, True), "council": (True, True), "council viewer": (True, False),
    "other team": (False, False), "stranger": (False, False), "org admin": (False, False),
}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_access_matrix(asb, shared_case, who):
    api, (view, edit) = asb["apis"][who], MATRIX[who]
    path, lead = shared_case["path"], asb["apis"]["lead"]
    refused = 403 if view else 404
    cpw = lead.ok(lead.post(path + "/powers", {"power": "cpw", "status": "issued", "served_on": days(-1),
                                               "profile_id": shared_case["perp"]["id"]}), 201)
    for read in (path + "/powers", path + "/complaints"):
        response = api.get(read)
        assert response.status_code == (200 if view else 404), (who, read, response.text)
    writes = [
        (path + "/powers", {"power": "cpn"}, 201, "post"),
        (f"/api/v1/powers/{cpw['id']}", {"conditions": "No amplified music"}, 200, "patch"),
        (f"/api/v1/powers/{cpw['id']}/breaches", {"occurred_on": days(0), "detail": "Music at 2am"}, 201, "post"),
        (path + "/complaints", {"complainant_profile_id": shared_case["resident"]["id"], "received_on": days(-400),
                                "summary": "Music"}, 201, "post"),
    ]
    for where, body, ok, how in writes:
        response = getattr(api, how)(where, body)
        assert response.status_code == (ok if edit else refused), (who, where, response.text)
    listed = lead.ok(lead.get(path + "/powers"))["items"]
    assert next(p for p in listed if p["id"] == cpw["id"])["status"] == ("breached" if edit else "issued")


# -- bad input ------------------------------------------------------------------------------------------------------
def test_bad_input_is_a_clear_422_and_writes_nothing(asb, shared_case):
    lead, engine, path = asb["apis"]["lead"], asb["engine"], shared_case["path"]
    case_id = shared_case["case"]["id"]
    before = {table: count(engine, f"SELECT count(*) FROM {table}") for table in
              ("case_powers", "case_power_breaches", "asb_complaints", "case_timeline")}
    assert "power" in problem(lead.post(path + "/powers", {"power": "asbo"}), 422)["errors"]
    assert "status" in problem(lead.post(path + "/powers", {"power": "cpw", "status": "lapsed"}), 422)["errors"]
    assert "expires_on" in problem(lead.post(path + "/powers", {"power": "cpn", "status": "issued",
                                                                "served_on": days(-1), "expires_on": days(-5)}),
                                   422)["errors"]
    assert "profile_id" in problem(lead.post(path + "/powers", {"power": "cpw", "profile_id": str(uuid.uuid4())}),
                                   422)["errors"]
    considered = lead.ok(lead.post(path + "/powers", {"power": "civil_injunction"}), 201)
    assert "power_id" in problem(lead.post(f"/api/v1/powers/{considered['id']}/breaches",
                                           {"occurred_on": days(0), "detail": "Seen"}), 422)["errors"]
    assert "status" in problem(lead.patch(f"/api/v1/powers/{considered['id']}", {"status": "expiredish"}),
                               422)["errors"]
    assert "status" in problem(lead.patch(f"/api/v1/powers/{considered['id']}", {"status": "granted"}),
                               422)["errors"]                                      # applied for first
    assert "complainant_profile_id" in problem(lead.post(path + "/complaints", {
        "complainant_profile_id": str(uuid.uuid4()),
        "received_on": days(0), "summary": "Noise"}), 422)["errors"]
    iom = lead.ok(lead.post("/api/v1/cases", {"case_type": "iom", "title": "IOM", "participants": [
        {"profile_id": shared_case["resident"]["id"], "role": "victim"}]}), 201)
    assert "case_id" in problem(lead.post(f"/api/v1/cases/{iom['id']}/complaints", {
        "complainant_profile_id": shared_case["resident"]["id"], "received_on": days(0), "summary": "Noise"}),
        422)["errors"]
    assert lead.patch(f"/api/v1/powers/{uuid.uuid4()}", {"status": "issued"}).status_code == 404
    after = {table: count(engine, f"SELECT count(*) FROM {table}") for table in before}
    assert after == {**before, "case_powers": before["case_powers"] + 1,
                     "case_timeline": before["case_timeline"] + 3}     # the one good power; the IOM case and its person
    assert count(engine, "SELECT count(*) FROM case_powers WHERE case_id = :id", id=case_id) >= 1


# -- a power's life, the timeline, the audit log, the lead team told of a breach ------------------------------------
def test_a_power_through_its_life_is_on_the_timeline_in_the_audit_log_and_a_breach_is_told(asb, shared_case):
    lead, council, path = asb["apis"]["lead"], asb["apis"]["council"], shared_case["path"]
    cbo = lead.ok(lead.post(path + "/powers", {"power": "cbo", "status": "applied",
                                               "profile_id": shared_case["perp"]["id"]}), 201)
    assert cbo["next_statuses"] == ["granted", "refused"]
    granted = lead.ok(lead.patch(f"/api/v1/powers/{cbo['id']}", {"status": "granted", "served_on": days(-2),
                                                                 "expires_on": days(5),
                                                                 "conditions": "Not to enter Canal Wharf"}))
    assert granted["status"] == "granted" and granted["expires_on"] == days(5)
    breach = council.ok(council.post(f"/api/v1/powers/{cbo['id']}/breaches", {
        "occurred_on": days(0), "detail": "Seen on Canal Wharf", "action_taken": "Arrested"}), 201)
    assert breach["action_taken"] == "Arrested"
    kinds = [e["kind"] for e in lead.ok(lead.get(path + "/timeline", params={"limit": "100"}))["items"]]
    assert {"power_recorded", "power_updated", "power_breached"} <= set(kinds)
    wait_for(lambda: any(n["kind"] == "case.power_breached"
                         for n in lead.ok(lead.get("/api/v1/me/notifications"))["items"]), timeout=20,
             message="the lead team told of the breach")

    def audited():
        items = lead.ok(lead.get(f"/api/v1/audit/records/cases/{shared_case['case']['id']}"))["items"]
        return {"power_recorded", "power_updated", "power_breached"} <= {i["action"] for i in items}
    wait_for(audited, timeout=20, message="powers in the case's audit log")
    soon = lead.ok(lead.get("/api/v1/powers", params={"expiring_within_days": "7"}))["items"]
    assert cbo["id"] in {p["id"] for p in soon} and soon[0]["case"]["reference"]
    assert cbo["id"] not in {p["id"] for p in lead.ok(lead.get("/api/v1/powers",
                                                              params={"expiring_within_days": "3"}))["items"]}
    assert council.ok(council.get("/api/v1/powers", params={"expiring_within_days": "7"}))["items"] == []  # not lead
    assert "expiring_within_days" in problem(lead.get("/api/v1/powers", params={"expiring_within_days": "x"}),
                                             422)["errors"]


# -- expiry: the scheduled job, once per tick across two replicas --------------------------------------------------
def test_expiry_turns_powers_expired_once_across_two_replicas(asb, shared_case):
    lead, engine, path = asb["apis"]["lead"], asb["engine"], shared_case["path"]
    lapsed = lead.ok(lead.post(path + "/powers", {"power": "dispersal_direction", "status": "issued",
                                                  "served_on": days(-3), "expires_on": days(-1)}), 201)
    current = lead.ok(lead.post(path + "/powers", {"power": "cpn", "status": "issued", "served_on": days(-3),
                                                   "expires_on": days(30)}), 201)

    def status_of(power_id):
        return next(p["status"] for p in lead.ok(lead.get(path + "/powers"))["items"] if p["id"] == power_id)
    wait_for(lambda: status_of(lapsed["id"]) == "expired", timeout=30, message="the lapsed power expired")
    ticks = count(engine, "SELECT count(*) FROM scheduled_runs WHERE job = 'cases.powers_expire'")
    wait_for(lambda: count(engine, "SELECT count(*) FROM scheduled_runs WHERE job = 'cases.powers_expire'")
             >= ticks + 3, timeout=30, message="three more ticks")
    assert count(engine, "SELECT count(*) FROM outbox WHERE event_type = 'case.power_expired' "
                         "AND envelope -> 'data' -> 'power' ->> 'id' = :id", id=lapsed["id"]) == 1
    timeline = lead.ok(lead.get(path + "/timeline", params={"limit": "200"}))["items"]
    assert sum(1 for e in timeline if e["kind"] == "power_expired" and e["ref"]["id"] == lapsed["id"]) == 1
    assert status_of(current["id"]) == "issued"
    assert "status" in problem(lead.patch(f"/api/v1/powers/{lapsed['id']}", {"status": "issued"}), 422)["errors"]


# -- the Community Trigger -----------------------------------------------------------------------------------------
def test_three_complaints_across_agencies_raise_one_activation_seen_with_signposts(asb):
    apis = asb["apis"]
    lead, council, stranger = apis["lead"], apis["council"], apis["stranger"]
    resident = person(lead, "Grace")
    share(lead, f"/api/v1/profiles/{resident['id']}", asb["council"].hub["id"], "view")
    ours = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Grace: youths on the estate",
                                               "participants": [{"profile_id": resident["id"],
                                                                 "role": "complainant"}]}), 201)
    theirs = council.ok(council.post("/api/v1/cases", {"case_type": "asb", "title": "Grace: noise next door",
                                                       "participants": [{"profile_id": resident["id"],
                                                                         "role": "complainant"}]}), 201)

    def complain(api, case, n, ago):
        return api.ok(api.post(f"/api/v1/cases/{case['id']}/complaints", {
            "complainant_profile_id": resident["id"], "received_on": days(-ago), "summary": f"Complaint {n}"}), 201)
    complain(lead, ours, 1, 60)
    complain(council, theirs, 2, 30)
    third = complain(lead, ours, 3, 1)
    assert third["activation_id"]
    assert complain(council, theirs, 4, 0)["activation_id"] is None        # counted already: not a second one

    def activation(api):
        return next((a for a in api.ok(api.get("/api/v1/community-trigger/activations"))["items"]
                     if a["complainant_profile_id"] == resident["id"]), None)
    mine = activation(lead)
    assert mine["id"] == third["activation_id"] and mine["status"] == "open"
    assert mine["met_on"] == days(-1) and date.fromisoformat(mine["review_due"]).weekday() < 5
    by_access = {c["access"]: c for c in mine["cases"]}
    assert by_access["full"]["id"] == ours["id"] and by_access["full"]["reference"] == ours["reference"]
    signpost = by_access["signpost"]
    assert signpost["involved_organisations"][0]["organisation_id"] == asb["council"].org["id"]
    assert "title" not in signpost and "reference" not in signpost
    assert activation(council)["id"] == mine["id"]
    assert activation(stranger) is None and activation(apis["other team"]) is None
    assert activation(apis["org admin"]) is None
    for api in (lead, council):
        wait_for(lambda: sum(1 for n in api.ok(api.get("/api/v1/me/notifications"))["items"]
                             if n["kind"] == "case.community_trigger_activated"
                             and (n["record"] or {}).get("id") in (ours["id"], theirs["id"])) == 1, timeout=20,
                 message="each lead team told once")
    kinds = [e["kind"] for e in lead.ok(lead.get(f"/api/v1/cases/{ours['id']}/timeline"))["items"]]
    assert "community_trigger" in kinds and "complaint" in kinds
    # Withdrawing a complaint leaves the activation standing, and it says so.
    withdrawn = lead.ok(lead.post(f"/api/v1/complaints/{third['id']}/withdraw", {"reason": "Resolved by mediation"}))
    assert withdrawn["withdrawn_reason"] == "Resolved by mediation"
    assert activation(lead)["complaints_withdrawn"] == 1
    assert problem(lead.post(f"/api/v1/complaints/{third['id']}/withdraw", {"reason": "again"}), 409)


def test_only_an_organisations_admins_set_its_threshold(asb):
    apis, org = asb["apis"], asb["police"].org["id"]
    body = {"complaints": 4, "window_months": 6, "review_working_days": 15}

    def put(api, payload):
        return requests.put(f"{asb['url']}/api/v1/community-trigger/thresholds/{org}", json=payload,
                            headers=api.headers(), timeout=15)
    assert put(apis["lead"], body).status_code == 403
    assert "complaints" in problem(put(apis["org admin"], {**body, "complaints": 0}), 422)["errors"]
    assert put(apis["org admin"], body).json()["source"] == "area"
    got = apis["lead"].ok(apis["lead"].get(f"/api/v1/community-trigger/thresholds/{org}"))
    assert got["complaints"] == 4 and got["review_working_days"] == 15
    other = apis["lead"].ok(apis["lead"].get(f"/api/v1/community-trigger/thresholds/{asb['council'].org['id']}"))
    assert other == {**other, "complaints": 3, "window_months": 6, "review_working_days": 10, "source": "deployment"}
    assert apis["lead"].get("/api/v1/community-trigger/thresholds/not-an-organisation").status_code == 404


# -- the pages, as a browser without JavaScript uses them ----------------------------------------------------------
def test_the_pages_record_a_complaint_and_a_power_and_refuse_who_may_not(asb, shared_case):
    from tests.e2e.test_web_profiles import Browser, error_summary, text_of
    url, case_id, apis = asb["url"], shared_case["case"]["id"], asb["apis"]
    lead = Browser(url, apis["lead"].ok(apis["lead"].get("/api/v1/me"))["username"])
    form = lead.page(f"/cases/{case_id}/complaints/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    assert shared_case["resident"]["id"] in form.text
    empty = lead.submit(f"/cases/{case_id}/complaints/new", {})
    assert empty.status_code == 422 and [t for _, t in error_summary(empty.text)] == [
        "Select who complained", "Enter the date the complaint was received", "Enter what the complaint is about"]
    before = len(apis["lead"].ok(apis["lead"].get(shared_case["path"] + "/complaints"))["items"])
    day = date.today() - timedelta(days=500)
    fields = {"complainant_profile_id": shared_case["resident"]["id"], "received_on-day": str(day.day),
              "received_on-month": str(day.month), "received_on-year": str(day.year), "summary": "Barking dogs"}
    assert lead.submit(f"/cases/{case_id}/complaints/new", fields, csrf=False).status_code in (400, 403)
    done = lead.submit(f"/cases/{case_id}/complaints/new", fields)
    assert done.status_code == 303 and done.headers["Location"].endswith("#asb-complaints")
    assert "Barking dogs" in text_of(lead.page(f"/cases/{case_id}").text)
    assert len(apis["lead"].ok(apis["lead"].get(shared_case["path"] + "/complaints"))["items"]) == before + 1
    today = date.today()
    bad = lead.submit(f"/cases/{case_id}/powers/new", {
        "power": "cpn", "status": "issued", "served_on-day": str(today.day), "served_on-month": str(today.month),
        "served_on-year": str(today.year), "expires_on-day": "1", "expires_on-month": "1", "expires_on-year": "2020"})
    assert bad.status_code == 422 and [h for h, _ in error_summary(bad.text)] == ["#expires_on-day"]
    # A view grant sees the section without the links, and is refused a write; a stranger gets "Page not found".
    viewer = Browser(url, apis["council viewer"].ok(apis["council viewer"].get("/api/v1/me"))["username"])
    page = viewer.page(f"/cases/{case_id}")
    assert page.status_code == 200 and "ASB powers" in page.text and "Record a power" not in page.text
    assert viewer.submit(f"/cases/{case_id}/powers/new", {"power": "cpw"}).status_code == 403
    stranger = Browser(url, apis["stranger"].ok(apis["stranger"].get("/api/v1/me"))["username"])
    assert stranger.page(f"/cases/{case_id}/powers/new").status_code == 404
    assert stranger.page("/community-trigger").status_code == 200
    assert lead.page("/powers/expiring?days=abc").status_code == 422
