"""Nothing lost, nothing doubled: 10,000 events into two audit replicas, one SIGKILLed and restarted.

The replicas are real `concord serve audit` processes (so the kill is real:
no shutdown, unacked messages and an open transaction simply vanish) on a
vhost and database of their own.
"""
import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import eventlet
import pytest
from sqlalchemy import create_engine, func, select

from concord_common.events import dead_letter_queue_name
from concord_common.rpc import rpc_queue_name
from services.audit import checkpoints, verification
from services.audit.models import AuditEntry
from tests import support
from tests.integration.test_audit_ingest import PAT, make_event

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = base64.b64encode(bytes(range(50, 82))).decode()
QUEUE = "evt-profiles-#--audit.ingest_profiles"
EVENTS = 10_000


def consumers(amqp_uri, queue) -> int:
    from kombu import Connection
    with Connection(amqp_uri, connect_timeout=3) as conn:
        channel = conn.channel()
        try:
            return channel.queue_declare(queue, passive=True)[2]
        except Exception:
            return 0


class Replicas:
    def __init__(self, env, log_dir):
        self.env, self.log_dir, self.processes = env, log_dir, {}

    def start(self, name):
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen([str(BIN / "concord"), "serve", "audit"], cwd=ROOT, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self.processes[name]

    def kill(self, name):
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def replicas(broker_root, database_server, database_prefix, tmp_path):
    vhost = f"concord-audit-kill-{uuid.uuid4().hex[:8]}"
    if not support.create_vhost(broker_root, vhost):
        pytest.skip("cannot create a RabbitMQ vhost")
    amqp_uri = support.uri_with_vhost(broker_root, vhost)
    env = dict(os.environ, AMQP_URI=amqp_uri, DATABASE_URL=database_server, DATABASE_PREFIX=f"{database_prefix}_x",
               AUDIT_SIGNING_KEY=SIGNING_KEY, AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
               EVENT_RETRY_DELAYS="[0.5, 1, 2]", LOG_LEVEL="WARNING", **support.key_env("audit"))
    env.pop("OPS_PORT", None)
    group = Replicas(env, tmp_path)
    config = {"DATABASE_URL": database_server, "DATABASE_NAME": f"{database_prefix}_x_audit",
              "AUDIT_SIGNING_KEY": SIGNING_KEY, "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}
    try:
        yield group, amqp_uri, config
    finally:
        group.stop_all()
        support.delete_vhost(broker_root, vhost)


def test_ten_thousand_events_two_replicas_one_killed_exactly_ten_thousand_entries(replicas):
    group, amqp_uri, config = replicas
    group.start("audit-1")
    group.start("audit-2")
    support.wait_for(lambda: consumers(amqp_uri, QUEUE) == 2 and consumers(amqp_uri, rpc_queue_name("audit")) == 2,
                     timeout=90, message="two audit replicas consuming\n" + group.logs())
    engine = create_engine(support.database_url_for(config))

    def stored() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(AuditEntry)).scalar()

    events = [make_event("profile.viewed", {"record": {"type": "profile", "id": f"p-{n}"}}, caller=PAT,
                         request_id=f"req-{n}") for n in range(EVENTS)]

    def publish_all():
        publisher = support.SignedPublisher(amqp_uri)
        try:
            for event in events:
                publisher.publish("profiles.events", event["type"], event, {})
        finally:
            publisher.close()

    publishing = eventlet.spawn(publish_all)
    try:
        support.wait_for(lambda: stored() >= 2_000, timeout=120, message="the first 2,000 entries")
        group.kill("audit-1")                       # mid-batch, with up to max_workers events unacked
        killed_at = stored()
        time.sleep(1.0)
        group.start("audit-1")
        publishing.wait()
        support.wait_for(lambda: stored() >= EVENTS, timeout=240, interval=0.5,
                         message=f"{EVENTS} entries\n" + group.logs())
        time.sleep(2.0)                             # anything doubled would show up now
        assert stored() == EVENTS
        with engine.connect() as conn:
            distinct = conn.execute(select(func.count(func.distinct(AuditEntry.event_id)))).scalar()
            assert distinct == EVENTS
            assert conn.execute(select(func.max(AuditEntry.seq))).scalar() == EVENTS
        assert not support.queue_depth(amqp_uri, dead_letter_queue_name(QUEUE))
        assert 2_000 <= killed_at < EVENTS
        result = verification.verify(engine, checkpoints.trusted_keys(config), checkpoints.Settings.from_config(config))
        assert result["ok"], result
        assert result["entries"] == EVENTS and result["checkpoints_verified"] >= 9
    finally:
        publishing.kill()
        engine.dispose()
