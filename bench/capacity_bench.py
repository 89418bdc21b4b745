"""Capacity test (issue 18): the highest mixed practitioner page rate held at p95 <= 100 ms, with 1 and with 2
replicas of every service and the gateway, and which component saturates first.

  make capacity            (creates .venv-capacity with locust, then runs this)
  .venv/bin/python bench/capacity_bench.py [--profiles N] [--steps 25,50,100,150,200,300] [--replicas 1,2]
      [--teams T] [--practitioners P] [--warm-up S] [--measure S] [--drop]

1. Starts the five services and the gateway (`concord serve …`, bench/run.py's Cluster) on a vhost and databases of
   their own (`concord-capacity`, `concordcap_*`; `make run` uses `concord_*`, so its demo data is untouched), with
   DB_POOL_SIZE=3 (at most 6 connections a process: the machine's PostgreSQL is shared).
2. Seeds once, and reuses on later runs (var/capacity/state.json, checked against the databases): the demo
   directory, T teams (default 4) of P practitioners in all (default 100) in the demo police force, N profiles
   (default 1,000,000, bench/profiles_bench.py's COPY seeder; the ones the bench's own team would lead are spread
   over the T teams), and per team 10,000 cases and 30,000 actions (bench/actions_bench.py's seeder, 500 of them
   open for the team on cases it leads).
3. Signs every practitioner in through the web form (session cookie and CSRF token, as a browser) and writes the
   locust fixture: per team, profiles and cases it leads, active actions, names to search.
4. For each replica count: starts that many processes of each component, then runs bench/capacity/load.py in
   .venv-capacity (locust, headless, as a library), which steps the offered rate; during each step's measured
   window it samples the CPU time of every component's processes from /proc (PostgreSQL: the backends on our
   databases; RabbitMQ: the broker's beam.smp, shared with anything else using it) and the machine's.
5. Prints a table (replicas, offered, achieved, p50/p95/p99, failures, load average), the highest rate held per
   replica count, and the busiest components at the top step; writes bench/results/capacity_latest.json.
The databases stay for the next run (--drop removes them at the end); the vhost and processes are removed. Process
logs: var/capacity/logs/<UTC time>/<n>-replicas/.
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str, file: Path):
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_run = _load("concord_bench_run", HERE / "run.py")        # monkey-patches eventlet, as our processes do
profiles_bench = _load("concord_profiles_bench", HERE / "profiles_bench.py")
actions_bench = _load("concord_actions_bench", HERE / "actions_bench.py")
pages_bench = _load("concord_pages_bench", HERE / "pages_bench.py")
workload = _load("concord_capacity_workload", HERE / "capacity" / "workload.py")

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import psycopg  # noqa: E402

from concord_common import demo  # noqa: E402
from concord_common.context import SYSTEM  # noqa: E402
from concord_common.settings import SERVICE_NAMES  # noqa: E402

ROOT = HERE.parent
VAR = ROOT / "var" / "capacity"
STATE = VAR / "state.json"
RESULTS = HERE / "results" / "capacity_latest.json"
LOCUST_PYTHON = ROOT / ".venv-capacity" / "bin" / "python"
PREFIX = "concordcap"
VHOST = "concord-capacity"
DEMO_ORGANISATION = "West Yorkshire Police"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--cases-per-team", type=int, default=10_000)
    parser.add_argument("--actions-per-team", type=int, default=30_000)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--practitioners", type=int, default=100)
    parser.add_argument("--steps", default=",".join(str(s) for s in workload.DEFAULT_STEPS))
    parser.add_argument("--replicas", default="1,2", help="replica counts to measure, in order")
    parser.add_argument("--warm-up", type=float, default=10.0)
    parser.add_argument("--measure", type=float, default=30.0)
    parser.add_argument("--stop-after-miss", type=int, default=1, help="stop stepping after this many misses")
    parser.add_argument("--pool-size", type=int, default=3, help="DB_POOL_SIZE of each service process")
    parser.add_argument("--max-workers", type=int, default=None,
                        help="MAX_WORKERS of each service process (default: the services' own, 20; audit 200)")
    parser.add_argument("--drop", action="store_true", help="drop the capacity databases at the end")
    parser.add_argument("--report", metavar="JSON", help="only print the summary of an earlier run's figures")
    parser.add_argument("--pages-alone", action="store_true",
                        help="instead of the mix, step each page alone (search, profile, …): CPU per page of each")
    return parser.parse_args(argv)


# -- the cluster -----------------------------------------------------------------------------------------------
class CapacityCluster(bench_run.Cluster):
    """bench/run.py's Cluster with a fixed vhost and database prefix (the seeded data is reused), its own keys kept
    in var/capacity/keys, and replicas."""

    def __init__(self, pool_size: int, max_workers: int | None = None):
        super().__init__()
        self.vhost, self.prefix = VHOST, PREFIX
        self.amqp_uri = bench_run.uri_with_vhost(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
                                                 VHOST)
        self.keys_dir = VAR / "keys"
        shutil.rmtree(self.log_dir, ignore_errors=True)       # the temp dir run.py made; logs go in var/capacity
        self.log_dir = VAR / "logs" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        bench_run.trust.init_keys(self.keys_dir)
        self.pool_size, self.max_workers = pool_size, max_workers

    def environment(self) -> dict:
        env = super().environment()
        env.update(DB_POOL_SIZE=str(self.pool_size), IP_THROTTLE_THRESHOLD="100000",
                   SESSION_IDLE_MINUTES="240")
        if getattr(self, "component", "gateway") != "gateway" and self.max_workers:
            env["MAX_WORKERS"] = env["AUDIT_MAX_WORKERS"] = str(self.max_workers)
        return env

    def open(self) -> None:
        try:
            bench_run.rabbitmqctl("delete_vhost", self.vhost)      # a previous run's queues
        except subprocess.CalledProcessError:
            pass
        super().open()

    def start(self, component: str):
        self.component = component
        return super().start(component)

    def start_replicas(self, replicas: int) -> None:
        self.base_log_dir = getattr(self, "base_log_dir", self.log_dir)
        self.log_dir = self.base_log_dir / f"{replicas}-replicas"      # each phase's logs kept apart
        self.log_dir.mkdir(exist_ok=True)
        for component in (*SERVICE_NAMES, "gateway"):
            for _ in range(replicas):
                self.start(component)
        print(f"starting {len(self.processes)} processes ({replicas} of each; logs: {self.log_dir}) …", flush=True)
        self.wait_until(self.gateway_ready, "GET /readyz to answer 200")
        for service in SERVICE_NAMES:
            self.wait_until(lambda: self.consumers(service) >= replicas, f"{replicas} consumers of {service}")

    def stop_all(self) -> None:
        self.stop_processes()
        self.processes = []

    def close(self, drop: bool = False) -> None:
        for step in (self.stop_processes, lambda: bench_run.rabbitmqctl("delete_vhost", self.vhost),
                     *((self.drop_databases,) if drop else ())):
            try:
                step()
            except Exception as exc:
                print(f"! cleanup step failed: {exc!r}", file=sys.stderr)


# -- seeding ---------------------------------------------------------------------------------------------------
class TeamsSeeder(profiles_bench.Seeder):
    """profiles_bench's seeder, the profiles its bench team would lead spread over our teams."""

    def __init__(self, n, rng, teams, organisation_id):
        super().__init__(n, rng, teams[0], organisation_id)
        self.teams = teams

    def rows(self):
        for pid, given, family, dob, gender, team, org, own, family_left, near in super().rows():
            if own:
                team = self.teams[hash(pid) % len(self.teams)]
            yield pid, given, family, dob, gender, team, org, own, family_left, near


def directory(cluster, args, log) -> dict:
    """T teams and P practitioners in the demo police force (created once)."""
    with cluster.rpc(SYSTEM) as rpc:
        rpc.permissions.seed_demo()
        organisation = next(o for o in rpc.permissions.list_organisations()["items"]
                            if o["name"] == DEMO_ORGANISATION)
        existing = {team["name"]: team["id"] for team in
                    rpc.permissions.get_organisation(organisation["id"])["teams"]}
        teams = []
        for number in range(1, args.teams + 1):
            name = f"Capacity Team {number}"
            teams.append(existing.get(name) or rpc.permissions.create_team(organisation["id"], {"name": name})["id"])
        people = []
        for number in range(1, args.practitioners + 1):
            team = (number - 1) % args.teams
            username = f"cap.p{number:04d}"
            try:
                user = rpc.permissions.create_user({
                    "username": username, "display_name": f"Capacity Practitioner {number}",
                    "email": f"{username}@westyorkshire.police.example", "password": demo.DEMO_PASSWORD,
                    "organisation_id": organisation["id"], "teams": [{"team_id": teams[team], "role": "practitioner"}]})
                user_id = user["id"]
            except Exception as exc:         # made by an earlier, interrupted run
                if "taken" not in f"{exc} {getattr(exc, 'errors', '')}".lower():
                    raise
                user_id = None
            people.append({"username": username, "team": team, "id": user_id})
            if number % 25 == 0:
                log(f"  {number} practitioners")
    return {"organisation_id": organisation["id"], "teams": teams, "practitioners": people}


def count(url: str, sql: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchone()[0]
    except psycopg.Error:
        return -1


def seeded_state(cluster, args) -> dict | None:
    """The state of an earlier run if the databases still hold what it seeded."""
    if not STATE.exists():
        return None
    state = json.loads(STATE.read_text())
    if (state.get("profiles") != args.profiles or len(state.get("teams", [])) != args.teams
            or len(state.get("practitioners", [])) != args.practitioners):
        return None
    if count(cluster.db("profiles"), "SELECT count(*) FROM profiles") < args.profiles:
        return None
    if count(cluster.db("cases"), "SELECT count(*) FROM cases") < args.cases_per_team * args.teams:
        return None
    return state


def seed(cluster, args, log) -> dict:
    state = seeded_state(cluster, args)
    if state:
        log(f"reusing the seeded databases ({args.profiles:,} profiles; {STATE})")
        return state
    started = time.perf_counter()
    rng = random.Random(18)
    log("directory: teams and practitioners …")
    state = directory(cluster, args, log)
    log(f"seeding {args.profiles:,} profiles with COPY (bench/profiles_bench.py) …")
    seeder = TeamsSeeder(args.profiles, rng, state["teams"], state["organisation_id"])
    with psycopg.connect(cluster.db("profiles")) as conn:
        conn.execute("TRUNCATE profiles CASCADE")
        conn.commit()
        state["profiles_seeded"] = profiles_bench.seed(conn, seeder, log)
    log("seeding cases and actions per team with COPY (bench/actions_bench.py) …")
    with psycopg.connect(cluster.db("cases")) as conn:
        conn.execute("TRUNCATE cases CASCADE")
        conn.commit()
        for number, team in enumerate(state["teams"]):
            lead = next(p for p in state["practitioners"] if p["team"] == number)
            options = argparse.Namespace(cases=args.cases_per_team, actions=args.actions_per_team, mine=500)
            actions_bench.seed(conn, rng, options, lead["id"] or str(uuid.uuid4()), team, state["organisation_id"],
                               log)
            # actions_bench numbers its cases BEN-2026-0000000 on: give each team's its own series
            conn.execute("UPDATE cases SET reference = replace(reference, 'BEN-', %s) WHERE reference LIKE 'BEN-%%'",
                         (f"CAP{number + 1}-",))
            conn.commit()
        actions_bench.hold_reminder_ticks(conn, hours=48)
    state.update(profiles=args.profiles, seed_seconds=round(time.perf_counter() - started, 1))
    VAR.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=2))
    return state


def team_fixture(cluster, team: str) -> dict:
    with psycopg.connect(cluster.db("profiles")) as conn:
        profiles = [row[0] for row in conn.execute(
            "SELECT id::text FROM profiles TABLESAMPLE SYSTEM (2) WHERE owner_team_id = %s LIMIT 2000", (team,))]
        names = [f"{g} {f}" for g, f in conn.execute(
            "SELECT given_name, family_name FROM profiles TABLESAMPLE SYSTEM (0.5) "
            "WHERE kind = 'person' LIMIT 1000")]
    with psycopg.connect(cluster.db("cases")) as conn:
        cases = [row[0] for row in conn.execute(
            "SELECT id::text FROM cases WHERE owner_team_id = %s AND status = 'open' ORDER BY random() LIMIT 2000",
            (team,))]
        actions = [list(row) for row in conn.execute(
            "SELECT a.case_id::text, a.id::text FROM case_actions a JOIN cases c ON c.id = a.case_id "
            "WHERE a.assignee_team_id = %s AND c.owner_team_id = %s AND a.status IN ('open', 'in_progress') "
            "ORDER BY random() LIMIT 500", (team, team))]
    assert profiles and cases and actions and names, (len(profiles), len(cases), len(actions), len(names))
    return {"profiles": profiles, "searches": names, "cases": cases, "actions": actions}


def sign_in(url: str, username: str) -> dict:
    session = pages_bench.web_session(url, username, demo.DEMO_PASSWORD)
    home = session.get(url + "/", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert home.status_code == 200 and token, (username, home.status_code)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return {"cookie": cookie, "csrf": token.group(1)}


def still_signed_in(url: str, person: dict) -> bool:
    import requests
    try:
        home = requests.get(url + "/", headers={"Cookie": person["cookie"]}, allow_redirects=False, timeout=30)
    except requests.RequestException:
        return False
    return home.status_code == 200 and person["csrf"] in home.text


def earlier_sessions(url: str, state) -> list | None:
    """The previous run's sessions (in the permissions database, idle 240 minutes at most) if they still work:
    signing 100 people in takes a minute of argon2 on this machine."""
    path = VAR / "fixture.json"
    if not path.exists():
        return None
    people = json.loads(path.read_text()).get("practitioners") or []
    if [p["username"] for p in people] != [p["username"] for p in state["practitioners"]]:
        return None
    return people if all(still_signed_in(url, person) for person in (people[0], people[-1])) else None


def write_fixture(cluster, state, log) -> Path:
    people = earlier_sessions(cluster.gateway_url, state)
    if people:
        log(f"reusing the {len(people)} practitioners' sessions of the previous run")
    else:
        log(f"signing in {len(state['practitioners'])} practitioners through the web form …")
        people = [{"username": p["username"], "team": p["team"], **sign_in(cluster.gateway_url, p["username"])}
                  for p in state["practitioners"]]
    fixture = {"url": cluster.gateway_url, "practitioners": people,
               "teams": [team_fixture(cluster, team) for team in state["teams"]]}
    path = VAR / "fixture.json"
    path.write_text(json.dumps(fixture))
    return path


STORAGE_COUNTS = {"profiles": ("profiles", "profile_addresses", "profile_identifiers", "profile_aliases"),
                  "cases": ("cases", "case_actions", "case_notes", "case_timeline"), "audit": ("audit_entries",)}


def storage(cluster) -> dict:
    """Each capacity database's size (bytes) and the rows of its main tables: what the national model scales."""
    found = {}
    for service in SERVICE_NAMES:
        with psycopg.connect(cluster.db(service)) as conn:
            entry = {"bytes": conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]}
            for table in STORAGE_COUNTS.get(service, ()):
                entry[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                entry[table + "_bytes"] = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]
            found[service] = entry
    return found


# -- CPU from /proc --------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def broker_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "beam.smp":
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def postgres_pids(cluster) -> tuple[list[int], int]:
    """The backends connected to our databases, and how many connections they are."""
    with psycopg.connect(cluster.db("permissions")) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE %s AND pid <> pg_backend_pid()",
            (cluster.prefix + "_%",))]
    return pids, len(pids)


class CpuSampler:
    """CPU of each component's processes (and the load generator's, and the machine's) between start() and stop()."""

    def __init__(self, cluster, load_pid: int):
        self.cluster, self.load_pid = cluster, load_pid

    def components(self) -> dict:
        groups = {}
        for process in self.cluster.processes:
            groups.setdefault(process.name.rsplit("-", 1)[0], []).append(process.popen.pid)
        groups["postgresql"], self.connections = postgres_pids(self.cluster)
        groups["rabbitmq"] = broker_pids()
        groups["load generator"] = [self.load_pid]
        return groups

    def start(self) -> None:
        self.groups = self.components()
        self.before = {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        self.machine_before, self.started = machine_busy(), time.monotonic()

    def stop(self) -> dict:
        seconds = time.monotonic() - self.started
        figures = {}
        for name, pids in self.groups.items():
            used = 0.0
            for pid in pids:
                now, then = cpu_seconds(pid), self.before.get(pid)
                if now is not None and then is not None:
                    used += now - then
            figures[name] = {"cpu_per_s": round(used / seconds, 3), "cpu_seconds": round(used, 4),
                             "processes": len(pids)}
        busy, total = machine_busy()
        figures["machine"] = {"busy_share": round((busy - self.machine_before[0]) /
                                                  max(1, total - self.machine_before[1]), 3),
                              "cores": os.cpu_count(), "db_connections": self.connections}
        return figures


# -- running the steps ------------------------------------------------------------------------------------------
def run_steps(cluster, fixture: Path, replicas: int, args, log, totals: dict | None = None) -> list[dict]:
    command = [str(LOCUST_PYTHON), str(HERE / "capacity" / "load.py"), "--fixture", str(fixture),
               "--steps", args.steps, "--warm-up", str(args.warm_up), "--measure", str(args.measure),
               "--stop-after-miss", str(args.stop_after_miss)]
    if args.pages_alone:
        command += ["--only", ",".join(workload.MIX)]
    steps = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT) as load:
        sampler = CpuSampler(cluster, load.pid)
        for line in load.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log("  locust: " + line.rstrip())
                continue
            if event["event"] == "measuring":
                sampler.start()
                log(f"  {replicas} replica(s): offering {event['offered']:g} pages/s ({event['users']} users"
                    f"{', ' + event['page'] + ' alone' if event.get('page', 'mix') != 'mix' else ''}) …")
            elif event["event"] == "step":
                cpu = sampler.stop()
                step = {k: v for k, v in event.items() if k != "event"}
                step.update(replicas=replicas, cpu=cpu,
                            busiest=workload.saturation({k: v for k, v in cpu.items() if k != "machine"},
                                                        os.cpu_count()))
                steps.append(step)
                log("  " + row(step))
            elif event["event"] == "done" and totals is not None:
                totals["pages_total"] = event.get("pages_total")
        if load.wait() != 0:
            raise RuntimeError(f"load generator exited with {load.returncode}")
    for line in cluster.problems(per_process=3):
        log("! " + line)
    return steps


HEADER = (f"{'replicas':>8} {'offered':>8} {'achieved':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'failed':>7} {'held':>5} {'load avg':>9} {'busiest (utilisation)':<40}")


def row(step: dict) -> str:
    busiest = ", ".join(f"{name} {share:.0%}" for name, share in step["busiest"][:3])
    return (f"{step['replicas']:>8} {step['offered']:>8g} {step['achieved']:>9.1f} {step['p50_ms']:>8.1f} "
            f"{step['p95_ms']:>8.1f} {step['p99_ms']:>8.1f} {step['failure_rate']:>7.2%} "
            f"{'yes' if step['held'] else 'no':>5} {step['load_average'][0]:>9.2f} {busiest:<40}")


def alone(steps: list[dict]) -> list[str]:
    """Pages stepped alone (--pages-alone): what each page costs, by component."""
    lines = ["", "pages alone: CPU ms per page by component (at the step's achieved rate)"]
    for step in steps:
        cost = workload.cpu_cost_ms(step)
        ranked = ", ".join(f"{name} {ms:g}" for name, ms in sorted(cost.items(), key=lambda item: -item[1]))
        lines.append(f"  {step['page']:<10} {step['replicas']} replica(s) offered {step['offered']:g} achieved "
                     f"{step['achieved']:g} p50 {step['p50_ms']:g} p95 {step['p95_ms']:g} ms, failed "
                     f"{step['failure_rate']:.1%}, load {step['load_average'][0]:.1f}: {sum(cost.values()):.0f} ms "
                     f"CPU ({ranked})")
    return lines


def summary(steps: list[dict], replica_counts: list[int]) -> tuple[list[str], dict]:
    single = [step for step in steps if step.get("page", "mix") != "mix"]
    steps = [step for step in steps if step.get("page", "mix") == "mix"]
    lines, held = (alone(single) if single else []) + ["", HEADER], {}
    lines += [row(step) for step in steps]
    lines.append("")
    for replicas in replica_counts:
        mine = [step for step in steps if step["replicas"] == replicas]
        if not mine:
            continue
        best = workload.highest_held(mine)
        held[replicas] = best
        top = max(mine, key=lambda s: s["offered"])
        busiest = ", ".join(f"{name} {share:.0%}" for name, share in top["busiest"][:4])
        lines.append(f"{replicas} replica(s): highest rate held (p95 <= {workload.P95_LIMIT_MS:g} ms, < 1 % failed, "
                     f">= 95 % achieved): {best if best is not None else 'none'} pages/s; at the top step "
                     f"({top['offered']:g} offered) the busiest: {busiest}")
        pages = ", ".join(f"{name} {figure['p95_ms']:.0f}" for name, figure in top["pages"].items())
        lines.append(f"    p95 ms by page at the top step: {pages}")
        cost = workload.cpu_cost_ms(top)
        if cost:
            ranked = sorted(cost.items(), key=lambda item: item[1], reverse=True)
            lines.append(f"    CPU ms per page at the top step ({sum(cost.values()):.0f} in all): "
                         + ", ".join(f"{name} {ms:g}" for name, ms in ranked))
            limits = workload.ceilings(cost, os.cpu_count() or 1, replicas)
            machine = limits.pop("machine", None)
            first = min(limits.items(), key=lambda item: item[1]) if limits else None
            lines.append(f"    so, CPU-bound, this machine's {os.cpu_count()} cores would be busy at ~{machine} pages/s "
                         f"if the capacity system had them to itself; first of the Python components: "
                         f"{first[0]} at ~{first[1]} pages/s ({replicas} process(es), one core each)" if first else "")
    return lines, held


def report_again(path: Path) -> int:
    """Print the summary of an earlier run's figures (bench/results/capacity_latest.json) again."""
    figures = json.loads(path.read_text())
    steps = figures["steps"]
    lines, _ = summary(steps, sorted({step["replicas"] for step in steps}))
    print("\n".join(lines))
    print(f"run {figures['when']}, load average before {figures['load_average_before'][0]:.2f}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        return report_again(Path(args.report))
    if not LOCUST_PYTHON.exists():
        print(f"{LOCUST_PYTHON} is missing: run `make capacity` (it creates .venv-capacity with locust)",
              file=sys.stderr)
        return 2
    log = lambda line: print(line, flush=True)   # noqa: E731
    load_before = os.getloadavg()
    replica_counts = [int(r) for r in args.replicas.split(",")]
    cluster = CapacityCluster(args.pool_size, args.max_workers)
    steps, seeded, sizes = [], None, []
    try:
        cluster.open()
        if seeded_state(cluster, args) is None:
            cluster.drop_databases()        # seeded afresh: a half-seeded database may lack its indexes
        for number, replicas in enumerate(replica_counts):
            cluster.start_replicas(replicas)
            if number == 0:
                with cluster.rpc(SYSTEM) as rpc:
                    rpc.permissions.seed_demo()
                seeded = seed(cluster, args, log)
                fixture = write_fixture(cluster, seeded, log)
            log(f"stepping the offered rate with {replicas} replica(s) of each component "
                f"(warm-up {args.warm_up:g} s, measured {args.measure:g} s a step) …")
            before, totals = storage(cluster), {}
            steps += run_steps(cluster, fixture, replicas, args, log, totals)
            sizes.append({"replicas": replicas, "before": before, "after": storage(cluster), **totals})
            cluster.stop_all()
    finally:
        cluster.close(drop=args.drop)
    lines, held = summary(steps, replica_counts)
    print("\n".join(lines))
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores;"
          " other work on the machine shares the cores")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": bench_run.git_commit(),
        "options": vars(args), "load_average_before": load_before, "seeded": {
            k: v for k, v in (seeded or {}).items() if k not in ("practitioners",)},
        "highest_held": held, "storage": sizes, "steps": steps}, indent=2, default=str))
    print(f"figures written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
