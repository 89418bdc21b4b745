"""Review due: the scheduled job `cases.review_due` (concord_common.schedule) runs once per tick across replicas
and across a restart, and the lead team of a case whose review falls due is told once per review date."""
import uuid
from datetime import date, datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from concord_common import schedule
from concord_common.runner import service_class
from concord_common.settings import SERVICE_NAMES
from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.support import wait_for

TICK = {"SCHEDULE_SECONDS": {"cases.review_due": 1}, "SCHEDULE_POLL_SECONDS": 0.2}



def utc_today() -> date:
    return datetime.now(timezone.utc).date()


# -- the claim, on a database of its own (no broker) ---------------------------------------------------------
@pytest.fixture
def schedule_engine(database_server, database_prefix):
    from concord_common import migrate
    url = support.database_url_for({"DATABASE_URL": database_server,
                                    "DATABASE_NAME": f"{database_prefix}_schedule"})
    migrate.ensure_database(url)
    engine = create_engine(url)
    schedule.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_a_tick_is_claimed_once_however_many_replicas_try(schedule_engine):
    job = schedule.Job(f"test.{uuid.uuid4().hex[:8]}", seconds=60)
    now = datetime(2026, 3, 2, 10, 30, 5, tzinfo=timezone.utc)
    first = Session(schedule_engine)
    tick = schedule.claim(first, job, now=now, by="replica-1")
    assert tick.at == datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc) and tick.previous is None
    # Another replica at the same moment waits for the first's transaction, then finds the tick taken.
    second = eventlet.spawn(lambda: _claim_and_commit(schedule_engine, job, now + timedelta(seconds=20), "replica-2"))
    eventlet.sleep(0.3)
    assert not second.dead
    first.commit()
    assert second.wait() is None
    # A restarted replica (a new engine, a new process) does not repeat it either.
    restarted = create_engine(schedule_engine.url)
    try:
        assert _claim_and_commit(restarted, job, now + timedelta(seconds=50), "replica-3") is None
    finally:
        restarted.dispose()


def test_a_failed_run_leaves_its_tick_to_the_next_try_and_a_downtime_is_caught_up(schedule_engine):
    job = schedule.Job(f"test.{uuid.uuid4().hex[:8]}", seconds=60)
    now = datetime(2026, 3, 2, 11, 0, 1, tzinfo=timezone.utc)
    assert _claim_and_commit(schedule_engine, job, now, "replica-1").previous is None
    with Session(schedule_engine) as failing:
        assert schedule.claim(failing, job, now=now + timedelta(minutes=1), by="replica-1") is not None
        failing.rollback()                                           # the work failed: nothing claimed
    retried = _claim_and_commit(schedule_engine, job, now + timedelta(minutes=1, seconds=30), "replica-2")
    assert retried.at == datetime(2026, 3, 2, 11, 1, tzinfo=timezone.utc)
    assert retried.previous == datetime(2026, 3, 2, 11, 0, tzinfo=timezone.utc)
    # No replica ran for three hours: the next run is given the whole window since the last tick that ran.
    later = _claim_and_commit(schedule_engine, job, now + timedelta(hours=3), "replica-1")
    assert later.previous == retried.at and later.at == datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


def _claim_and_commit(engine, job, now, by):
    with Session(engine) as session:
        tick = schedule.claim(session, job, now=now, by=by)
        session.commit()
        return tick


# -- review due, with two replicas of the cases service ---------------------------------------------------------
@pytest.fixture(scope="module")
def reviews_system(request):
    amqp_uri, server = request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server")
    prefix = request.getfixturevalue("database_prefix") + "_reviews"
    port = support.free_port()
    configs = {name: support.config_for(name, amqp_uri, server, prefix, **(TICK if name == "cases" else {}))
               for name in SERVICE_NAMES}
    configs["gateway"] = support.config_for("gateway", amqp_uri, server, prefix,
                                            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    runners = {}

    def start(name, key=None):
        from nameko.runners import ServiceRunner
        runner = ServiceRunner(configs[name])
        runner.add_service(service_class(name))
        runner.start()
        runners[key or name] = runner
        return runner

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
        engine = create_engine(support.database_url_for(configs["cases"]))
        yield {"url": url, "lead": lead, "engine": engine, "start": start, "stop": stop, "runners": runners}
        engine.dispose()
    finally:
        list(eventlet.GreenPool().imap(_stop_or_kill, list(runners.values())))


def _stop_or_kill(runner):
    # A replica started after others of its service stopped in this process sometimes never finishes
    # unregistering its RPC consumer when stopped (nameko); it has done its work by then: kill it. A clean stop
    # here takes well under a second, so 5 s is ample and the module does not wait 20 s for the one that hangs.
    with eventlet.Timeout(5, False):
        runner.stop()
        return
    runner.kill()


def _open_case_due(api, days_ago=1, title="Noise, Canal Wharf"):
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": title}), 201)
    due = (utc_today() - timedelta(days=days_ago)).isoformat()
    return api.ok(api.patch(f"/api/v1/cases/{case['id']}", {"review_due": due},
                            headers={"If-Match": str(case["version"])}))


def _review_notices(api, reference):
    return [n for n in api.ok(api.get("/api/v1/me/notifications"))["items"]
            if n["kind"] == "case.review_due" and reference in n["body"]]


def _count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _ticks_ran(engine):
    return _count(engine, "SELECT count(*) FROM scheduled_runs WHERE job = 'cases.review_due'")


def _events_for(engine, case_id):
    return _count(engine, "SELECT count(*) FROM outbox WHERE event_type = 'case.review_due' "
                          "AND envelope -> 'data' -> 'record' ->> 'id' = :id", id=case_id)


def _wait_ticks(engine, more):
    target = _ticks_ran(engine) + more
    wait_for(lambda: _ticks_ran(engine) >= target, timeout=30, message=f"{more} more ticks")


def test_two_replicas_tell_the_lead_team_once_per_case_per_review_date(reviews_system):
    lead, engine = reviews_system["lead"], reviews_system["engine"]
    taken_before = schedule.CLAIMS.labels("cases.review_due", "taken")._value.get()
    cases = [_open_case_due(lead, days_ago=n, title=f"Review test {n}") for n in (0, 1, 5)]
    for case in cases:
        wait_for(lambda: _review_notices(lead, case["reference"]), timeout=30,
                 message=f"a review-due notice for {case['reference']}")
    _wait_ticks(engine, 4)                                   # both replicas keep trying, tick after tick
    assert schedule.CLAIMS.labels("cases.review_due", "taken")._value.get() > taken_before
    for case in cases:
        assert len(_review_notices(lead, case["reference"])) == 1
        assert _events_for(engine, case["id"]) == 1
        timeline = lead.ok(lead.get(f"/api/v1/cases/{case['id']}/timeline"))["items"]
        assert [e["kind"] for e in timeline].count("review_due") == 1
    # A case not yet due is not told; a new review date is told again when it falls due.
    later = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Not yet due"}), 201)
    _wait_ticks(engine, 2)
    assert _events_for(engine, later["id"]) == 0
    moved = lead.ok(lead.patch(f"/api/v1/cases/{cases[0]['id']}", {"review_due": utc_today().isoformat()},
                               headers={"If-Match": str(cases[0]["version"])}))
    assert moved["review_due"] == utc_today().isoformat()
    wait_for(lambda: _events_for(engine, cases[0]["id"]) == 1, timeout=5)    # the same date: not again
    moved = lead.ok(lead.patch(f"/api/v1/cases/{cases[0]['id']}",
                               {"review_due": (utc_today() - timedelta(days=2)).isoformat()},
                               headers={"If-Match": str(moved["version"])}))
    wait_for(lambda: _events_for(engine, cases[0]["id"]) == 2, timeout=30, message="the new review date told")


def test_a_restart_neither_repeats_nor_skips(reviews_system):
    lead, engine, start, stop = (reviews_system[key] for key in ("lead", "engine", "start", "stop"))
    told = _open_case_due(lead, days_ago=3, title="Told before the restart")
    wait_for(lambda: _events_for(engine, told["id"]) == 1, timeout=30, message="told before the restart")
    waiting = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Falls due while down"}), 201)
    stop("cases-1")
    stop("cases-2")
    last_tick = _count(engine, "SELECT max(tick) FROM scheduled_runs WHERE job = 'cases.review_due'")
    with engine.begin() as conn:            # its review falls due while no replica runs
        conn.execute(text("UPDATE cases SET review_due = current_date - 1 WHERE id = :id"), {"id": waiting["id"]})
    eventlet.sleep(2.5)                     # ticks pass with nobody to run them
    start("cases", "cases-3")
    wait_for(lambda: _events_for(engine, waiting["id"]) == 1, timeout=30, message="the missed review told")
    _wait_ticks(engine, 3)
    assert _events_for(engine, told["id"]) == 1 and _events_for(engine, waiting["id"]) == 1
    with engine.connect() as conn:
        ticks = [row.tick for row in conn.execute(text(
            "SELECT tick FROM scheduled_runs WHERE job = 'cases.review_due' AND tick > :last ORDER BY tick"),
            {"last": last_tick})]
    assert ticks and (ticks[0] - last_tick).total_seconds() >= 2       # the downtime's ticks: one catch-up run
    assert len(ticks) == len(set(ticks))
    assert len(_review_notices(lead, waiting["reference"])) == 1
