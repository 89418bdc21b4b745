"""E-mail for notifications through the whole system (real broker, real PostgreSQL, a real SMTP server in its own
process: concord_common.mailcatcher): an event → the right people's e-mails arrive once, with no record content;
a mail server that is down → the e-mail waits, then arrives once; the preferences API (GET|PUT
/api/v1/me/notification-preferences: each person's own, 422s naming the field); and only the notifications service
may ask the permissions service for addresses."""
import uuid

import eventlet
import pytest
import requests
from sqlalchemy import create_engine, text

from concord_common.context import SYSTEM, Caller
from concord_common.errors import Forbidden, Unauthenticated
from concord_common.settings import SERVICE_NAMES
from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_actions import day
from tests.mail import MailCatcher
from tests.support import wait_for

SECRET = "Zebedee Quixote"
LAWFUL = "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115"
FAST = {"EMAIL_POLL_SECONDS": 0.2, "EMAIL_RETRY_SECONDS": 0.3, "EMAIL_RETRY_MAX_SECONDS": 0.5,
        "PUBLIC_URL": "https://concord.example.org",
        "SCHEDULE_SECONDS": {"notifications.email_digest": 2}, "SCHEDULE_POLL_SECONDS": 0.2}


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    from nameko.runners import ServiceRunner

    from concord_common.runner import service_class
    amqp_uri, server = request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server")
    prefix = request.getfixturevalue("database_prefix") + "_email"
    catcher = MailCatcher(tmp_path_factory.mktemp("email") / "mail").start()
    port = support.free_port()
    configs = {name: support.config_for(name, amqp_uri, server, prefix,
                                        **({"SMTP_URL": catcher.url, **FAST} if name == "notifications" else {}))
               for name in SERVICE_NAMES}
    configs["gateway"] = support.config_for("gateway", amqp_uri, server, prefix, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    runners = []
    try:
        for name in (*SERVICE_NAMES, "gateway"):
            runner = ServiceRunner(configs[name])
            runner.add_service(service_class(name))
            runner.start()
            runners.append(runner)
        url = f"http://127.0.0.1:{port}"
        admin = bootstrap_admin(url, configs["permissions"])
        directory = Directory(url, admin)
        people = {handle: directory.user(handle, [(team, "practitioner")])
                  for handle, team in (("lead", directory.hub), ("ann", directory.hub), ("bob", directory.npt),
                                       ("cara", directory.npt), ("dan", directory.npt), ("erin", directory.npt))}
        directory_db = create_engine(support.database_url_for(configs["permissions"]))
        with directory_db.begin() as conn:         # an account from before addresses were required: none
            conn.execute(text("UPDATE users SET email = NULL WHERE id = :id"), {"id": people["erin"]["id"]})
        directory_db.dispose()
        admin.ok(admin.post(f"/api/v1/users/{people['dan']['id']}/disable"), 204)
        apis = {handle: sign_in(url, person["username"]) for handle, person in people.items() if handle != "dan"}
        engine = create_engine(support.database_url_for(configs["notifications"]))
        yield {"url": url, "catcher": catcher, "people": people, "apis": apis, "directory": directory,
               "engine": engine, "configs": configs}
        engine.dispose()
    finally:
        for runner in runners:
            try:
                runner.stop()
            except Exception:
                runner.kill()
        catcher.stop()


def address(world, handle):
    return world["people"][handle].get("email") or f"{world['people'][handle]['username']}@example.org"


def mail_to(world, handle, messages=None):
    return [m for m in (messages if messages is not None else world["catcher"].messages())
            if m["To"] == address(world, handle)]


def new_case(world):
    lead = world["apis"]["lead"]
    return lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": f"{SECRET} at the Red Lion "
                                                                            f"{uuid.uuid4().hex[:6]}"}), 201)


def set_action(world, case, handle):
    lead = world["apis"]["lead"]
    return lead.ok(lead.post(f"/api/v1/cases/{case['id']}/actions", {
        "title": f"Visit {SECRET}", "assignee": {"user_id": world["people"][handle]["id"]}, "due": day(7)}), 201)


def emails_of_event(world, record_id):
    with world["engine"].connect() as conn:
        return conn.execute(text(
            "SELECT e.* FROM outgoing_emails e JOIN notifications n ON n.id = e.notification_id "
            "WHERE n.record_id = :r AND e.user_id IS NOT NULL"), {"r": record_id}).all()


def test_an_action_set_for_someone_reaches_them_once_and_names_nothing(world):
    case = new_case(world)
    before = len(world["catcher"].messages())
    set_action(world, case, "ann")
    wait_for(lambda: len(world["catcher"].messages()) > before, timeout=30)
    eventlet.sleep(1.0)                                        # anything else it would send has been sent
    new = world["catcher"].messages()[before:]
    assert [m["To"] for m in new] == [address(world, "ann")]
    raw = new[0].as_string()
    assert "Zebedee" not in raw and "Quixote" not in raw and "Red Lion" not in raw
    assert new[0]["Subject"] == "Concord: An action was set for you"
    assert f"https://concord.example.org/cases/{case['id']}" in new[0].get_content()


def test_a_case_shared_with_a_team_reaches_its_active_members_with_an_address(world):
    case = new_case(world)
    lead = world["apis"]["lead"]
    lead.ok(lead.post(f"/api/v1/cases/{case['id']}/grants", {
        "grantee_type": "team", "grantee_id": world["directory"].npt["id"], "level": "view", "lawful_basis": LAWFUL,
        "justification": "Joint work on the case"}), 201)
    wait_for(lambda: len(emails_of_event(world, case["id"])) >= 2 and
             all(row.status == "sent" for row in emails_of_event(world, case["id"])), timeout=30)
    rows = emails_of_event(world, case["id"])
    assert sorted(row.user_id for row in rows) == sorted(world["people"][h]["id"] for h in ("bob", "cara"))
    ids = {f"<{row.id}@localhost>" for row in rows}
    arrived = [m for m in world["catcher"].messages() if m["Message-ID"] in ids]
    assert sorted(m["To"] for m in arrived) == sorted(address(world, h) for h in ("bob", "cara"))
    assert not mail_to(world, "dan") and not mail_to(world, "erin")       # disabled; no address


def test_a_mail_server_that_is_down_delays_the_email_then_it_arrives_once(world):
    catcher = world["catcher"]
    case = new_case(world)
    catcher.stop()
    try:
        set_action(world, case, "ann")
        wait_for(lambda: any(row.attempts >= 2 for row in emails_of_event(world, case["id"])), timeout=30)
        [row] = emails_of_event(world, case["id"])
        assert row.status == "pending" and row.last_error
    finally:
        catcher.start()
    wait_for(lambda: [r.status for r in emails_of_event(world, case["id"])] == ["sent"], timeout=30)
    eventlet.sleep(1.0)
    [row] = emails_of_event(world, case["id"])
    assert len([m for m in catcher.messages() if m["Message-ID"] == f"<{row.id}@localhost>"]) == 1


# -- preferences ---------------------------------------------------------------------------------------------------
PREFS = "/api/v1/me/notification-preferences"


def put(api, body):
    return requests.put(api.url + PREFS, json=body, headers=api.headers(), timeout=10)


def test_preferences_default_to_immediately_and_each_person_sees_only_their_own(world):
    bob, cara = world["apis"]["bob"], world["apis"]["cara"]
    first = bob.ok(bob.get(PREFS))
    assert first["email"] == "immediate" and set(first["kinds"].values()) == {"immediate"}
    assert "actions" in first["kinds"] and "meetings" in first["kinds"]
    saved = bob.ok(put(bob, {"email": "daily", "kinds": {"security": "immediate"}}))
    assert saved["email"] == "daily" and saved["kinds"]["security"] == "immediate" and saved["kinds"]["mash"] == "daily"
    assert bob.ok(bob.get(PREFS)) == saved
    assert cara.ok(cara.get(PREFS))["email"] == "immediate"
    assert bob.ok(put(bob, {"email": "immediate"}))["kinds"]["security"] == "immediate"


@pytest.mark.parametrize("body, field", [
    ({"email": "weekly"}, "email"), ({"kinds": {"actions": "off"}}, "email"),
    ({"email": "off", "kinds": {"gossip": "off"}}, "kinds.gossip"),
    ({"email": "off", "kinds": {"actions": "hourly"}}, "kinds.actions"), ({"email": "off", "colour": "red"}, "colour")])
def test_bad_preferences_are_422_naming_the_field_and_change_nothing(world, body, field):
    cara = world["apis"]["cara"]
    before = cara.ok(cara.get(PREFS))
    response = put(cara, body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]
    assert cara.ok(cara.get(PREFS)) == before


def test_preferences_need_a_signed_in_person(world):
    assert requests.get(world["url"] + PREFS, timeout=10).status_code == 401
    assert requests.put(world["url"] + PREFS, json={"email": "off"}, timeout=10).status_code == 401
    cara = world["apis"]["cara"]
    response = requests.put(cara.url + PREFS, data="not json", headers=cara.headers(), timeout=10)
    assert response.status_code == 400


def test_off_for_a_kind_means_no_email_of_that_kind(world):
    ann = world["apis"]["ann"]
    ann.ok(put(ann, {"email": "immediate", "kinds": {"actions": "off"}}))
    try:
        case = new_case(world)
        set_action(world, case, "ann")
        wait_for(lambda: [r.status for r in emails_of_event(world, case["id"])] == ["skipped"], timeout=30)
    finally:
        ann.ok(put(ann, {"email": "immediate"}))


def test_a_daily_choice_comes_as_one_digest(world):
    cara = world["apis"]["cara"]
    cara.ok(put(cara, {"email": "daily"}))
    try:
        lead, team = world["apis"]["lead"], world["directory"].npt["id"]
        cases = [new_case(world) for _ in range(2)]
        for case in cases:
            lead.ok(lead.post(f"/api/v1/cases/{case['id']}/grants", {
                "grantee_type": "team", "grantee_id": team, "level": "view", "lawful_basis": LAWFUL,
                "justification": "Joint work on the case"}), 201)
        def digests():
            return [m for m in mail_to(world, "cara") if "daily summary" in m["Subject"]
                    and any(c["id"] in m.get_content() for c in cases)]
        wait_for(lambda: all(any(c["id"] in m.get_content() for m in digests()) for c in cases), timeout=30)
        eventlet.sleep(1.0)
        for case in cases:                          # each in exactly one digest (two ticks may split them)
            assert len([m for m in digests() if case["id"] in m.get_content()]) == 1
        assert not [m for m in mail_to(world, "cara") if "given access" in m["Subject"]
                    and any(c["id"] in m.get_content() for c in cases)]
        for case in cases:                          # Bob chose immediately: an e-mail each
            rows = emails_of_event(world, case["id"])
            assert {(r.user_id, r.status) for r in rows} == {(world["people"]["bob"]["id"], "sent"),
                                                              (world["people"]["cara"]["id"], "digested")}
        assert all("Zebedee" not in m.as_string() for m in digests())
    finally:
        cara.ok(put(cara, {"email": "immediate"}))


# -- the permissions RPC behind it ---------------------------------------------------------------------------------
def test_only_the_notifications_service_may_ask_for_addresses(world):
    config, people = world["configs"]["permissions"], world["people"]
    team = world["directory"].npt["id"]
    with support.rpc_as(config, SYSTEM, issuer="notifications") as rpc:
        answer = rpc.permissions.email_recipients([people["ann"]["id"], people["dan"]["id"]], [team])
    assert answer["users"] == [{"id": people["ann"]["id"], "email": address(world, "ann")}]
    assert sorted(m["id"] for m in answer["teams"][team]) == sorted(people[h]["id"] for h in ("bob", "cara"))
    for issuer in ("operator", "cases", "gateway"):
        with support.rpc_as(config, SYSTEM, issuer=issuer) as rpc:
            with pytest.raises(Unauthenticated):
                rpc.permissions.email_recipients([people["ann"]["id"]], [])
    admin = Caller(kind="user", id=people["lead"]["id"], organisation_id=world["directory"].org["id"],
                   roles=("system_admin",))
    with support.rpc_as(config, admin) as rpc:
        with pytest.raises(Forbidden):
            rpc.permissions.email_recipients([people["ann"]["id"]], [])
