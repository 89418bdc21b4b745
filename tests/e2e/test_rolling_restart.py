"""`concord restart --rolling all` under steady load loses no request.

The system as `make run` starts it (supervisord, 2 replicas of every component, the gateways sharing one port
with SO_REUSEPORT: the kernel is the load balancer), on its own vhost, ports and PostgreSQL server. Clients send a steady
~20 requests/s, reads and writes over profiles and cases, some on kept-alive connections and some on a new
connection each, while every replica of every component is replaced in turn. Every answer must be the one
expected (2xx); no 5xx, no connection error, no retry anywhere.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from concord_common import demo
from tests import support

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
RATE = 20            # requests per second, all clients together
CLIENTS = 10         # each waits for its answer: enough of them to keep the rate on a busy machine


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def own_postgres(database_server):
    """A throwaway PostgreSQL server of this module's own: the machine's is shared with other test runs, and a
    replica restarting while it is full (`too many clients`) cannot connect, which is not what is measured here.
    Falls back to the shared server where one cannot be started (not root, no binaries)."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        yield database_server
        return
    data = Path(tempfile.mkdtemp(prefix="concord-roll-pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = support.free_port()

    def as_postgres(*args):
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True, capture_output=True)

    try:
        as_postgres(PG_BIN / "initdb", "-D", data / "db", "-A", "trust", "-U", "postgres", "--no-sync")
        as_postgres(PG_BIN / "pg_ctl", "-D", data / "db", "-w", "-l", data / "log", "start", "-o",
                    f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data / "db"), "-m",
                        "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def supervised(tmp_path_factory, amqp_uri, own_postgres, database_prefix):
    var = tmp_path_factory.mktemp("var")
    port = support.free_port()
    env = dict(os.environ, CONCORD_VAR=str(var), AMQP_URI=amqp_uri, DATABASE_URL=own_postgres,
               DATABASE_PREFIX=f"{database_prefix}_roll", GATEWAY_ADDRESS=f"127.0.0.1:{port}",
               OPS_PORT_BASE=str(support.free_ops_port_base()), MAX_WORKERS="10", DB_POOL_SIZE="2",
               REPLICAS="2", GATEWAY_REPLICAS="2", RPC_TIMEOUT="10")

    def concord(*args, check=True):
        return subprocess.run([str(BIN / "concord"), *args], env=env, capture_output=True, text=True, check=check)

    concord("up")
    url = f"http://127.0.0.1:{port}"
    try:
        if concord("wait-ready", "--url", url, "--timeout", "120", check=False).returncode != 0:
            logs = {p.name: p.read_text()[-2000:] for p in (var / "log").glob("*.log")}
            pytest.fail(f"the system did not become ready: {logs}")
        seeded = concord("seed", "--url", url, check=False)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        session = requests.post(f"{url}/api/v1/sessions", json={"username": demo.DEMO_SIGN_IN,
                                                                "password": demo.DEMO_PASSWORD})
        assert session.status_code == 201, session.text
        yield {"url": url, "env": env, "concord": concord, "var": var,
               "auth": {"Authorization": "Bearer " + session.json()["token"]}}
    finally:
        concord("down", check=False)


class Load:
    """CLIENTS threads, together about RATE requests/s; every outcome counted."""

    def __init__(self, url, auth, profile_id):
        self.url, self.auth, self.profile_id = url, auth, profile_id
        self.outcomes = Counter()
        self.failures = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def request(self, session, n, i):
        kind = ("read profile", "write profile", "list cases", "write case", "search profiles")[(n + i) % 5]
        if kind == "read profile":
            return kind, session.get(f"{self.url}/api/v1/profiles/{self.profile_id}", headers=self.auth, timeout=30)
        if kind == "write profile":
            return kind, session.post(f"{self.url}/api/v1/profiles", headers=self.auth, timeout=30,
                                      json={"kind": "person", "given_name": f"Roll{n}x{i}", "family_name": "Load"})
        if kind == "list cases":
            return kind, session.get(f"{self.url}/api/v1/cases", headers=self.auth, timeout=30)
        if kind == "write case":
            return kind, session.post(f"{self.url}/api/v1/cases", headers=self.auth, timeout=30,
                                      json={"case_type": "asb", "title": f"Rolling {n}-{i}"})
        return kind, session.get(f"{self.url}/api/v1/profiles", params={"q": "Load"}, headers=self.auth, timeout=30)

    def fail(self, what):
        print(f"{time.strftime('%H:%M:%S')} FAILED {what}", flush=True)
        self.failures.append(what)

    def client(self, n):
        # Half the clients keep their connection alive; the others open one per request.
        session = requests.Session()
        if n % 2:
            session.headers["Connection"] = "close"
        interval, i = CLIENTS / RATE, 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            kind = "request"
            try:
                kind, response = self.request(session, n, i)
                self.outcomes[(kind, response.status_code)] += 1
                if not 200 <= response.status_code < 300:
                    self.fail(f"{kind}: {response.status_code} {response.text[:200]}")
            except requests.RequestException as exc:
                self.outcomes[("error", type(exc).__name__)] += 1
                self.fail(f"{kind}: connection error: {exc!r}")
            i += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=40)


def test_rolling_restart_of_everything_under_load_loses_nothing(supervised):
    url, auth = supervised["url"], supervised["auth"]
    created = requests.post(f"{url}/api/v1/profiles", headers=auth,
                            json={"kind": "person", "given_name": "Steady", "family_name": "Load"})
    assert created.status_code == 201, created.text
    started = time.monotonic()
    with Load(url, auth, created.json()["id"]) as load:
        time.sleep(2)
        restart = supervised["concord"]("restart", "--rolling", "all", check=False)
        time.sleep(2)
    elapsed = time.monotonic() - started
    total = sum(load.outcomes.values())
    print(restart.stdout)
    print(f"{total} requests in {elapsed:.0f}s ({total / elapsed:.1f}/s): {dict(load.outcomes)}")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert "rolling restart done" in restart.stdout
    assert total >= 2 * elapsed, "hardly any load"          # on a loaded machine slow answers slow the clients
    assert not load.failures, f"{len(load.failures)} failed of {total}: {load.failures[:10]}"
    # Every replica is a new process.
    status = subprocess.run([str(BIN / "supervisorctl"), "-c", str(supervised["var"] / "supervisord.conf"),
                             "status"], capture_output=True, text=True).stdout
    assert status.count("RUNNING") == 12, status
