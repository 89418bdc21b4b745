"""Bulk import benchmark: N person profiles (default 100,000) from one CSV file, rows per second, with the
duplicate check on (docs/imports.md).

  .venv/bin/python bench/import_bench.py [--rows N] [--batch B] [--profile] [--keep]

1. Creates a profiles database of its own (`concordbench_imports_<id>`) and migrates it.
2. Writes a CSV of N people (Faker en_GB names, dates of birth, an address with a UK postcode, an NHS number
   for ~60%, an alias for ~20%, a flag for ~10%, and ~2% near-duplicates of earlier rows: the same person
   under another external reference, which the duplicate check finds and the report lists).
3. Queues the import as an API client of one organisation (as `start_import` does) and runs it with the job
   runner the profiles service's timer uses (imports.run_waiting), in this process, without a broker (the
   outbox rows are written, as in the service; nothing publishes them). Rows/s = N / wall time of the run.
4. Imports the same file again: every row unchanged (rows/s of the no-op pass).
5. The floor: the same N rows COPYed straight into `profiles` (no validation, no children, no history, no
   events, no duplicate check) — what PostgreSQL alone costs on this machine.
The database is dropped afterwards (unless --keep).
"""
import argparse
import base64
import cProfile
import io
import os
import pstats
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from faker import Faker  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import migrate  # noqa: E402
from concord_common.context import Caller  # noqa: E402
from concord_common.db import make_engine, unit_of_work  # noqa: E402
from services.profiles import imports  # noqa: E402
from services.profiles.identifiers import nhs_check_digit  # noqa: E402

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "profiles" / "migrations"
HEADER = ("external_system,external_id,given_name,family_name,date_of_birth,gender,nhs_number,address_line1,"
          "address_town,address_postcode,alias_given_name,alias_family_name,flags")
OUTWARD = ["LS1", "LS6", "LS11", "BD1", "BD7", "HX1", "WF1", "WF10", "S1", "S10", "M1", "M14", "YO1", "HD1", "HG2"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def random_postcode(rng) -> str:
    """A UK postcode; about 15 people share one, as households do."""
    return f"{rng.choice(OUTWARD)} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
ORG, TEAM = str(uuid.uuid4()), str(uuid.uuid4())


class Directory:
    def team_organisation(self, team_id):
        return ORG


def nhs_number(rng) -> str:
    while True:
        first = "".join(str(rng.randint(0, 9)) for _ in range(9))
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def csv_file(rows: int, seed: int = 17) -> bytes:
    fake, rng = Faker("en_GB"), random.Random(seed)
    codes = [random_postcode(rng) for _ in range(max(1, rows // 15))]
    Faker.seed(seed)
    lines, people = [HEADER], []
    for n in range(1, rows + 1):
        if people and rng.random() < 0.02:          # a near-duplicate: the same person, another system's id
            given, family, dob, gender, nhs, line1, town, postcode = rng.choice(people)
        else:
            gender = rng.choice(["female", "male"])
            given = fake.first_name_female() if gender == "female" else fake.first_name_male()
            family = fake.last_name()
            dob = (date(1940, 1, 1) + timedelta(days=rng.randint(0, 30000))).isoformat()
            nhs = nhs_number(rng) if rng.random() < 0.6 else ""
            line1, town, postcode = f"{rng.randint(1, 300)} {fake.street_name()}", fake.city(), rng.choice(codes)
            people.append((given, family, dob, gender, nhs, line1, town, postcode))
        alias = (fake.first_name(), family) if rng.random() < 0.2 else ("", "")
        flag = rng.choice(["vulnerable_adult", "mental_health", "domestic_abuse"]) if rng.random() < 0.1 else ""
        lines.append(",".join([f"bench{'-dup' if n % 50 == 0 else ''}", f"P{n:07d}", given, family, dob, gender, nhs,
                               line1.replace(",", " "), town.replace(",", " "), postcode, alias[0], alias[1], flag]))
    return ("\n".join(lines) + "\n").encode()


def queue(engine, caller, content) -> str:
    with unit_of_work(engine, "profiles", caller, uuid.uuid4().hex) as uow:
        return imports.start_import(uow, {"content": base64.b64encode(content).decode(), "filename": "bench.csv",
                                          "kind": "profiles", "owner_team_id": TEAM}, Directory(),
                                    max_bytes=200 * 1024 * 1024)["id"]


def run(engine, batch: int, profile: bool) -> float:
    started = time.perf_counter()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    imports.run_waiting(engine, Directory(), instance="bench", batch_rows=batch)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(int(os.environ.get("TOP", "45")))
        print(out.getvalue())
    return time.perf_counter() - started


def counts(engine, import_id) -> dict:
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        job = imports.get_import(session, Caller(kind="client", id="bench", organisation_id=ORG,
                                                 scopes=("profiles:write",)), import_id)
    return {key: job[key] for key in ("status", "rows_done", "created", "updated", "unchanged", "failed")} | {
        "likely_duplicates_reported": len(job["possible_duplicates"])}


def copy_floor(url: str, rows: int) -> float:
    """COPY of N bare profile rows into the same table (then removed)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    fake = Faker("en_GB")
    data = [(str(uuid.uuid4()), "person", fake.first_name(), fake.last_name(), "1980-01-01", TEAM, ORG, "copy",
             f"C{n}") for n in range(rows)]
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        with conn.cursor().copy("COPY profiles (id, kind, given_name, family_name, date_of_birth, owner_team_id, "
                                "owner_organisation_id, external_system, external_id) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DELETE FROM profiles WHERE external_system = 'copy'")
        conn.commit()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=imports.DEFAULT_BATCH_ROWS)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first import")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    name = f"concordbench_imports_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url, MIGRATIONS)
        engine = make_engine(url, pool_size=2)
        caller = Caller(kind="client", id="bench-client", organisation_id=ORG, scopes=("profiles:write",))
        started = time.perf_counter()
        content = csv_file(args.rows)
        print(f"CSV of {args.rows} rows: {len(content) / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s")
        first = queue(engine, caller, content)
        elapsed = run(engine, args.batch, args.profile)
        print(f"first import : {elapsed:7.1f} s  {args.rows / elapsed:7.0f} rows/s  {counts(engine, first)}")
        second = queue(engine, caller, content)
        elapsed_again = run(engine, args.batch, False)
        print(f"same again   : {elapsed_again:7.1f} s  {args.rows / elapsed_again:7.0f} rows/s  "
              f"{counts(engine, second)}")
        floor = copy_floor(url, args.rows)
        print(f"COPY floor   : {floor:7.1f} s  {args.rows / floor:7.0f} rows/s  (bare profile rows, no checks)")
        print(f"target       : >= 500 rows/s with the duplicate check on -> "
              f"{'met' if args.rows / elapsed >= 500 else 'NOT met'}; cores: {os.cpu_count()}")
        engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
