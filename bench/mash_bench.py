"""MASH benchmark: the MASH dashboard and referral creation over 90 days of referrals at 10,000 a day, beside the
same work as direct SQL.

  .venv/bin/python bench/mash_bench.py [--per-day N] [--days D] [--samples S] [--keep]

1. Creates a scratch cases database (`concord_bench_mash`, on DATABASE_URL's server) and migrates it.
2. Seeds N × D referrals (default 10,000 × 90 = 900,000) with COPY, spread over the days to now, for one MASH team
   (and a tenth for a second): all older than three days decided (a 20th of them with a triage row), the last three
   days' a mix of received, triaged red/amber/green (some overdue) and decided; one research request for every
   third referral (answered unless its referral is open and drawn outstanding) across 40 teams of 12 agencies.
   Indexes are built after the COPY, then ANALYZE.
3. Times S calls each of mash.dashboard and mash.create_referral (the logic functions in a unit of work, as the
   service runs them; the subject an existing profile, the directory answered in memory), then the dashboard's
   reads and the referral's INSERT as plain SQL on one connection. Prints p50/p95/p99 ms; figures in
   bench/results/mash_latest.json. The database is dropped afterwards (unless --keep).
"""
import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from concord_common import migrate  # noqa: E402
from concord_common.context import Caller, new_request_id  # noqa: E402
from concord_common.db import make_engine, unit_of_work  # noqa: E402
from services.cases import mash  # noqa: E402

RESULTS = HERE / "results" / "mash_latest.json"
MIGRATIONS = HERE.parent / "services" / "cases" / "migrations"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NAME = "concord_bench_mash"
MASH_TEAM, OTHER_MASH, ORG = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
WORKER = Caller(kind="user", id="u-bench", organisation_id=ORG, teams=({"id": MASH_TEAM, "role": "practitioner"},),
                display_name="Bench Worker")
SUBJECT = str(uuid.uuid4())


class Directory:
    def mash_teams(self):
        return [{"id": MASH_TEAM, "name": "MASH", "organisation_id": ORG, "kind": "mash"}]


class Profiles:
    def profile(self, profile_id):
        return {"id": SUBJECT, "kind": "person", "display_name": "Bench Subject"}


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def seed(conn, rng, per_day, days, log) -> int:
    now = datetime.now(timezone.utc)
    agencies = [str(uuid.uuid4()) for _ in range(12)]
    teams = [(str(uuid.uuid4()), f"Team {n}", agencies[n % 12]) for n in range(40)]
    total, cols = per_day * days, ("id, reference, status, category, concerns, subject_profile_id, subject_name, "
                                   "subject_kind, subject_linked, referrer, referred_by_kind, referred_by_id, "
                                   "referred_by_organisation_id, referred_by_team_ids, mash_team_id, "
                                   "mash_organisation_id, received_at, recorded_at, rag, rag_rationale, triaged_at, "
                                   "respond_by, outcome, outcome_rationale, decided_at, updated_at")
    research = []
    with conn.cursor() as cur, cur.copy(f"COPY mash_referrals ({cols}) FROM STDIN") as copy:
        for n in range(total):
            received = now - timedelta(seconds=rng.uniform(0, days * 86400))
            recent = now - received < timedelta(days=3)
            status = rng.choice(("received", "triaged", "triaged", "decided")) if recent else "decided"
            rag = rng.choice(("red", "amber", "green")) if status != "received" else None
            triaged = received + timedelta(minutes=rng.uniform(10, 300)) if rag else None
            respond_by = triaged + timedelta(hours={"red": 4, "amber": 24, "green": 72}[rag]) if rag else None
            decided = min(now, triaged + timedelta(hours=rng.uniform(1, 60))) if status == "decided" else None
            referral_id = str(uuid.uuid4())
            copy.write_row((referral_id, f"MASH-B-{n:07d}", status, rng.choice(("child", "adult")), "Concerns.",
                            str(uuid.uuid4()), "Bench Person", "person", "created", json.dumps(
                                {"name": "R", "organisation": "O", "contact": "C"}), "user", "u-ref", ORG,
                            "{}", OTHER_MASH if n % 10 == 0 else MASH_TEAM, ORG, received, received, rag,
                            "Why." if rag else None, triaged, respond_by,
                            "early_help" if decided else None, "Why." if decided else None, decided,
                            decided or triaged or received))
            if n % 3 == 0:
                team = rng.choice(teams)
                open_one = status != "decided" and rng.random() < 0.7
                research.append((str(uuid.uuid4()), referral_id, OTHER_MASH if n % 10 == 0 else MASH_TEAM,
                                 team[0], team[1], team[2], "Known?",
                                 received + timedelta(hours=24), "u-bench", received,
                                 None if open_one else "nothing_known", None if open_one else received))
            if n and n % 200_000 == 0:
                log(f"  {n:,} referrals")
    with conn.cursor() as cur, cur.copy("COPY mash_research_requests (id, referral_id, mash_team_id, team_id, "
                                        "team_name, organisation_id, question, due, asked_by, asked_at, answer, "
                                        "answered_at) FROM STDIN") as copy:
        for row in research:
            copy.write_row(row)
    return total


def set_aside_indexes(conn) -> list[str]:
    rows = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN "
                        "('mash_referrals', 'mash_research_requests') AND indexname NOT LIKE '%pkey' "
                        "AND indexname NOT LIKE '%reference_key'").fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def percentiles(samples) -> dict:
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.mean(ordered), 2),
            "n": len(ordered)}


def timed(fn, count) -> dict:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


DASHBOARD_SQL = [
    "SELECT count(*) FILTER (WHERE status = 'received'), count(*) FILTER (WHERE status = 'triaged' AND rag = 'red'), "
    "count(*) FILTER (WHERE status = 'triaged' AND rag = 'amber'), count(*) FILTER (WHERE status = 'triaged' AND "
    "rag = 'green') FROM mash_referrals WHERE mash_team_id = %(team)s AND status <> 'decided'",
    "SELECT count(*) FROM mash_referrals WHERE mash_team_id = %(team)s AND status = 'decided' "
    "AND decided_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "SELECT id, reference, subject_name, rag, respond_by FROM mash_referrals WHERE mash_team_id = %(team)s "
    "AND status = 'triaged' AND respond_by < now() ORDER BY respond_by, id LIMIT 100",
    "SELECT r.organisation_id, array_agg(DISTINCT r.team_name), count(*), count(*) FILTER (WHERE r.due < now()) "
    "FROM mash_research_requests r WHERE r.mash_team_id = %(team)s AND r.answered_at IS NULL AND r.closed_at IS NULL "
    "GROUP BY r.organisation_id ORDER BY count(*) DESC",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    log = lambda message: print(message, flush=True)  # noqa: E731
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{NAME}"'))
    url = SERVER.rsplit("/", 1)[0] + "/" + NAME
    try:
        migrate.upgrade(url, MIGRATIONS)
        log(f"seeding {args.per_day * args.days:,} referrals with COPY …")
        started = time.perf_counter()
        with psycopg.connect(plain(url), autocommit=True) as conn:
            indexes = set_aside_indexes(conn)
            with conn.transaction():
                total = seed(conn, random.Random(42), args.per_day, args.days, log)
            for definition in indexes:
                conn.execute(definition)
            # What autovacuum does to a live table: statistics, and the visibility map index-only scans need.
            conn.execute("VACUUM ANALYZE mash_referrals")
            conn.execute("VACUUM ANALYZE mash_research_requests")
        seeded = time.perf_counter() - started
        log(f"seeded in {seeded:.0f} s; timing {args.samples} samples each …")
        engine = make_engine(url, pool_size=2)

        def dashboard():
            with unit_of_work(engine, "cases", WORKER, new_request_id()) as uow:
                return mash.dashboard(uow, {}, Directory())

        body = {"subject": {"profile_id": SUBJECT}, "category": "child", "concerns": "Bench concerns.",
                "referrer": {"name": "R", "organisation": "O", "contact": "C"}}

        def create():
            with unit_of_work(engine, "cases", WORKER, new_request_id()) as uow:
                return mash.create_referral(uow, body, Profiles(), Directory())

        board = dashboard()
        results = {"referrals": total, "seed_seconds": round(seeded, 1), "dashboard_answer": {
            key: board[key] for key in ("awaiting_triage", "by_rag", "decided_today")},
            "dashboard": timed(dashboard, args.samples), "create_referral": timed(create, args.samples)}
        with psycopg.connect(plain(url)) as conn:
            def dashboard_sql():
                for query in DASHBOARD_SQL:
                    conn.execute(query, {"team": MASH_TEAM}).fetchall()
                conn.commit()

            def create_sql():
                conn.execute("INSERT INTO mash_referrals (id, reference, status, category, concerns, "
                             "subject_profile_id, subject_name, subject_kind, subject_linked, referrer, "
                             "referred_by_kind, referred_by_team_ids, mash_team_id, mash_organisation_id, "
                             "received_at, recorded_at, updated_at) VALUES (%s, %s, 'received', 'child', 'x', %s, "
                             "'S', 'person', 'given', '{}', 'user', '{}', %s, %s, now(), now(), now())",
                             (str(uuid.uuid4()), f"MASH-S-{uuid.uuid4().hex[:10]}", SUBJECT, MASH_TEAM, ORG))
                conn.commit()
            results["dashboard_sql"] = timed(dashboard_sql, args.samples)
            results["create_referral_sql"] = timed(create_sql, args.samples)
        engine.dispose()
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        log(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
