"""Audit benchmark: ingestion into the hash chain through the real service, and verifying a million entries.

  .venv/bin/python bench/audit_bench.py [--events N] [--replicas R] [--publishers P] [--verify-entries M] [--quick]

1. Ingestion, live: R `concord serve audit` replicas on a vhost and database of
   their own; P publisher processes send N events (with publisher confirms, as
   outbox relays do); the clock runs from the first entry committed until the
   last (hashed, chained, checkpointed), while publishing goes on.
2. Ingestion, backlog: the replicas are stopped, N more events are queued, the
   replicas are started again; the clock runs from the first entry committed
   to the last (the service's own sustained rate, with no publisher in the way).
3. Verification: M entries (default 1,000,000) are generated with the service's
   own hashing code straight into a scratch database (COPY), with a signed
   checkpoint every 100,000; then the whole chain is verified as
   `concord audit verify` does, and timed.
Everything it creates (vhost, databases, processes) is removed afterwards.
"""
import importlib.util
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import eventlet  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from concord_common import migrate  # noqa: E402
from concord_common.context import Caller  # noqa: E402
from concord_common.db import NullPool, database_url, event_envelope  # noqa: E402
from concord_common.outbox import EventPublisher  # noqa: E402
from services.audit import chain, checkpoints, verification  # noqa: E402
from services.audit.chain import HASHED_FIELDS  # noqa: E402
from services.audit.models import AuditEntry  # noqa: E402

SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
QUEUE = "evt-profiles-#--audit.ingest_profiles"
MIGRATIONS = HERE.parent / "services" / "audit" / "migrations"
READER = Caller(kind="user", id="8c1d7c9e-0000-4000-8000-000000000001", organisation_id="org-bench",
                teams=({"id": "team-bench", "role": "practitioner"},))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, help="events per ingestion run (default 20000)")
    parser.add_argument("--replicas", type=int, default=2, help="audit replicas (default 2)")
    parser.add_argument("--publishers", type=int, default=2,
                        help="publisher processes for the live run (default 2), each with 2 connections")
    parser.add_argument("--publish-only", nargs=2, metavar=("COUNT", "AMQP_URI"), help=argparse.SUPPRESS)
    parser.add_argument("--verify-entries", type=int, help="entries to generate and verify (default 1000000)")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    args = parser.parse_args(argv)
    args.events = args.events or (2000 if args.quick else 20_000)
    args.verify_entries = args.verify_entries or (50_000 if args.quick else 1_000_000)
    return args


class AuditCluster(bench_run.Cluster):
    def __init__(self):
        super().__init__()
        self.checkpoint_dir = Path(tempfile.mkdtemp(prefix="concord-audit-bench-"))

    def environment(self) -> dict:
        env = super().environment()
        env.update(AUDIT_SIGNING_KEY=SIGNING_KEY, AUDIT_CHECKPOINT_DIR=str(self.checkpoint_dir), LOG_LEVEL="WARNING")
        return env

    def audit_config(self, name: str = "audit") -> dict:
        return {"DATABASE_URL": self.database_url, "DATABASE_NAME": f"{self.prefix}_{name}",
                "AUDIT_SIGNING_KEY": SIGNING_KEY, "AUDIT_CHECKPOINT_DIR": str(self.checkpoint_dir)}

    def queue_consumers(self, queue: str) -> int:
        from kombu import Connection
        with Connection(self.amqp_uri, connect_timeout=3) as conn:
            try:
                return conn.channel().queue_declare(queue, passive=True)[2]
            except Exception:
                return 0


def events_for(count: int) -> list[dict]:
    owner = {"organisation_id": READER.organisation_id, "team_id": "team-bench"}
    return [event_envelope("profiles", "profile.viewed", {"record": {"type": "profile", "id": str(uuid.uuid4())},
                                                          "owner": owner, "source_ip": "10.1.2.3"},
                           READER, uuid.uuid4().hex) for _ in range(count)]


def publish_in_processes(amqp_uri: str, count: int, processes: int) -> float:
    """The live run's publishers: separate processes (one Python process cannot publish as fast as
    two replicas ingest). Returns the seconds until the last one finished."""
    import subprocess
    started = time.perf_counter()
    shares = [count // processes + (1 if n < count % processes else 0) for n in range(processes)]
    children = [subprocess.Popen([sys.executable, __file__, "--publish-only", str(share), amqp_uri])
                for share in shares]
    for child in children:
        if child.wait() != 0:
            raise RuntimeError(f"a publisher process exited with {child.returncode}")
    return time.perf_counter() - started


def publish(amqp_uri: str, events: list[dict], publishers: int) -> float:
    """Publish with confirms from `publishers` connections at once; returns seconds taken."""
    def send(share):
        publisher = EventPublisher(amqp_uri)
        try:
            for event in share:
                publisher.publish("profiles.events", event["type"], event, {})
        finally:
            publisher.close()
    started = time.perf_counter()
    pool = eventlet.GreenPool(publishers)
    list(pool.imap(send, [events[n::publishers] for n in range(publishers)]))
    return time.perf_counter() - started


def bench_ingestion(cluster: AuditCluster, args) -> dict:
    figures = {}
    replicas = [cluster.start("audit") for _ in range(args.replicas)]
    cluster.wait_until(lambda: cluster.queue_consumers(QUEUE) >= args.replicas, f"{args.replicas} audit replicas")
    engine = create_engine(database_url(cluster.audit_config()), poolclass=NullPool)

    def stored() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(AuditEntry)).scalar()

    try:
        publish(cluster.amqp_uri, events_for(200), 4)                           # warm-up
        cluster.wait_until(lambda: stored() >= 200, "the warm-up events")
        before = stored()
        print(f"ingestion, live: {args.events} events, {args.publishers} publisher processes, {args.replicas} "
              f"replicas …", flush=True)
        publishing = eventlet.spawn(publish_in_processes, cluster.amqp_uri, args.events, args.publishers)
        cluster.wait_until(lambda: stored() > before, "the first live entry", timeout=120)
        started, at_start = time.perf_counter(), stored()
        cluster.wait_until(lambda: stored() >= before + args.events, "every event stored", timeout=600)
        elapsed = time.perf_counter() - started
        publish_seconds = publishing.wait()
        figures["live"] = {"events": args.events, "replicas": args.replicas, "publishers": args.publishers,
                           "seconds": elapsed, "entries_per_s": (before + args.events - at_start) / elapsed,
                           "publish_per_s": args.events / publish_seconds}

        print(f"ingestion, backlog: {args.events} events queued, then {args.replicas} replicas started …",
              flush=True)
        for process in replicas:
            process.popen.terminate()
            process.popen.wait(30)
        cluster.processes = [process for process in cluster.processes if process not in replicas]
        before = stored()
        publish(cluster.amqp_uri, events_for(args.events), 4)
        for _ in range(args.replicas):
            cluster.start("audit")
        cluster.wait_until(lambda: stored() > before, "the first backlog entry", timeout=120)
        first_seen, at_first = time.perf_counter(), stored()
        cluster.wait_until(lambda: stored() >= before + args.events, "the whole backlog", timeout=600)
        elapsed = time.perf_counter() - first_seen
        figures["backlog"] = {"events": args.events, "replicas": args.replicas, "seconds": elapsed,
                              "entries_per_s": (before + args.events - at_first) / elapsed}
        with engine.connect() as conn:
            batches = conn.execute(text("SELECT count(DISTINCT recorded_at) FROM audit_entries")).scalar()
        figures["mean_batch"] = stored() / batches
        started = time.perf_counter()
        result = verification.verify(engine, checkpoints.trusted_keys(cluster.audit_config()),
                                     checkpoints.Settings.from_config(cluster.audit_config()))
        figures["verify_after_ingestion"] = {"ok": result["ok"], "entries": result["entries"],
                                             "checkpoints_verified": result["checkpoints_verified"],
                                             "seconds": time.perf_counter() - started}
        if not result["ok"]:
            raise RuntimeError(f"the ingested chain does not verify: {result}")
    finally:
        engine.dispose()
    return figures


# -- a million entries, straight into a scratch database ----------------------------------------
def synthetic_entries(start: int, count: int, base: datetime) -> list[dict]:
    owner = {"organisation_id": READER.organisation_id, "team_id": "team-bench"}
    actor = READER.summary()
    rows = []
    for n in range(start, start + count):
        record_id = str(uuid.UUID(int=n + 1))
        rows.append({
            "event_id": str(uuid.uuid4()), "at": base + timedelta(microseconds=n * 1500),
            "recorded_at": base + timedelta(microseconds=n * 1500 + 700), "source": "profiles",
            "event_type": "profile.viewed", "action": "viewed", "actor": actor, "actor_id": actor["id"],
            "actor_organisation_id": actor["organisation_id"], "record_type": "profile", "record_id": record_id,
            "record_owner_organisation_id": owner["organisation_id"], "fields": None, "reason": None,
            "request_id": uuid.uuid4().hex, "source_ip": "10.1.2.3", "outcome": "success", "page_view": True,
            "data": {"record": {"type": "profile", "id": record_id}, "owner": owner, "source_ip": "10.1.2.3"},
        })
    return rows


def generate(url: str, total: int, config: dict, chunk: int = 50_000) -> dict:
    import psycopg
    signer = checkpoints.Signer.from_config(config)
    settings = checkpoints.Settings.from_config(config)
    columns = (*HASHED_FIELDS, "hash")
    json_columns = {"actor", "fields", "data"}
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    head_seq, head_hash = 0, chain.GENESIS
    hashing = copying = 0.0
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        for start in range(0, total, chunk):
            began = time.perf_counter()
            rows = chain.link(synthetic_entries(start, min(chunk, total - start), base), head_seq, head_hash)
            hashing += time.perf_counter() - began
            began = time.perf_counter()
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY audit_entries ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([json.dumps(row[name]) if name in json_columns and row[name] is not None
                                        else row[name] for name in columns])
            head_seq, head_hash = rows[-1]["seq"], rows[-1]["hash"]
            if head_seq % 100_000 == 0 or head_seq == total:
                at = chain.utc_text(datetime.now(timezone.utc))
                signed = {"seq": head_seq, "hash": head_hash, "at": at, "public_key": signer.public_key,
                          "signature": signer.sign(checkpoints.payload(head_seq, head_hash, at))}
                conn.execute("INSERT INTO audit_checkpoints (seq, hash, at, public_key, signature) "
                             "VALUES (%s, %s, %s, %s, %s)", (head_seq, head_hash, datetime.fromisoformat(
                                 at.replace("Z", "+00:00")), signer.public_key, signed["signature"]))
                checkpoints.append_to_file(settings, signed)
            conn.execute("UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1", (head_seq, head_hash))
            conn.commit()
            copying += time.perf_counter() - began
            print(f"  generated {head_seq:>9,} entries", end="\r", flush=True)
        conn.execute("ANALYZE audit_entries")
    print()
    return {"entries": total, "hashing_seconds": hashing, "copy_seconds": copying}


def bench_verify(cluster: AuditCluster, args) -> dict:
    config = cluster.audit_config("verifybench")
    url = database_url(config)
    migrate.upgrade(url, MIGRATIONS)
    print(f"verification: generating {args.verify_entries:,} entries with the service's hashing code …", flush=True)
    generated = generate(url, args.verify_entries, config)
    engine = create_engine(url, poolclass=NullPool)
    try:
        print(f"verification: verifying {args.verify_entries:,} entries …", flush=True)
        started = time.perf_counter()
        result = verification.verify(engine, checkpoints.trusted_keys(config), checkpoints.Settings.from_config(config))
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    if not result["ok"] or result["entries"] != args.verify_entries:
        raise RuntimeError(f"the generated chain does not verify: {result}")
    return {"generated": generated, "entries": result["entries"],
            "checkpoints_verified": result["checkpoints_verified"],
            "seconds": elapsed, "entries_per_s": result["entries"] / elapsed}


def report(figures: dict) -> str:
    lines = []
    ingestion = figures.get("ingestion") or {}
    if "live" in ingestion:
        live = ingestion["live"]
        lines.append(f"ingestion, live     {live['events']:>9,} events  {live['seconds']:8.1f} s  "
                     f"{live['entries_per_s']:8.0f} entries/s   ({live['replicas']} replicas; {live['publishers']} "
                     f"publisher processes alone: {live['publish_per_s']:.0f}/s)")
    if "backlog" in ingestion:
        backlog = ingestion["backlog"]
        lines.append(f"ingestion, backlog  {backlog['events']:>9,} events  {backlog['seconds']:8.1f} s  "
                     f"{backlog['entries_per_s']:8.0f} entries/s   (mean batch {ingestion['mean_batch']:.0f} entries)")
    if "verify" in figures:
        verify = figures["verify"]
        generated = verify["generated"]
        lines.append(f"verify              {verify['entries']:>9,} entries {verify['seconds']:8.1f} s  "
                     f"{verify['entries_per_s']:8.0f} entries/s   ({verify['checkpoints_verified']} checkpoints; "
                     f"generating took {generated['hashing_seconds']:.0f} s hashing + "
                     f"{generated['copy_seconds']:.0f} s COPY)")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.publish_only:
        count, amqp_uri = int(args.publish_only[0]), args.publish_only[1]
        publish(amqp_uri, events_for(count), 2)
        return 0
    cluster = AuditCluster()
    figures, failure = {"machine": {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}}, None
    try:
        cluster.open()
        figures["ingestion"] = bench_ingestion(cluster, args)
        figures["verify"] = bench_verify(cluster, args)
    except BaseException as exc:
        failure = exc
    cluster.close()
    problems = cluster.problems()
    print("\n" + report(figures))
    results = HERE / "results" / "audit-latest.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   "options": vars(args), "figures": figures, "problems": problems},
                                  indent=2, default=str) + "\n")
    for problem in problems:
        print(f"! {problem}", file=sys.stderr)
    if failure:
        print(f"benchmark failed: {failure!r}; process logs in {cluster.log_dir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
