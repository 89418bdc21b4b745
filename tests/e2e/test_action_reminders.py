"""Action reminders: the scheduled job `cases.action_reminders` (concord_common.schedule) runs once per tick across
two replicas of the cases service and across a restart; each assignee is told the day before an action is due and
once when it is overdue, never twice and never skipped."""
import uuid
from datetime import date, datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import create_engine, text

from concord_common import schedule
from concord_common.settings import SERVICE_NAMES
from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_case_reviews import _stop_or_kill
from tests.support import wait_for

JOB = "cases.action_reminders"
TICK = {"SCHEDULE_SECONDS": {JOB: 1}, "SCHEDULE_POLL_SECONDS": 0.2}


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture(scope="module")
def reminders_system(request):
    from nameko.runners import ServiceRunner

    from concord_common.runner import service_class
    amqp_uri, server = request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server")
    prefix = request.getfixturevalue("database_prefix") + "_reminders"
    port = support.free_port()
    configs = {name: support.config_for(name, amqp_uri, server, prefix, **(TICK if name == "cases" else {}))
               for name in SERVICE_NAMES}
    configs["gateway"] = support.config_for("gateway", amqp_uri, server, prefix,
                                            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    runners = {}

    def start(name, key=None):
        runner = ServiceRunner(configs[name])
        runner.add_service(service_class(name))
        runner.start()
        runners[key or name] = runner

    def stop(key):
        runners.pop(key).stop()

    try:
        for name in SERVICE_NAMES:
            start(name, "cases-1" if name == "cases" else None)
        start("cases", "cases-2")                   # a second replica of the cases service
        start("gateway")
        url = f"http://127.0.0.1:{port}"
        admin = bootstrap_admin(url, configs["permissions"])
        directory = Directory(url, admin, name=f"Leeds ASB {uuid.uuid4().hex[:6]}")
        lead = sign_in(url, directory.user("lead", [(directory.hub, "practitioner")])["username"])
        case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Reminders"}), 201)
        engine = create_engine(support.database_url_for(configs["cases"]))
        yield {"lead": lead, "team": directory.hub, "case": case, "engine": engine, "start": start, "stop": stop}
        engine.dispose()
    finally:
        list(eventlet.GreenPool().imap(_stop_or_kill, list(runners.values())))


def _count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _ticks_ran(engine):
    return _count(engine, "SELECT count(*) FROM scheduled_runs WHERE job = :job", job=JOB)


def _wait_ticks(engine, more):
    target = _ticks_ran(engine) + more
    wait_for(lambda: _ticks_ran(engine) >= target, timeout=30, message=f"{more} more ticks")


def _reminders(engine, action_id, kind=None):
    return _count(engine, "SELECT count(*) FROM outbox WHERE event_type = 'case.action_reminder_sent' "
                          "AND envelope -> 'data' -> 'action' ->> 'id' = :id "
                          "AND (CAST(:kind AS text) IS NULL OR envelope -> 'data' ->> 'reminder' = :kind)",
                  id=action_id, kind=kind)


def _action(system, title, due_in_days):
    """An action set a week ahead, then moved (in the database, as time passing would) to `due_in_days`."""
    lead, engine = system["lead"], system["engine"]
    action = lead.ok(lead.post(f"/api/v1/cases/{system['case']['id']}/actions", {
        "title": title, "assignee": {"team_id": system["team"]["id"]},
        "due": (utc_today() + timedelta(days=7)).isoformat()}), 201)
    with engine.begin() as conn:
        conn.execute(text("UPDATE case_actions SET due = :due WHERE id = :id"),
                     {"due": utc_today() + timedelta(days=due_in_days), "id": action["id"]})
    return action


def _notices(api, title):
    return [n for n in api.ok(api.get("/api/v1/me/notifications"))["items"]
            if n["kind"] == "case.action_reminder_sent" and title in n["body"]]


def test_two_replicas_remind_once_the_day_before_and_once_when_overdue(reminders_system):
    lead, engine = reminders_system["lead"], reminders_system["engine"]
    taken_before = schedule.CLAIMS.labels(JOB, "taken")._value.get()
    tomorrow = _action(reminders_system, "Due tomorrow", 1)
    overdue = _action(reminders_system, "Overdue already", -2)
    later = _action(reminders_system, "Not for a while", 5)
    wait_for(lambda: _notices(lead, "Due tomorrow") and _notices(lead, "Overdue already"), timeout=30,
             message="both reminders")
    _wait_ticks(engine, 4)                               # both replicas keep trying, tick after tick
    assert schedule.CLAIMS.labels(JOB, "taken")._value.get() > taken_before
    assert _reminders(engine, tomorrow["id"], "due_soon") == 1 and _reminders(engine, tomorrow["id"]) == 1
    assert _reminders(engine, overdue["id"], "overdue") == 1 and _reminders(engine, overdue["id"]) == 1
    assert _reminders(engine, later["id"]) == 0
    assert len(_notices(lead, "Due tomorrow")) == 1 and len(_notices(lead, "Overdue already")) == 1
    assert _notices(lead, "Overdue already")[0]["title"] == "An action is overdue"
    timeline = lead.ok(lead.get(f"/api/v1/cases/{reminders_system['case']['id']}/timeline",
                                params={"limit": "100"}))["items"]
    assert [e["kind"] for e in timeline].count("action_reminder") == 2
    mine = lead.ok(lead.get("/api/v1/me/actions", params={"overdue": "true"}))["items"]
    assert [item["id"] for item in mine] == [overdue["id"]]


def test_a_restart_neither_repeats_nor_skips(reminders_system):
    engine, start, stop = (reminders_system[key] for key in ("engine", "start", "stop"))
    told = _action(reminders_system, "Told before the restart", -1)
    wait_for(lambda: _reminders(engine, told["id"]) == 1, timeout=30, message="told before the restart")
    waiting = _action(reminders_system, "Falls overdue while down", 3)
    stop("cases-1")
    stop("cases-2")
    with engine.begin() as conn:               # it falls overdue while no replica runs
        conn.execute(text("UPDATE case_actions SET due = :due WHERE id = :id"),
                     {"due": utc_today() - timedelta(days=1), "id": waiting["id"]})
    eventlet.sleep(2.5)                        # ticks pass with nobody to run them
    start("cases", "cases-3")
    wait_for(lambda: _reminders(engine, waiting["id"]) == 1, timeout=30, message="the missed reminder told")
    _wait_ticks(engine, 3)
    assert _reminders(engine, told["id"]) == 1 and _reminders(engine, waiting["id"], "overdue") == 1
    with engine.connect() as conn:
        row = conn.execute(text("SELECT due, overdue_told_for FROM case_actions WHERE id = :id"),
                           {"id": waiting["id"]}).one()
    assert row.overdue_told_for == row.due           # what was told, kept on the action row
