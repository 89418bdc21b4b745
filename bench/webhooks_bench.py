"""Webhooks benchmark: what subscriptions add to the write that causes the event, and delivery throughput to a
local HTTPS receiver.

  .venv/bin/python bench/webhooks_bench.py [--writes N] [--subscriptions S]

1. Starts the five services and a gateway (`concord serve …`, bench/run.py's Cluster) with webhooks allowed to a
   receiver on this machine (WEBHOOKS_ALLOW_PRIVATE, a CA made for the run) and the notifications service's sender
   off at first; an HTTPS receiver (tests/webhook_receivers.py) runs in a process of its own. Signs in as the demo
   practitioner (pc.khan) and the administrator of the same organisation (insp.shah).
2. The write path: N (default 300) `POST /api/v1/profiles` one after another with no subscription, then again with
   S (default 20) subscriptions to profile.created. The event handler writes S delivery rows per event (the sender is
   off, so nothing else competes for the two cores): what a subscription costs the write, if anything.
3. Throughput: the notifications service is restarted with its sender on; while the N×S deliveries waiting go out,
   N writes are timed again (the write with sending competing for the same CPU), and the time until every delivery,
   theirs too, is recorded delivered gives deliveries/s end to end (claim, access check with the profiles service,
   signing, HTTPS POST, outcome). The floor: as many signed POSTs sent straight from this process with the same
   client code and concurrency (no broker, no database, no access check).
Prints the figures; bench/results/webhooks_latest.json has them all. Everything is removed afterwards.
"""
import base64
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
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import eventlet  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import demo  # noqa: E402
from services.notifications import webhook_delivery  # noqa: E402
from tests.webhook_receivers import Certificates, Receiver  # noqa: E402

RESULTS = HERE / "results" / "webhooks_latest.json"
CONCURRENCY = 50


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--serve-receiver", nargs=2, metavar=("CERT_DIR", "PORT_FILE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


class _Files:
    """Certificates made by the parent process, as Receiver wants them."""

    def __init__(self, directory):
        self.cert_file, self.key_file = Path(directory) / "server.pem", Path(directory) / "server.key"

    server_context = Certificates.server_context


def serve_receiver(cert_dir: str, port_file: str) -> int:
    receiver = Receiver(_Files(cert_dir), "ok")
    Path(port_file).write_text(str(receiver.server.server_address[1]))
    while True:
        time.sleep(3600)


def start_receiver(certificates) -> tuple:
    port_file = Path(tempfile.mkdtemp(prefix="concord-bench-receiver-")) / "port"
    process = subprocess.Popen([sys.executable, __file__, "--serve-receiver", str(certificates.directory),
                                str(port_file)])
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the receiver did not start")
        time.sleep(0.1)
    return process, f"https://127.0.0.1:{port_file.read_text()}/hooks/concord"


def restart(cluster, component: str, **environment) -> None:
    for process in [p for p in cluster.processes if p.name.startswith(component + "-")]:
        process.popen.terminate()
        process.popen.wait(60)
        cluster.processes.remove(process)
    os.environ.update(environment)
    cluster.start(component)
    cluster.wait_until(lambda: cluster.consumers(component) > 0, f"{component} to consume again")


def sign_in(base, username):
    token = bench_run.expect(requests.post(f"{base}/api/v1/sessions", json={
        "username": username, "password": demo.DEMO_PASSWORD}, timeout=30), 201)["token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def write(session, base, given="Bench"):
    response = session.post(f"{base}/api/v1/profiles", json={"kind": "person", "given_name": given,
                                                              "family_name": f"Hook{uuid.uuid4().hex[:8]}"}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def timed_writes(session, base, count) -> dict:
    for _ in range(20):
        write(session, base, "Warmup")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        write(session, base)
        samples.append(time.perf_counter() - started)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p95_ms": round(cuts[94] * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2), "mean_ms": round(statistics.fmean(samples) * 1000, 2)}


def delivered(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")).scalar()


def wait_delivered(engine, total, timeout=600) -> float:
    deadline = time.monotonic() + timeout
    while delivered(engine) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {delivered(engine)} of {total} deliveries after {timeout}s")
        time.sleep(0.05)
    return time.monotonic()


def floor(receiver_url, count, ca_file) -> float:
    """Signed POSTs straight to the receiver with the service's own client code, CONCURRENCY at once."""
    settings = webhook_delivery.Settings(allow_private=True, ca_file=ca_file, per_subscription=CONCURRENCY)
    body = {"id": str(uuid.uuid4()), "type": "profile.created", "occurred_at": "now", "data": {"record": {}}}
    started = time.monotonic()
    outcomes = list(eventlet.GreenPool(CONCURRENCY).imap(
        lambda _: webhook_delivery.post(receiver_url, body, "whsec_floor", settings), range(count)))
    failed = [outcome.error for outcome in outcomes if not outcome.ok]
    if failed:
        print(f"! {len(failed)} of the floor's direct POSTs failed, e.g. {failed[0]}")
    return count / (time.monotonic() - started)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_receiver:
        return serve_receiver(*args.serve_receiver)
    certificates = Certificates()
    receiver, receiver_url = start_receiver(certificates)
    os.environ.update(WEBHOOKS_ALLOW_PRIVATE="true", WEBHOOKS_CA_FILE=str(certificates.ca_file),
                      WEBHOOKS_POLL_SECONDS="0.1", WEBHOOKS_CONCURRENCY=str(CONCURRENCY), WEBHOOKS_SENDER="false",
                      WEBHOOKS_SEALING_KEYS="kbench:" + base64.b64encode(os.urandom(32)).decode())
    cluster = bench_run.Cluster()
    try:
        cluster.start_all()
        base = cluster.gateway_url
        practitioner, admin = sign_in(base, demo.DEMO_SIGN_IN), sign_in(base, "insp.shah")
        url = make_url(cluster.database_url).set(database=f"{cluster.prefix}_notifications")
        engine = create_engine(url.render_as_string(hide_password=False))
        print(f"timing {args.writes} profile writes with no webhook subscription …", flush=True)
        without = timed_writes(practitioner, base, args.writes)
        for _ in range(args.subscriptions):
            made = admin.post(f"{base}/api/v1/webhooks", json={"url": receiver_url, "events": ["profile.created"]},
                              timeout=30)
            assert made.status_code == 201, made.text
        print(f"timing {args.writes} profile writes with {args.subscriptions} subscriptions (sender off) …", flush=True)
        with_subscriptions = timed_writes(practitioner, base, args.writes)
        backlog = (args.writes + 20) * args.subscriptions
        deadline = time.monotonic() + 120
        while True:                                   # every event fanned out before the sender starts
            with engine.connect() as conn:
                pending = conn.execute(text("SELECT count(*) FROM webhook_deliveries "
                                            "WHERE status = 'pending'")).scalar()
            if pending >= backlog or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        print(f"sender on: {pending} deliveries waiting; timing {args.writes} writes while they go out …", flush=True)
        before = delivered(engine)
        restart(cluster, "notifications", WEBHOOKS_SENDER="true")
        started = time.monotonic()
        while_sending = timed_writes(practitioner, base, args.writes)
        total = pending + (args.writes + 20) * args.subscriptions
        finished = wait_delivered(engine, before + total)
        drain = {"deliveries": total, "seconds": round(finished - started, 2),
                 "deliveries_per_s": round(total / (finished - started), 1)}
        figures = {"writes_without_subscriptions": without, "writes_with_subscriptions_sender_off": with_subscriptions,
                   "writes_while_deliveries_go_out": while_sending, "subscriptions": args.subscriptions,
                   "delivery_throughput": drain,
                   "floor_direct_posts_per_s": round(floor(receiver_url, pending, str(certificates.ca_file)), 1),
                   "load_average": list(os.getloadavg())}
        print(json.dumps(figures, indent=2))
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2))
        for line in cluster.problems():
            print("! " + line)
        return 0
    finally:
        cluster.close()
        receiver.terminate()


if __name__ == "__main__":
    sys.exit(main())
