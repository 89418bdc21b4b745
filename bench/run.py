"""Concord benchmark: RPC round trips through the profiles service and HTTP through the gateway.

Starts real processes (`concord serve …`) on a RabbitMQ vhost and databases of
its own, measures, prints a table, writes bench/results/latest.json, and
removes everything it created. See bench/README.md.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # we know; see docs/architecture.md

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402  (before anything imports socket or threading)

import concord_common  # noqa: E402,F401  (green psycopg waits)

import argparse  # noqa: E402
import collections  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, urlsplit, urlunsplit  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import trust  # noqa: E402
from concord_common.context import SYSTEM, Caller  # noqa: E402
from concord_common.signed_rpc import signed_rpc  # noqa: E402
from gateway.auth import caller_from_principal  # noqa: E402
from concord_common.rpc import count_consumers  # noqa: E402
from concord_common.settings import SERVICE_NAMES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
CONCORD = Path(sys.executable).parent / "concord"
PERSON = {"kind": "person", "given_name": "Ada", "family_name": "Bench", "date_of_birth": "1990-01-01"}
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


# -- options -------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, help="sequential RPC calls per measurement (default 2000)")
    parser.add_argument("--pipelined", type=int, help="pipelined RPC calls (default 5000)")
    parser.add_argument("--window", type=int, default=100, help="pipelined calls in flight (default 100)")
    parser.add_argument("--requests", type=int, help="HTTP requests per measurement (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="green threads in the concurrent HTTP run")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument("--keep-logs", action="store_true", help="keep process logs even if all went well")
    args = parser.parse_args(argv)
    quick = args.quick
    args.calls = args.calls or (200 if quick else 2000)
    args.pipelined = args.pipelined or (500 if quick else 5000)
    args.requests = args.requests or (100 if quick else 1000)
    return args


# -- the cluster: vhost, databases, processes -----------------------------------
def uri_with_vhost(uri: str, vhost: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rabbitmqctl(*args) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def admin_engine(server_url: str):
    url = make_url(server_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Cluster:
    """Processes on a vhost and database prefix of our own; close() removes all of it."""

    def __init__(self):
        run_id = uuid.uuid4().hex[:8]
        self.vhost = f"concord-bench-{run_id}"
        self.prefix = f"concordbench_{run_id}"
        amqp_root = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
        self.amqp_user = urlsplit(amqp_root).username or "guest"
        self.amqp_uri = uri_with_vhost(amqp_root, self.vhost)
        self.database_url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        self.gateway_address = f"127.0.0.1:{free_port()}"
        self.log_dir = Path(tempfile.mkdtemp(prefix="concord-bench-"))
        self.keys_dir = self.log_dir / "keys"           # this cluster's own signing keys (docs/security.md)
        trust.init_keys(self.keys_dir)
        self.processes: list[Process] = []

    def rpc(self, caller: Caller = SYSTEM, timeout: float = 60):
        """Signed RPC into the cluster: the system as the operators' CLI signs it, a person as the gateway does."""
        issuer = trust.OPERATOR if caller.kind == "system" else trust.GATEWAY
        keyring = trust.keyring_for({"KEYS_DIR": str(self.keys_dir)}, issuer, verifies=False)
        return signed_rpc({"AMQP_URI": self.amqp_uri}, keyring, caller, timeout=timeout)

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_address}"

    def db(self, service: str) -> str:
        """A plain PostgreSQL URL (for psycopg) of one service's database in this cluster."""
        return make_url(self.database_url).set(database=f"{self.prefix}_{service}", drivername="postgresql") \
            .render_as_string(hide_password=False)

    def open(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, self.amqp_user, ".*", ".*", ".*")

    def start_all(self) -> None:
        """One process of every service and the gateway, ready, with the demo directory loaded."""
        self.open()
        for service in SERVICE_NAMES:
            self.start(service)
        self.start("gateway")
        print(f"starting {len(self.processes)} processes (logs: {self.log_dir}) …", flush=True)
        self.wait_until(self.gateway_ready, "GET /readyz to answer 200")
        with self.rpc(SYSTEM) as rpc:
            rpc.permissions.seed_demo()

    def environment(self) -> dict:
        env = dict(os.environ, AMQP_URI=self.amqp_uri, DATABASE_URL=self.database_url,
                   DATABASE_PREFIX=self.prefix, GATEWAY_ADDRESS=self.gateway_address,
                   CONCORD_KEYS_DIR=str(self.keys_dir))
        env.pop("OPS_PORT", None)
        return env

    def start(self, component: str) -> Process:
        index = sum(1 for process in self.processes if process.name.startswith(component + "-")) + 1
        name = f"{component}-{index}"
        log = self.log_dir / f"{name}.log"
        with open(log, "wb") as out:
            # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
            popen = subprocess.Popen([str(CONCORD), "serve", component], cwd=ROOT, env=self.environment(),
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def wait_until(self, check, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}; logs in {self.log_dir}")
            time.sleep(0.2)

    def check_alive(self) -> None:
        for process in self.processes:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")

    def gateway_ready(self) -> bool:
        try:
            return requests.get(self.gateway_url + "/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def consumers(self, service: str) -> int:
        return count_consumers(self.amqp_uri, service)

    def stop_processes(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes:
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"! {process.name} did not stop within {STOP_TIMEOUT:g}s; killed", file=sys.stderr)
                process.popen.kill()
                process.popen.wait()

    def drop_databases(self) -> None:
        engine = admin_engine(self.database_url)
        try:
            with engine.connect() as conn:
                names = conn.execute(text("SELECT datname FROM pg_database")).scalars().all()
                for name in names:
                    if name.startswith(self.prefix + "_"):
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def close(self) -> None:
        """Best effort: each step runs even if an earlier one failed."""
        steps = (self.stop_processes, lambda: rabbitmqctl("delete_vhost", self.vhost), self.drop_databases)
        for step in steps:
            try:
                step()
            except Exception as exc:
                print(f"! cleanup step failed: {exc!r}", file=sys.stderr)

    def problems(self, per_process: int = 5) -> list[str]:
        """Non-zero exit codes, and the first error lines and tracebacks of each process log."""
        found = []
        for process in self.processes:
            if process.popen.returncode not in (0, None, -signal.SIGTERM):
                found.append(f"{process.name}: exited with {process.popen.returncode}")
            errors = [line for line in process.log.read_text(errors="replace").splitlines() if is_error_line(line)]
            found += [f"{process.name}: {line[:300]}" for line in errors[:per_process]]
            if len(errors) > per_process:
                found.append(f"{process.name}: … {len(errors) - per_process} more error lines in {process.log}")
        return found


def is_error_line(line: str) -> bool:
    if line.startswith("{"):
        try:
            return json.loads(line).get("level") in ("error", "critical")
        except ValueError:
            return False
    return line.startswith("Traceback") or "Error" in line.split(":", 1)[0]


# -- measuring -----------------------------------------------------------------
def percentiles(samples: list[float]) -> dict:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


def warm_up(call, count: int = 50) -> None:
    """Fill connection pools and caches before anything is timed."""
    for _ in range(count):
        call()


def sequential(call, count: int) -> tuple[dict, list]:
    """`count` calls one after another: latency percentiles and calls per second."""
    warm_up(call)
    samples, results = [], []
    started = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter()
        results.append(call())
        samples.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    return {"count": count, **percentiles(samples), "per_s": count / elapsed}, results


def pipelined(call_async, count: int, window: int) -> tuple[dict, list]:
    """`count` calls with up to `window` in flight: throughput only."""
    warm_up(lambda: call_async().result())
    in_flight, results = collections.deque(), []
    started = time.perf_counter()
    for _ in range(count):
        if len(in_flight) >= window:
            results.append(in_flight.popleft().result())
        in_flight.append(call_async())
    results.extend(reply.result() for reply in in_flight)
    elapsed = time.perf_counter() - started
    return {"count": count, "window": window, "per_s": count / elapsed}, results


def concurrent(request, count: int, workers: int) -> dict:
    """`count` requests shared by `workers` green threads, each with its own keep-alive session."""
    tickets = iter(range(count))  # green threads switch only on I/O, so sharing an iterator is safe
    samples = []

    def worker():
        with requests.Session() as session:
            warm_up(lambda: request(session), 5)
            for _ in tickets:
                before = time.perf_counter()
                request(session)
                samples.append(time.perf_counter() - before)

    pool = eventlet.GreenPool(workers)
    started = time.perf_counter()
    threads = [pool.spawn(worker) for _ in range(workers)]
    for thread in threads:
        thread.wait()  # re-raises a worker's exception
    elapsed = time.perf_counter() - started
    return {"count": count, "workers": workers, **percentiles(samples), "per_s": count / elapsed}


def spread(pings: list[dict]) -> dict:
    return dict(collections.Counter(ping["instance"] for ping in pings).most_common())


# -- what is measured -----------------------------------------------------------
def bench_rpc(rpc, profile_id: str, args) -> dict:
    ping = rpc.profiles.ping
    ping_figures, ping_results = sequential(ping, args.calls)
    get_figures, _ = sequential(lambda: rpc.profiles.get_profile(profile_id), args.calls)
    piped_figures, piped_results = pipelined(ping.call_async, args.pipelined, args.window)
    return {"ping": ping_figures, "get_profile": get_figures, "pipelined_ping": piped_figures,
            "spread": {"sequential_ping": spread(ping_results), "pipelined_ping": spread(piped_results)}}


def expect(response, status: int):
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.url} answered {response.status_code}, "
                           f"expected {status}: {response.text[:300]}")
    return response.json()


AUTH: dict = {}   # the bench user's bearer token, set once signed in


def sign_in(base_url: str) -> None:
    from concord_common import demo
    body = {"username": demo.DEMO_SIGN_IN, "password": demo.DEMO_PASSWORD}
    AUTH["Authorization"] = "Bearer " + expect(requests.post(f"{base_url}/api/v1/sessions", json=body,
                                                             timeout=30), 201)["token"]


def post_profile(session, base_url: str) -> str:
    return expect(session.post(f"{base_url}/api/v1/profiles", json=PERSON, headers=AUTH, timeout=30), 201)["id"]


def get_profile(session, base_url: str, profile_id: str) -> dict:
    return expect(session.get(f"{base_url}/api/v1/profiles/{profile_id}", headers=AUTH, timeout=30), 200)


def bench_http(base_url: str, args) -> dict:
    with requests.Session() as session:
        post_figures, ids = sequential(lambda: post_profile(session, base_url), args.requests)
        cycle = itertools.cycle(ids)
        get_figures, _ = sequential(lambda: get_profile(session, base_url, next(cycle)), args.requests)
    return {
        "post_profile": post_figures,
        "get_profile": get_figures,
        "concurrent_post_profile": concurrent(lambda s: post_profile(s, base_url), args.requests,
                                              args.concurrency),
        "concurrent_get_profile": concurrent(lambda s: get_profile(s, base_url, next(cycle)), args.requests,
                                             args.concurrency),
    }


def run(cluster: Cluster, args) -> dict:
    cluster.start_all()                 # with the demo directory: everything runs as a demo practitioner
    figures = {}
    with cluster.rpc(SYSTEM) as rpc:
        sign_in(cluster.gateway_url)
        principal = rpc.permissions.resolve_token(AUTH["Authorization"].split(" ", 1)[1])
    # RPC calls carry the practitioner as the gateway would: records are only theirs to read.
    with cluster.rpc(caller_from_principal(principal), timeout=30) as rpc:
        profile_id = rpc.profiles.create_profile(PERSON)["id"]
        print("measuring RPC, one profiles replica …", flush=True)
        figures["rpc_1_replica"] = bench_rpc(rpc, profile_id, args)
        cluster.start("profiles")
        cluster.wait_until(lambda: cluster.consumers("profiles") >= 2, "two consumers on rpc-profiles")
        print("measuring RPC, two profiles replicas …", flush=True)
        figures["rpc_2_replicas"] = bench_rpc(rpc, profile_id, args)
    print("measuring HTTP through the gateway (two profiles replicas) …", flush=True)
    figures["http"] = bench_http(cluster.gateway_url, args)
    return figures


# -- reporting -----------------------------------------------------------------
def git_commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or None


def row(label: str, figures: dict) -> str:
    cells = [f"{figures[key]:8.2f}" if key in figures else f"{'-':>8}" for key in ("p50_ms", "p95_ms", "p99_ms")]
    return f"  {label:<52}{''.join(cells)}{figures['per_s']:10.0f}"


def rpc_rows(title: str, figures: dict, args) -> list[str]:
    lines = [title,
             row(f"profiles.ping             sequential x{args.calls}", figures["ping"]),
             row(f"profiles.get_profile      sequential x{args.calls}", figures["get_profile"]),
             row(f"profiles.ping  pipelined x{args.pipelined}, {args.window} in flight",
                 figures["pipelined_ping"])]
    for run_name, counts in figures["spread"].items():
        shares = ", ".join(f"{instance} {count}" for instance, count in counts.items())
        lines.append(f"    spread of {run_name.replace('_', ' ')}: {shares}")
    return lines


def report(figures: dict, args) -> str:
    http, workers = figures["http"], args.concurrency
    lines = [f"  {'':<52}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'per s':>10}",
             *rpc_rows("RPC (signed, as the gateway calls), 1 profiles replica", figures["rpc_1_replica"], args),
             *rpc_rows("RPC (signed, as the gateway calls), 2 profiles replicas", figures["rpc_2_replicas"], args),
             "HTTP via gateway, keep-alive (2 profiles replicas)",
             row(f"POST /api/v1/profiles      sequential x{args.requests}", http["post_profile"]),
             row(f"GET  /api/v1/profiles/{{id}} sequential x{args.requests}", http["get_profile"]),
             row(f"POST /api/v1/profiles      {workers} concurrent x{args.requests}",
                 http["concurrent_post_profile"]),
             row(f"GET  /api/v1/profiles/{{id}} {workers} concurrent x{args.requests}",
                 http["concurrent_get_profile"])]
    return "\n".join(lines)


def write_results(figures: dict, problems: list[str], args, load_before) -> None:
    document = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        # Other work on the machine skews the figures; the load average before the run tells.
        "machine": {"cpus": os.cpu_count(), "load_average_before": load_before,
                    "python": platform.python_version(), "platform": platform.platform()},
        "options": vars(args),
        "figures": figures,
        "problems": problems,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    # SIGTERM should clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    load_before = os.getloadavg()
    cluster = Cluster()
    figures, failure = None, None
    try:
        figures = run(cluster, args)
    except BaseException as exc:  # Ctrl-C and SIGTERM too: clean up, then say what happened
        failure = exc
    cluster.close()
    problems = cluster.problems()
    if figures:
        print("\n" + report(figures, args))
        write_results(figures, problems, args, load_before)
        print(f"\nfigures written to {RESULTS.relative_to(ROOT)}")
    for problem in problems:
        print(f"! {problem}", file=sys.stderr)
    if failure or problems or args.keep_logs:
        print(f"process logs kept in {cluster.log_dir}", file=sys.stderr)
    else:
        shutil.rmtree(cluster.log_dir, ignore_errors=True)
    if failure:
        print(f"benchmark failed: {failure or type(failure).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
