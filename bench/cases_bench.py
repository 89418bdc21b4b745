"""Cases benchmark: many cases, notes and participants, then the four reads practitioners make most, through the
gateway and, for comparison, the same reads in direct SQL.

  .venv/bin/python bench/cases_bench.py [--cases N] [--notes-per-case K] [--participants-per-case P]
                                        [--people M] [--samples S] [--keep]

1. Starts the five services and a gateway (`concord serve …`, bench/run.py's Cluster) on a vhost and databases
   of their own, loads the demo directory, signs in as the demo practitioner and creates M real person
   profiles (the "people" whose cases are looked up; default 50).
2. Seeds N cases (default 2,000; the issue's figure is 200,000 with --notes-per-case 10 and
   --participants-per-case 3) straight into the cases database with COPY: every case type, a realistic mix of
   priorities, ~30% closed, review dates around today, half led by the practitioner's team and half by other
   organisations' teams; K notes per case (~5% sensitive), P participants (each of the M people on 1 to 8
   cases, as a person is; the rest profiles of their own), and the timeline lines each of those writes. The
   bulk tables' secondary indexes are dropped for the COPY and built again after it. Then ANALYZE.
   (The participants' profile ids other than the M people are not in the profiles database: the profiles
   bench's million-profile data set lives in its own cluster, which this one does not reuse.)
3. Times S requests of each read through the gateway, one after another, with keep-alive: open a case
   (GET /api/v1/cases/{id}), its first timeline page, the team's open cases (GET /api/v1/cases?team_id=&status=
   open), a person's cases (GET /api/v1/profiles/{id}/cases); then the same reads as plain SQL on one
   connection (no access checks, no events, no RPC): what the service adds is the difference.
Prints p50/p95/p99 ms; figures in bench/results/cases_latest.json. Everything is removed afterwards (unless
--keep).
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import demo  # noqa: E402

RESULTS = HERE / "results" / "cases_latest.json"
CHUNK = 5000                    # cases whose participants, notes and timeline lines are copied at once
PRIORITIES = ["low"] * 2 + ["medium"] * 5 + ["high"] * 2 + ["critical"]
NOTE_KINDS = ["update"] * 5 + ["contact"] * 3 + ["meeting", "decision", "third_party"]
WORDS = ("visited", "neighbours", "reported", "noise", "threats", "agreed", "warning", "school", "attendance",
         "referral", "strategy", "meeting", "licence", "conditions", "family", "support", "housing", "officer")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--notes-per-case", type=int, default=10)
    parser.add_argument("--participants-per-case", type=int, default=3)
    parser.add_argument("--people", type=int, default=50, help="real profiles whose cases are looked up")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per read")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="leave the cluster's databases and vhost")
    return parser.parse_args(argv)


def sentence(rng, words=12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def seed(conn, rng, args, team_id, organisation_id, people, log) -> dict:
    """COPY cases, participants, notes and timeline lines; returns counts and sample ids."""
    # Drawn from a pool: composing 2,000,000 fresh sentences would cost more than copying them.
    titles = [sentence(rng, 5) for _ in range(2000)]
    texts = [sentence(rng, 30) for _ in range(5000)]
    types = conn.execute("SELECT code, reference_prefix, participant_roles, review_days FROM case_types").fetchall()
    other_orgs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(20)]
    now = datetime.now(timezone.utc)
    counters, mine, person_cases = {}, [], {pid: 0 for pid in people}
    counts = {"cases": 0, "participants": 0, "notes": 0, "timeline": 0}
    today = now.date()
    indexes = set_aside_indexes(conn)
    with conn.cursor() as cur:
        with cur.copy("COPY cases (id, reference, case_type, title, priority, status, outcome, opened_at, opened_by, "
                      "closed_at, review_due, review_notified_for, version, updated_at, owner_team_id, "
                      "owner_organisation_id, restricted) FROM STDIN") as cases_copy:
            rows = []
            for _ in range(args.cases):
                code, prefix, roles, review_days = rng.choice(types)
                opened = now - timedelta(days=rng.uniform(0, 720))
                counters[(prefix, opened.year)] = number = counters.get((prefix, opened.year), 0) + 1
                closed = rng.random() < 0.3
                ours = rng.random() < 0.5
                team, org = (team_id, organisation_id) if ours else rng.choice(other_orgs)
                case_id = str(uuid.uuid4())
                review_due = today + timedelta(days=rng.randint(-30, review_days))
                cases_copy.write_row((case_id, f"{prefix}-{opened.year}-{number:06d}", code,
                                      rng.choice(titles), rng.choice(PRIORITIES), "closed" if closed else "open",
                                      "resolved" if closed else None, opened, "bench",
                                      opened + timedelta(days=30) if closed else None, review_due,
                                      review_due if review_due <= today else None,    # past reviews were told
                                      1, opened, team, org, rng.random() < 0.1))
                rows.append((case_id, opened, roles, ours and not closed))
                if ours and not closed:
                    mine.append(case_id)
                counts["cases"] += 1
        log(f"  {counts['cases']:,} cases")
        # Each person looked up is on 1 to 8 cases, as people are (600,000 participants over a million profiles).
        on_cases = {}
        for person in people:
            for index in rng.sample(range(len(rows)), min(len(rows), rng.randint(1, 8))):
                on_cases.setdefault(index, person)
        for first in range(0, len(rows), CHUNK):      # one COPY at a time per connection: in chunks
            participants, notes, timeline = [], [], []
            for index, (case_id, opened, roles, _) in enumerate(rows[first:first + CHUNK], start=first):
                timeline.append((case_id, opened, "opened", "Case opened", "bench", "Bench", False))
                for position in range(args.participants_per_case):
                    profile_id = on_cases.get(index) if position == 0 else None
                    profile_id = profile_id or str(uuid.uuid4())
                    if profile_id in person_cases:
                        person_cases[profile_id] += 1
                    role = rng.choice(roles)
                    participants.append((str(uuid.uuid4()), case_id, profile_id, "person", "Bench Person", role,
                                         opened, "bench"))
                    timeline.append((case_id, opened, "participant_added", f"Bench Person added as {role}", "bench",
                                     "Bench", False))
                for _ in range(args.notes_per_case):
                    at = opened + timedelta(hours=rng.uniform(1, 24 * 300))
                    text, sensitive, kind = rng.choice(texts), rng.random() < 0.05, rng.choice(NOTE_KINDS)
                    notes.append((str(uuid.uuid4()), case_id, kind, text, at, at, "bench", "Bench", organisation_id,
                                  sensitive))
                    timeline.append((case_id, at, "note", f"{kind}: {text[:150]}", "bench", "Bench", sensitive))
            for statement, batch in (
                    ("COPY case_participants (id, case_id, profile_id, profile_kind, display_name, role, added_at, "
                     "added_by) FROM STDIN", participants),
                    ("COPY case_notes (id, case_id, kind, text, occurred_at, recorded_at, author_id, author_name, "
                     "author_organisation_id, sensitive) FROM STDIN", notes),
                    ("COPY case_timeline (case_id, at, kind, summary, by_id, by_name, sensitive) FROM STDIN", timeline)):
                with cur.copy(statement) as copy:
                    for row in batch:
                        copy.write_row(row)
            counts["participants"] += len(participants)
            counts["notes"] += len(notes)
            counts["timeline"] += len(timeline)
            log(f"  {min(first + CHUNK, len(rows)):,} cases: {counts['participants']:,} participants, "
                f"{counts['notes']:,} notes, {counts['timeline']:,} timeline lines")
        for (prefix, year), last in counters.items():
            cur.execute("INSERT INTO case_reference_counters (prefix, year, last) VALUES (%s, %s, %s) "
                        "ON CONFLICT (prefix, year) DO UPDATE SET last = GREATEST(case_reference_counters.last, "
                        "EXCLUDED.last)", (prefix, year, last))
    conn.commit()
    log(f"  rebuilding {len(indexes)} indexes …")
    for statement in indexes:
        conn.execute(statement)
    conn.commit()
    conn.execute("ANALYZE")
    counts["samples"] = {"mine": mine, "people": [pid for pid, n in person_cases.items() if n]}
    return counts


BULK_TABLES = ("cases", "case_participants", "case_notes", "case_timeline")


def set_aside_indexes(conn) -> list[str]:
    """Drop the bulk tables' secondary indexes (not those behind constraints) and return how to rebuild them:
    building an index once after COPY is several times cheaper than keeping it up to date row by row."""
    rows = conn.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                        "WHERE c.conname = i.indexname)", (list(BULK_TABLES),)).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return [definition for _, definition in rows]


SQL = {
    "open a case": ["SELECT * FROM cases WHERE id = %(case)s",
                    "SELECT * FROM case_participants WHERE case_id = %(case)s ORDER BY added_at, id"],
    "first timeline page": ["SELECT * FROM case_timeline WHERE case_id = %(case)s AND NOT sensitive "
                            "ORDER BY at DESC, id DESC LIMIT 51"],
    "team's open cases": ["SELECT * FROM cases WHERE owner_team_id = %(team)s AND status = 'open' "
                          "ORDER BY opened_at DESC, id LIMIT 51"],
    "a person's cases": ["SELECT c.* FROM cases c WHERE EXISTS (SELECT 1 FROM case_participants p "
                         "WHERE p.case_id = c.id AND p.profile_id = %(person)s) ORDER BY opened_at DESC, id LIMIT 51"],
}


def measure(base_url, token, conn, team_id, samples, count, rng) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"open a case": lambda s: f"/api/v1/cases/{s['case']}",
             "first timeline page": lambda s: f"/api/v1/cases/{s['case']}/timeline",
             "team's open cases": lambda s: f"/api/v1/cases?team_id={s['team']}&status=open",
             "a person's cases": lambda s: f"/api/v1/profiles/{s['person']}/cases"}
    figures = {}
    with requests.Session() as session:
        for read, path_of in paths.items():
            picks = [{"case": rng.choice(samples["mine"]), "team": team_id, "person": rng.choice(samples["people"])}
                     for _ in range(count)]
            for pick in picks[:20]:          # warm-up, unmeasured
                session.get(base_url + path_of(pick), headers=headers, timeout=60)
            timings = []
            for pick in picks:
                before = time.perf_counter()
                bench_run.expect(session.get(base_url + path_of(pick), headers=headers, timeout=60), 200)
                timings.append(time.perf_counter() - before)
            sql_timings = []
            for pick in picks:
                before = time.perf_counter()
                for statement in SQL[read]:
                    conn.execute(statement, pick).fetchall()
                sql_timings.append(time.perf_counter() - before)
            figures[read] = {"gateway": {k: round(v, 1) for k, v in bench_run.percentiles(timings).items()},
                             "sql": {k: round(v, 2) for k, v in bench_run.percentiles(sql_timings).items()}}
            g, s = figures[read]["gateway"], figures[read]["sql"]
            print(f"  {read:20} gateway p50 {g['p50_ms']:6.1f}  p95 {g['p95_ms']:6.1f}  p99 {g['p99_ms']:6.1f} ms"
                  f"   |  SQL p50 {s['p50_ms']:6.2f}  p95 {s['p95_ms']:6.2f}  p99 {s['p99_ms']:6.2f} ms", flush=True)
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
        headers = {"Authorization": f"Bearer {token}"}
        me = bench_run.expect(requests.get(f"{base}/api/v1/me", headers=headers, timeout=30), 200)
        team_id, organisation_id = me["teams"][0]["id"], me["organisation_id"]
        people = [bench_run.expect(requests.post(f"{base}/api/v1/profiles", headers=headers, timeout=30, json={
            "kind": "person", "given_name": "Bench", "family_name": f"Person{n}"}), 201)["id"]
            for n in range(args.people)]
        url = make_url(cluster.database_url).set(database=f"{cluster.prefix}_cases", drivername="postgresql")
        print(f"seeding {args.cases:,} cases with COPY …", flush=True)
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            started = time.perf_counter()
            seeded = seed(conn, rng, args, team_id, organisation_id, people, lambda line: print(line, flush=True))
            samples = seeded.pop("samples")
            seeded["seconds"] = round(time.perf_counter() - started, 1)
            print(f"seeded: {seeded}", flush=True)
            print("measuring through the gateway, then as plain SQL …", flush=True)
            reads = measure(base, token, conn, team_id, samples, args.samples, rng)
        figures = {"seeded": seeded, "reads": reads, "load_average": list(__import__("os").getloadavg())}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {RESULTS}")
        for line in cluster.problems():
            print("! " + line)
        return 0
    finally:
        if not args.keep:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
