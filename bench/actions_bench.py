"""Actions benchmark: GET /api/v1/me/actions for a practitioner whose team holds 2,000 open actions among a
million, against the same query in direct SQL in the same run; and the reminder job's scan of a day's due actions.

  .venv/bin/python bench/actions_bench.py [--cases N] [--actions M] [--mine K] [--samples S] [--keep]

1. Starts the five services and a gateway (`concord serve …`, bench/run.py's Cluster) on a vhost and databases
   of their own, loads the demo directory and signs in as the demo practitioner (one team).
2. Seeds N cases (default 200,000) and M actions (default 1,000,000) straight into the cases database with COPY:
   half the cases led by the practitioner's team, a tenth of the rest shared with it (a team grant); K (default
   2,000) open or in-progress actions for the practitioner's team (a few set for them by name), on cases it may
   view, due from 60 days ago to 120 days ahead, plus 3,000 done or cancelled ones; the rest for 2,000 other
   teams, 60% open or in progress, due within a year either side of today. Reminders stand as if the hourly job
   had run until yesterday (past due ones told overdue, those due today told "due soon"). Indexes are built after
   the COPY, then VACUUM (ANALYZE), as autovacuum would do after a bulk load.
3. Times S requests each of GET /api/v1/me/actions (the default list: open and in progress, soonest first, with
   its counts), `?overdue=true` and `?due_this_week=true` through the gateway, then the same SELECT and counts as
   plain SQL on one connection (what the service adds is the difference).
4. Times the reminder job's work (actions.send_reminders, in a transaction of its own on the cases database, rolled
   back so it can be repeated): a day's due actions to tell, then the steady state (nothing left to tell).
Prints p50/p95/p99 ms; figures in bench/results/actions_latest.json. Everything is removed afterwards (unless
--keep).
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import demo  # noqa: E402

RESULTS = HERE / "results" / "actions_latest.json"
CHUNK = 50000
BULK_TABLES = ("cases", "case_actions", "record_grants")
TITLES = ("Visit the flat", "Call the school", "Write to the landlord", "Check licence conditions",
          "Serve a warning letter", "Arrange a joint visit", "Update the risk assessment", "Speak to the neighbours")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--mine", type=int, default=2000, help="open actions of the practitioner's team")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per read")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="leave the cluster's databases and vhost")
    return parser.parse_args(argv)


def set_aside_indexes(conn) -> list[str]:
    """Drop the bulk tables' secondary indexes (not those behind constraints); return how to rebuild them."""
    rows = conn.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                        "WHERE c.conname = i.indexname)", (list(BULK_TABLES),)).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return [definition for _, definition in rows]


def seed(conn, rng, args, user_id, team_id, organisation_id, log) -> dict:
    now = datetime.now(timezone.utc)
    today = now.date()
    other_orgs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(20)]
    other_teams = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(2000)]
    indexes = set_aside_indexes(conn)
    visible, hidden = [], []
    with conn.cursor() as cur:
        shares = []
        with cur.copy("COPY cases (id, reference, case_type, title, priority, status, opened_at, opened_by, "
                      "review_due, version, updated_at, owner_team_id, owner_organisation_id, restricted) "
                      "FROM STDIN") as copy:
            for number in range(args.cases):
                case_id = str(uuid.uuid4())
                ours = rng.random() < 0.5
                team, org = (team_id, organisation_id) if ours else rng.choice(other_orgs)
                copy.write_row((case_id, f"BEN-2026-{number:07d}", "asb", "Bench case", "medium",
                                "open", now - timedelta(days=rng.uniform(0, 700)), "bench",
                                today + timedelta(days=30), 1, now, team, org, rng.random() < 0.1))
                shared = not ours and rng.random() < 0.1
                if shared:
                    shares.append((str(uuid.uuid4()), "case", case_id, "team", team_id, organisation_id,
                                   "view", "Public task", "bench", now))
                (visible if ours or shared else hidden).append((case_id, org))
        with cur.copy("COPY record_grants (id, record_type, record_id, grantee_type, grantee_id, "
                      "grantee_organisation_id, level, lawful_basis, granted_by, granted_at) FROM STDIN") as copy:
            for share in shares:          # one COPY at a time per connection
                copy.write_row(share)
        log(f"  {args.cases:,} cases ({len(visible):,} the practitioner may view)")
        counts = {"cases": args.cases, "actions": 0, "mine_open": 0}
        columns = ("COPY case_actions (id, case_id, title, assignee_team_id, assignee_user_id, "
                   "assignee_organisation_id, assignee_name, due, priority, status, status_note, set_by, set_by_name, "
                   "set_at, updated_at, finished_at, due_soon_told_for, overdue_told_for) FROM STDIN")

        def row(case_id, team, org, user, status, due):
            finished = status in ("done", "cancelled")
            told_soon = due if (due <= today) else None                   # the job ran until yesterday
            told_overdue = due if (due < today and not finished) else None
            return (str(uuid.uuid4()), case_id, rng.choice(TITLES), team, user, org, "Bench team", due,
                    rng.choice(("low", "medium", "medium", "high")), status, "Bench." if finished else None,
                    "bench", "Bench", now, now, now if finished else None, told_soon, told_overdue)

        def status_of(active_share):
            if rng.random() < active_share:
                return "open" if rng.random() < 0.7 else "in_progress"
            return "done" if rng.random() < 0.8 else "cancelled"

        batch = []
        for n in range(args.mine + 3000):            # the practitioner's team's: K active, 3,000 finished
            case_id, _ = rng.choice(visible)
            user = user_id if n % 40 == 0 else None    # a few set for the practitioner by name
            status = status_of(1.0) if n < args.mine else status_of(0.0)
            batch.append(row(case_id, team_id, organisation_id, user, status,
                             today + timedelta(days=rng.randint(-60, 120))))
        counts["mine_open"] = args.mine
        rest = args.actions - len(batch)
        every_case = visible + hidden
        while counts["actions"] < args.actions:
            for _ in range(min(CHUNK, rest)):
                case_id, _ = rng.choice(every_case)
                team, org = rng.choice(other_teams)
                batch.append(row(case_id, team, org, None, status_of(0.6),
                                 today + timedelta(days=rng.randint(-365, 365))))
            rest -= CHUNK
            with cur.copy(columns) as copy:
                for item in batch:
                    copy.write_row(item)
            counts["actions"] += len(batch)
            batch = []
            log(f"  {counts['actions']:,} actions")
    conn.commit()
    log(f"  rebuilding {len(indexes)} indexes …")
    for statement in indexes:
        conn.execute(statement)
    conn.commit()
    # VACUUM as autovacuum would soon after a bulk load: it sets the visibility map the index-only scans rely on.
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE) cases, case_actions, record_grants")
    conn.autocommit = False
    return counts


VISIBLE = ("(c.owner_team_id = ANY(%(teams)s) OR EXISTS (SELECT 1 FROM record_grants g WHERE g.record_type = 'case' "
           "AND g.record_id = c.id AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > now()) AND "
           "((g.grantee_type = 'team' AND g.grantee_id = ANY(%(teams)s)) OR (g.grantee_type = 'user' AND "
           "g.grantee_id = %(user)s) OR (g.grantee_type = 'organisation' AND g.grantee_id = %(org)s))))")
# What actions.my_actions runs, for a practitioner in one team: one branch for them by name, one for their team.
SOURCES = ("a.assignee_user_id = %(user)s", "a.assignee_user_id IS NULL AND a.assignee_team_id = %(team)s")
ACTIVE = "a.status IN ('open', 'in_progress')"
FILTERS = {"list": ACTIVE, "overdue": f"{ACTIVE} AND a.due < %(today)s",
           "due this week": f"{ACTIVE} AND a.due >= %(today)s AND a.due <= %(sunday)s"}
BRANCH = ("(SELECT a.*, c.reference, c.owner_team_id, c.owner_organisation_id FROM case_actions a JOIN cases c "
          "ON c.id = a.case_id WHERE {source} AND {visible} AND {filter} ORDER BY a.due, a.id LIMIT 51)")
PAGE = "SELECT * FROM ({}) AS mine ORDER BY due, id LIMIT 51"
COUNTS = ("SELECT count(*), count(*) FILTER (WHERE due < %(today)s), count(*) FILTER (WHERE due >= %(today)s AND "
          "due <= %(sunday)s) FROM ({}) AS mine")
# Counts: actions on cases the practitioner's teams lead, from the index (the lead team copied beside each action,
# migration 0012); the rest checked against the case and its grants.
COUNT_BRANCH = ("(SELECT a.due FROM case_actions a WHERE {source} AND {active} AND a.case_owner_team_id = ANY(%(teams)s)) "
                "UNION ALL (SELECT a.due FROM case_actions a JOIN cases c ON c.id = a.case_id WHERE {source} AND "
                "{active} AND {visible} AND (a.case_owner_team_id IS NULL OR NOT a.case_owner_team_id = ANY(%(teams)s)))")


def page_sql(read):
    return PAGE.format(" UNION ALL ".join(BRANCH.format(source=source, visible=VISIBLE, filter=FILTERS[read])
                                          for source in SOURCES))


def counts_sql():
    return COUNTS.format(" UNION ALL ".join(COUNT_BRANCH.format(source=source, visible=VISIBLE, active=ACTIVE)
                                            for source in SOURCES))


QUERIES = {"list": "", "overdue": "?overdue=true", "due this week": "?due_this_week=true"}


def measure(base_url, token, conn, params, count) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    with requests.Session() as session:
        for read, query in QUERIES.items():
            for _ in range(20):             # warm-up, unmeasured
                session.get(f"{base_url}/api/v1/me/actions{query}", headers=headers, timeout=60)
            timings, found = [], None
            for _ in range(count):
                before = time.perf_counter()
                found = bench_run.expect(session.get(f"{base_url}/api/v1/me/actions{query}", headers=headers,
                                                     timeout=60), 200)
                timings.append(time.perf_counter() - before)
            statements = [page_sql(read), counts_sql()]
            sql_timings = []
            for _ in range(count):
                before = time.perf_counter()
                rows = [conn.execute(statement, params).fetchall() for statement in statements]
                sql_timings.append(time.perf_counter() - before)
            assert len(rows[0]) == min(51, len(rows[0])) and rows[1][0][0] == found["counts"]["active"], \
                (rows[1], found["counts"])
            figures[read] = {"gateway": {k: round(v, 1) for k, v in bench_run.percentiles(timings).items()},
                             "sql": {k: round(v, 2) for k, v in bench_run.percentiles(sql_timings).items()},
                             "counts": found["counts"], "page": len(found["items"])}
            g, s = figures[read]["gateway"], figures[read]["sql"]
            print(f"  {read:14} gateway p50 {g['p50_ms']:6.1f}  p95 {g['p95_ms']:6.1f}  p99 {g['p99_ms']:6.1f} ms"
                  f"   |  SQL p50 {s['p50_ms']:6.2f}  p95 {s['p95_ms']:6.2f}  p99 {s['p99_ms']:6.2f} ms", flush=True)
    for name, statement in (("plan", page_sql("list")), ("counts_plan", counts_sql())):
        figures[name] = [line for (line,) in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)]
    return figures


def hold_reminder_ticks(conn, hours=6) -> None:
    """Claim the reminder job's next ticks for the bench (concord_common.schedule: a tick claimed is not run), so
    the cluster's own cases service does not tell today's reminders on the hour while we measure."""
    from concord_common.schedule import tick_at
    now = datetime.now(timezone.utc)
    for hour in range(1, hours + 1):
        conn.execute("INSERT INTO scheduled_runs (job, tick, ran_by) VALUES ('cases.action_reminders', %s, 'bench') "
                     "ON CONFLICT DO NOTHING", (tick_at(now, 3600) + timedelta(hours=hour),))
    conn.commit()


def time_reminders(database_url, runs=5) -> dict:
    """send_reminders as the job runs it, in a transaction rolled back after each run (so each run has the same
    day to tell); then once committed, and the steady state after it (nothing left to tell)."""
    from concord_common.context import SYSTEM, new_request_id
    from concord_common.db import make_engine, unit_of_work
    from concord_common.schedule import Tick
    from services.cases import actions
    engine = make_engine(database_url, pool_size=1)
    tick = Tick(actions.ACTION_REMINDERS.name, datetime.now(timezone.utc), None)
    figures = {"day": [], "told": None, "steady": []}

    class Rollback(Exception):
        pass
    try:
        for _ in range(runs):
            before = time.perf_counter()
            try:
                with unit_of_work(engine, "cases", SYSTEM, new_request_id()) as uow:
                    figures["told"] = actions.send_reminders(uow, tick)
                    uow.session.flush()
                    figures["day"].append(round((time.perf_counter() - before) * 1000, 1))
                    raise Rollback()
            except Rollback:
                pass
        before = time.perf_counter()
        with unit_of_work(engine, "cases", SYSTEM, new_request_id()) as uow:
            actions.send_reminders(uow, tick)
        figures["committed_ms"] = round((time.perf_counter() - before) * 1000, 1)
        for _ in range(runs):
            before = time.perf_counter()
            with unit_of_work(engine, "cases", SYSTEM, new_request_id()) as uow:
                assert actions.send_reminders(uow, tick) == 0
            figures["steady"].append(round((time.perf_counter() - before) * 1000, 1))
    finally:
        engine.dispose()
    print(f"  reminders: {figures['told']:,} to tell today: {figures['day']} ms (rolled back); committed "
          f"{figures['committed_ms']} ms; then nothing to tell: {figures['steady']} ms", flush=True)
    return figures


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    cluster = bench_run.Cluster()
    try:
        cluster.start_all()
        base = cluster.gateway_url
        token = bench_run.expect(requests.post(f"{base}/api/v1/sessions", json={
            "username": demo.DEMO_SIGN_IN, "password": demo.DEMO_PASSWORD}, timeout=30), 201)["token"]
        me = bench_run.expect(requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                                           timeout=30), 200)
        user_id, team_id, organisation_id = me["id"], me["teams"][0]["id"], me["organisation_id"]
        url = make_url(cluster.database_url).set(database=f"{cluster.prefix}_cases", drivername="postgresql")
        print(f"seeding {args.cases:,} cases and {args.actions:,} actions with COPY …", flush=True)
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            started = time.perf_counter()
            seeded = seed(conn, rng, args, user_id, team_id, organisation_id, lambda line: print(line, flush=True))
            seeded["seconds"] = round(time.perf_counter() - started, 1)
            hold_reminder_ticks(conn)
            print(f"seeded: {seeded}", flush=True)
            today = datetime.now(timezone.utc).date()
            conn.execute("SET max_parallel_workers_per_gather = 0")      # as the service sets for these reads
            params = {"user": user_id, "team": team_id, "teams": [team_id], "org": organisation_id, "today": today,
                      "sunday": today + timedelta(days=6 - today.weekday())}
            print("measuring GET /api/v1/me/actions through the gateway, then as plain SQL …", flush=True)
            reads = measure(base, token, conn, params, args.samples)
        print("timing the reminder job's work …", flush=True)
        reminders = time_reminders(url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
        figures = {"seeded": seeded, "reads": reads, "reminders": reminders, "load_average": list(os.getloadavg())}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2, default=str))
        print(f"figures written to {RESULTS}")
        for line in cluster.problems():
            print("! " + line)
        return 0
    finally:
        if not args.keep:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
