"""Profiles benchmark: N realistic UK person profiles, then search and duplicate-matching latency through the gateway.

  .venv/bin/python bench/profiles_bench.py [--profiles N] [--searches S] [--keep]

1. Starts the five services and a gateway (`concord serve …`) on a vhost and databases of their own
   (bench/run.py's Cluster), loads the demo directory and signs in as a demo practitioner.
2. Seeds N person profiles (default 1,000,000) straight into the profiles database with COPY: Faker
   en_GB names, dates of birth, genders, 1-2 addresses with UK postcodes, aliases (~25%), NHS numbers
   (~60%), NI numbers and PNC ids, near-duplicates (~3%: a typo in the name, same date of birth, the
   same NHS number or none), families of 2-5 sharing a surname (~30% of people) and flags. Half the
   profiles are led by the demo practitioner's team, half by other organisations' teams (so searches
   return signposts too). The search indexes are dropped for the load and rebuilt afterwards, then
   ANALYZE.
3. Times S searches of each kind, one after another, through the gateway: name, misspelt name (a typo in
   each word: a letter dropped, doubled or two swapped), name + date of birth, postcode, identifier (NHS
   number). Reports p50/p95/p99 ms, and the result quality: how often the sought profile is on the first
   page ("in page 1") and how often it is the first result ("first"; what matters for name + date of
   birth and identifier, which must rank first). A postcode page holds 50 of the ~65 people at a postcode.
4. Duplicate matching through the gateway, S of each: `GET …/matches` on profiles that have a seeded
   near-duplicate (found = it is listed), and `POST /api/v1/profiles` of a person like a sample with a typo
   in the given name and the same date of birth (found = the sample is in `possible_duplicates`).
Then (issue 18) a profile read, a name search and a misspelt-name search through the gateway, each interleaved with
the same statements as plain SQL (bench/sql_floor.py: captured from the service's own logic, replayed on one
connection) with the ratio at p50; and (issue 15) `POST /api/v1/mash/referrals` about a person given by name and
date of birth, by a MASH practitioner (found = linked to the sample the near-duplicate was made from).
Everything it creates is removed afterwards (unless --keep).
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do
sys.path.insert(0, str(HERE))
import sql_floor  # noqa: E402

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import date, timedelta  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
from faker import Faker  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import demo, demo_mash  # noqa: E402
from concord_common.context import Caller  # noqa: E402
from services.profiles import profiles as profiles_logic, search  # noqa: E402
from services.profiles.identifiers import nhs_check_digit  # noqa: E402

RESULTS = HERE / "results" / "profiles_latest.json"
HEAVY_INDEXES = {
    "profiles_search_name_trgm": "CREATE INDEX profiles_search_name_trgm ON profiles USING gin (search_name gin_trgm_ops)",
    "profiles_phonetic": "CREATE INDEX profiles_phonetic ON profiles (dmetaphone(family_name), dmetaphone(given_name))",
    "profile_aliases_search_name_trgm": "CREATE INDEX profile_aliases_search_name_trgm ON profile_aliases "
                                        "USING gin (search_name gin_trgm_ops)",
    "profile_aliases_phonetic": "CREATE INDEX profile_aliases_phonetic ON profile_aliases "
                                "(dmetaphone(family_name), dmetaphone(given_name))",
    "profile_identifiers_value": "CREATE INDEX profile_identifiers_value ON profile_identifiers (value)",
    "profile_addresses_postcode": "CREATE INDEX profile_addresses_postcode ON profile_addresses (postcode)",
}


CHILD_COPIES = {
    "aliases": "COPY profile_aliases (profile_id, given_name, family_name) FROM STDIN",
    "identifiers": "COPY profile_identifiers (profile_id, scheme, value) FROM STDIN",
    "addresses": "COPY profile_addresses (profile_id, line1, town, postcode, from_date, to_date) FROM STDIN",
    "flags": "COPY profile_flags (profile_id, flag, set_by) FROM STDIN",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000, help="person profiles to seed (default 1000000)")
    parser.add_argument("--searches", type=int, default=200, help="searches of each kind (default 200)")
    parser.add_argument("--seed", type=int, default=5, help="random seed")
    parser.add_argument("--keep", action="store_true", help="leave the processes, vhost and databases")
    return parser.parse_args(argv)


def nhs_number(rng) -> str:
    while True:
        first = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def typo(rng, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1:]                       # a letter dropped
    if kind == 1:
        return word[:i] + word[i] + word[i:]                 # a letter doubled
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]   # two letters swapped


class Seeder:
    def __init__(self, n, rng, own_team, own_org):
        self.n, self.rng, self.own_team, self.own_org = n, rng, own_team, own_org
        fake = Faker("en_GB")
        fake.seed_instance(rng.random())
        provider = fake.provider("faker.providers.person")
        self.female = list(provider.first_names_female)
        self.male = list(provider.first_names_male)
        self.surnames = list(provider.last_names)
        self.postcodes = [fake.postcode() for _ in range(20_000)]
        self.streets = [fake.street_address().replace("\n", " ") for _ in range(20_000)]
        self.towns = [fake.city() for _ in range(2_000)]
        self.other_teams = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(200)]
        self.samples = []           # (given, family, dob, postcode, nhs, id) of profiles led by our team
        self.near_duplicates = []   # (original id, near-duplicate id), the original led by our team

    def rows(self):
        rng, today = self.rng, date.today()
        previous, previous_own = None, False
        family_left, surname = 0, None
        for index in range(self.n):
            pid = str(uuid.uuid4())
            near = bool(previous) and rng.random() < 0.03
            if near:                                  # a near-duplicate of the one before
                given, family, dob, gender = typo(rng, previous[1]), previous[2], previous[3], previous[4]
                if previous_own and len(self.near_duplicates) < 20_000:
                    self.near_duplicates.append((previous[0], pid))
            else:
                if family_left == 0:
                    surname = rng.choice(self.surnames)
                    family_left = rng.choice([1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
                family_left -= 1
                family = surname
                gender = rng.choice(("female", "male"))
                given = rng.choice(self.female if gender == "female" else self.male)
                dob = today - timedelta(days=rng.randrange(0, 90 * 365))
            own = rng.random() < 0.5
            team, org = (self.own_team, self.own_org) if own else rng.choice(self.other_teams)
            previous, previous_own = (pid, given, family, dob, gender), own
            yield pid, given, family, dob, gender, team, org, own, family_left, near


def seed(conn, seeder: Seeder, log):
    rng = seeder.rng
    with conn.cursor() as cur:
        for name in HEAVY_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
    conn.commit()
    started = time.perf_counter()
    members, family_id, family_rows, member_rows = [], None, [], []
    spool = {name: tempfile.TemporaryFile("w+", encoding="utf-8") for name in CHILD_COPIES}

    def put(name, *values):
        spool[name].write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")

    with conn.cursor() as cur:
        with cur.copy("COPY profiles (id, kind, given_name, family_name, date_of_birth, gender, created_by, "
                      "version, owner_team_id, owner_organisation_id, restricted, consent_status) FROM STDIN") as p:
            previous_nhs = None
            for count, (pid, given, family, dob, gender, team, org, own, family_left, near) in enumerate(
                    seeder.rows(), 1):
                p.write_row((pid, "person", given, family, dob, gender, "bench", 1, team, org, False, "not_sought"))
                if rng.random() < 0.25:
                    put("aliases", pid, rng.choice(seeder.female + seeder.male),
                        rng.choice([family, rng.choice(seeder.surnames)]))
                if near:    # the same person recorded again: the NHS number too, or none (never another one)
                    nhs = previous_nhs if rng.random() < 0.4 else None
                else:
                    nhs = nhs_number(rng) if rng.random() < 0.6 else None
                previous_nhs = nhs
                if nhs:
                    put("identifiers", pid, "nhs_number", nhs)
                if rng.random() < 0.1:
                    put("identifiers", pid, "ni_number", "AB%06dC" % rng.randrange(1_000_000))
                if rng.random() < 0.05:
                    put("identifiers", pid, "pnc_id", "%d/%07d%s" % (rng.randrange(1990, 2025), rng.randrange(10**7),
                                                                     rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ")))
                postcode = rng.choice(seeder.postcodes)
                moved = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
                put("addresses", pid, rng.choice(seeder.streets), rng.choice(seeder.towns), postcode, moved, None)
                if rng.random() < 0.3:
                    put("addresses", pid, rng.choice(seeder.streets), rng.choice(seeder.towns),
                        rng.choice(seeder.postcodes), moved - timedelta(days=900), moved)
                if rng.random() < 0.05:
                    put("flags", pid, rng.choice(["vulnerable_adult", "domestic_abuse", "mental_health",
                                                  "parent_in_prison", "gang_associated"]), "bench")
                if own and nhs and len(seeder.samples) < 20_000:
                    seeder.samples.append((given, family, dob.isoformat(), postcode, nhs, pid))
                members.append((pid, team, org, dob))
                if family_left == 0:
                    if len(members) > 1:
                        family_id = str(uuid.uuid4())
                        family_rows.append((family_id, f"{family} family", "bench", 1, members[0][1], members[0][2],
                                            False))
                        today = date.today()
                        for pid_, _, _, born in members:
                            role = "child" if (today - born).days < 18 * 365 else "parent"
                            member_rows.append((family_id, pid_, role, "bench"))
                    members = []
                if count % 100_000 == 0:
                    log(f"  {count:,} profiles copied ({time.perf_counter() - started:.0f} s)")
        for name, statement in CHILD_COPIES.items():
            spool[name].seek(0)
            with cur.copy(statement) as copy:
                while block := spool[name].read(1 << 20):
                    copy.write(block)
            spool[name].close()
    with conn.cursor() as cur:
        with cur.copy("COPY families (id, name, created_by, version, owner_team_id, owner_organisation_id, "
                      "restricted) FROM STDIN") as f:
            for row in family_rows:
                f.write_row(row)
        with cur.copy("COPY family_members (family_id, profile_id, role, added_by) FROM STDIN") as m:
            for row in member_rows:
                m.write_row(row)
    conn.commit()
    copied = time.perf_counter() - started
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        for ddl in HEAVY_INDEXES.values():
            cur.execute(ddl)
        conn.commit()
        for table in ("profiles", "profile_aliases", "profile_identifiers", "profile_addresses", "profile_flags",
                      "families", "family_members"):
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    return {"profiles": seeder.n, "families": len(family_rows), "copy_s": round(copied, 1),
            "index_and_analyze_s": round(time.perf_counter() - started, 1)}


def measure(base_url, token, seeder: Seeder, searches: int, rng) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    kinds = {
        "name": lambda s: {"q": f"{s[0]} {s[1]}"},
        "misspelt_name": lambda s: {"q": f"{typo(rng, s[0])} {typo(rng, s[1])}"},
        "name_and_dob": lambda s: {"q": f"{s[0]} {s[1]}", "date_of_birth": s[2]},
        "postcode": lambda s: {"postcode": s[3]},
        "identifier": lambda s: {"identifier": s[4]},
    }
    figures = {}
    with requests.Session() as session:
        for kind, params_of in kinds.items():
            for sample in rng.sample(seeder.samples, 20):      # warm-up, unmeasured
                session.get(f"{base_url}/api/v1/profiles", params=params_of(sample), headers=headers, timeout=60)
            timings, in_page, first, results = [], 0, 0, 0
            for sample in rng.sample(seeder.samples, min(searches, len(seeder.samples))):
                params = params_of(sample)
                before = time.perf_counter()
                response = session.get(f"{base_url}/api/v1/profiles", params=params, headers=headers, timeout=60)
                timings.append(time.perf_counter() - before)
                body = bench_run.expect(response, 200)
                ids = [item["id"] for item in body["items"]]
                results += len(ids)
                in_page += sample[5] in ids
                first += ids[:1] == [sample[5]]
            figures[kind] = {"count": len(timings), **{k: round(v, 1) for k, v in
                                                        bench_run.percentiles(timings).items()},
                             "mean_results": round(results / len(timings), 1),
                             "in_page_1_rate": round(in_page / len(timings), 3),
                             "first_rate": round(first / len(timings), 3)}
            print(f"  {kind:15} p50 {figures[kind]['p50_ms']:7.1f} ms  p95 {figures[kind]['p95_ms']:7.1f} ms  "
                  f"p99 {figures[kind]['p99_ms']:7.1f} ms  in page 1 {figures[kind]['in_page_1_rate']:6.1%}  "
                  f"first {figures[kind]['first_rate']:6.1%}", flush=True)
    return figures


def _timed_figures(timings, found, what, out_of=None) -> dict:
    """Percentiles of `timings` and how often the sought profile was found, of `out_of` (default: every try)."""
    figures = {"count": len(timings), **{k: round(v, 1) for k, v in bench_run.percentiles(timings).items()},
               "found_rate": round(found / max(1, len(timings) if out_of is None else out_of), 3)}
    print(f"  {what:28} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
          f"p99 {figures['p99_ms']:7.1f} ms  found {figures['found_rate']:6.1%}", flush=True)
    return figures


def measure_duplicates(base_url, token, seeder: Seeder, count: int, rng) -> dict:
    """GET /matches on profiles with a seeded near-duplicate (found = it is listed), and creating a person
    like a sample with a typo in the given name (found = the sample is in possible_duplicates)."""
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    with requests.Session() as session:
        timings, found = [], 0
        for original, duplicate in rng.sample(seeder.near_duplicates, min(count, len(seeder.near_duplicates))):
            before = time.perf_counter()
            response = session.get(f"{base_url}/api/v1/profiles/{original}/matches", headers=headers, timeout=60)
            timings.append(time.perf_counter() - before)
            found += duplicate in [item["profile"]["id"] for item in bench_run.expect(response, 200)["items"]]
        figures["matches"] = _timed_figures(timings, found, "GET …/matches")
        timings, found = [], 0
        for sample in rng.sample(seeder.samples, min(count, len(seeder.samples))):
            body = {"kind": "person", "given_name": typo(rng, sample[0]), "family_name": sample[1],
                    "date_of_birth": sample[2]}
            before = time.perf_counter()
            response = session.post(f"{base_url}/api/v1/profiles", json=body, headers=headers, timeout=60)
            timings.append(time.perf_counter() - before)
            found += sample[5] in [m["profile"]["id"] for m in bench_run.expect(response, 201)["possible_duplicates"]]
        figures["create"] = _timed_figures(timings, found, "POST (with duplicate check)")
    return figures


def caller_of(me: dict) -> Caller:
    """The caller the gateway signs for this person (what the service's logic sees), from GET /api/v1/me."""
    return Caller(kind="user", id=me["id"], organisation_id=me["organisation_id"],
                  teams=tuple({"id": team["id"], "role": team.get("role", "practitioner")} for team in me["teams"]),
                  roles=tuple(me.get("roles") or ()), display_name=me.get("display_name"))


def measure_against_floor(base_url, token, caller, database_url, seeder: Seeder, count: int, rng) -> dict:
    """Issue 18's reads beside their floor, interleaved: for each sample, the service's logic is run once in this
    process to capture its statements (untimed; it also warms the same pages), then GET through the gateway and the
    same statements replayed as plain SQL on one connection (bench/sql_floor.py) are timed one after the other."""
    headers = {"Authorization": f"Bearer {token}"}
    reads = {
        "profile": (lambda s: f"/api/v1/profiles/{s[5]}", profiles_logic.get_profile, lambda s: (s[5],)),
        "name_search": (lambda s: f"/api/v1/profiles?q={s[0]} {s[1]}", search.search_profiles,
                        lambda s: ({"q": f"{s[0]} {s[1]}"},)),
        "misspelt_name_search": (None, search.search_profiles, None),
    }
    figures = {}
    with requests.Session() as session, psycopg.connect(database_url) as conn:
        for read, (path_of, logic, args_of) in reads.items():
            gateway, floor = [], []
            for number, sample in enumerate(rng.sample(seeder.samples, min(count + 10, len(seeder.samples)))):
                if read == "misspelt_name_search":
                    words = f"{typo(rng, sample[0])} {typo(rng, sample[1])}"
                    path, args = f"/api/v1/profiles?q={words}", ({"q": words},)
                else:
                    path, args = path_of(sample), args_of(sample)
                statements = sql_floor.capture(database_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                               "profiles", caller, logic, *args)
                before = time.perf_counter()
                bench_run.expect(session.get(base_url + path, headers=headers, timeout=60), 200)
                middle = time.perf_counter()
                sql_floor.replay(conn, statements)
                after = time.perf_counter()
                if number >= 10:                       # the first ten warm up
                    gateway.append(middle - before)
                    floor.append(after - middle)
            g, f = bench_run.percentiles(gateway), bench_run.percentiles(floor)
            figures[read] = {"gateway": {k: round(v, 1) for k, v in g.items()},
                             "sql": {k: round(v, 2) for k, v in f.items()},
                             "ratio_p50": round(g["p50_ms"] / f["p50_ms"], 2), "statements": len(statements)}
            print(f"  {read:21} gateway p50 {g['p50_ms']:6.1f}  p95 {g['p95_ms']:6.1f}  p99 {g['p99_ms']:6.1f} ms  |  "
                  f"SQL p50 {f['p50_ms']:6.2f}  p95 {f['p95_ms']:6.2f}  p99 {f['p99_ms']:6.2f} ms  "
                  f"(×{figures[read]['ratio_p50']} at p50, {len(statements)} statements)", flush=True)
    return figures


def measure_referrals(base_url, token, seeder: Seeder, count: int, rng) -> dict:
    """POST /api/v1/mash/referrals about a person given by name and date of birth (not by profile): the cases
    service asks the profiles service for the best match among the 1M (the duplicate check) and links it, or
    creates the person. Half are a recorded sample by name and date of birth (found = linked to it, not to a
    namesake), half a person nobody recorded (a new profile each). Referred by a practitioner of the MASH, who sees the link made."""
    headers = {"Authorization": f"Bearer {token}"}
    timings, matched, found, linked = [], 0, 0, collections.Counter()
    samples = rng.sample(seeder.samples, min(count, len(seeder.samples)))
    with requests.Session() as session:
        for number, sample in enumerate(samples):
            known = number % 2 == 0
            subject = ({"given_name": sample[0], "family_name": sample[1], "date_of_birth": sample[2]}
                       if known else {"given_name": f"Unrecorded{number}", "family_name": sample[1],
                                      "date_of_birth": sample[2]})
            body = {"subject": subject, "category": "child", "concerns": "Bench referral: concerns as reported.",
                    "referrer": {"name": "Bench Referrer", "organisation": "Bench School", "contact": "0113 000 0000"}}
            before = time.perf_counter()
            response = session.post(f"{base_url}/api/v1/mash/referrals", json=body, headers=headers, timeout=60)
            timings.append(time.perf_counter() - before)
            made = bench_run.expect(response, 201)
            linked[("known " if known else "new ") + made["subject"]["linked"]] += 1
            if known:
                matched += 1
                found += made["subject"]["profile_id"] == sample[5]
    figures = _timed_figures(timings, found, "POST /mash/referrals (duplicate check)", out_of=matched)
    figures["matched_samples"], figures["linked"] = matched, dict(linked)
    print(f"  linked: {dict(linked)}; recorded people linked to themselves: {figures['found_rate']:.1%}", flush=True)
    return figures


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    cluster = bench_run.Cluster()
    try:
        cluster.start_all()
        token = bench_run.expect(requests.post(f"{cluster.gateway_url}/api/v1/sessions", json={
            "username": demo.DEMO_SIGN_IN, "password": demo.DEMO_PASSWORD}, timeout=30), 201)["token"]
        me = bench_run.expect(requests.get(f"{cluster.gateway_url}/api/v1/me",
                                           headers={"Authorization": f"Bearer {token}"}, timeout=30), 200)
        seeder = Seeder(args.profiles, rng, me["teams"][0]["id"], me["organisation_id"])
        url = make_url(cluster.database_url).set(database=f"{cluster.prefix}_profiles", drivername="postgresql")
        print(f"seeding {args.profiles:,} profiles with COPY …", flush=True)
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            seeded = seed(conn, seeder, lambda line: print(line, flush=True))
        print(f"seeded: {seeded}", flush=True)
        print("measuring searches through the gateway …", flush=True)
        searches = measure(cluster.gateway_url, token, seeder, args.searches, rng)
        print("measuring duplicate matching through the gateway …", flush=True)
        duplicates = measure_duplicates(cluster.gateway_url, token, seeder, args.searches, rng)
        print("measuring reads beside their direct-SQL floor (interleaved) …", flush=True)
        floors = measure_against_floor(cluster.gateway_url, token, caller_of(me),
                                       url.render_as_string(hide_password=False), seeder, args.searches, rng)
        print("measuring MASH referrals about people given by name (the duplicate check) …", flush=True)
        mash_token = bench_run.expect(requests.post(f"{cluster.gateway_url}/api/v1/sessions", json={
            "username": demo_mash.WORKER, "password": demo.DEMO_PASSWORD}, timeout=30), 201)["token"]
        duplicates["mash_referral"] = measure_referrals(cluster.gateway_url, mash_token, seeder, args.searches, rng)
        figures = {"seeded": seeded, "searches": searches, "duplicates": duplicates, "against_floor": floors,
                   "load_average": list(__import__("os").getloadavg())}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {RESULTS}")
        problems = cluster.problems()
        for line in problems:
            print("! " + line)
        return 0
    finally:
        if not args.keep:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
