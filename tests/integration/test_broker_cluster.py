"""A three-node RabbitMQ cluster this test starts on spare ports, with quorum queues: one node SIGKILLed while
10,000 audited events flow (publishers and both audit replicas on it, and the queue's leader), and still exactly
10,000 entries, none doubled, the chain intact. Publishing is at least once (a publish the dead node never
confirmed is sent again); the audit service's event ids make a resent one count once."""
import os
import shutil
import time
import uuid
from pathlib import Path

import eventlet
import pytest
from amqp.exceptions import NotFound
from kombu import Connection
from sqlalchemy import create_engine, func, select

from concord_common.events import dead_letter_queue_name
from concord_common.outbox import EventPublisher
from services.audit import checkpoints, verification
from services.audit.models import AuditEntry
from tests import support
from tests.brokers import ThrowawayCluster
from tests.integration.test_audit_ingest import PAT, make_event
from tests.integration.test_audit_replicas import QUEUE, SIGNING_KEY, Replicas

pytestmark = pytest.mark.slow
EVENTS = 10_000


@pytest.fixture
def cluster(tmp_path):
    if not shutil.which("rabbitmq-server") and not Path("/usr/sbin/rabbitmq-server").exists():
        pytest.skip("rabbitmq-server is not installed")
    nodes = ThrowawayCluster(tmp_path / "cluster")
    try:
        nodes.start()
    except (OSError, RuntimeError) as exc:
        nodes.stop()
        pytest.skip(f"a three-node RabbitMQ cluster could not start here: {exc}")
    try:
        yield nodes
    finally:
        nodes.stop()


def queue_state(uri: str) -> tuple[int, int]:
    """(messages, consumers) of the audit's profiles queue, asked of any node that answers."""
    with Connection(uri, connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=3)
        try:
            _, messages, consumers = conn.channel().queue_declare(QUEUE, passive=True)
        except NotFound:                        # not declared yet: no replica has started consuming
            return 0, 0
        return messages, consumers


def dead_letters(uri: str) -> int:
    with Connection(uri, connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=3)
        try:
            return conn.channel().queue_declare(dead_letter_queue_name(QUEUE), passive=True)[1]
        except NotFound:                        # declared only when something is dead-lettered
            return 0


def publish_all(uri: str, events: list[dict]) -> int:
    """Publish every event with confirms; on a lost node, reconnect (to another) and send the unconfirmed one
    again. Returns how many publishes were repeated."""
    publisher, repeats = None, 0
    for event in events:
        while True:
            try:
                publisher = publisher or EventPublisher(uri, support.keyring("profiles"))
                publisher.publish("profiles.events", event["type"], event, {})
                break
            except Exception:
                repeats += 1
                if publisher is not None:
                    try:
                        publisher.close()
                    except Exception:
                        pass
                publisher = None
                eventlet.sleep(0.2)
    publisher.close()
    return repeats


@pytest.mark.timeout(900)
def test_a_node_killed_under_10000_audited_events_loses_and_doubles_nothing(cluster, database_server,
                                                                              database_prefix, tmp_path):
    prefix = f"{database_prefix}_c{uuid.uuid4().hex[:6]}"
    config = {"DATABASE_URL": database_server, "DATABASE_NAME": f"{prefix}_audit", "AUDIT_SIGNING_KEY": SIGNING_KEY,
              "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}
    env = dict(os.environ, AMQP_URI=cluster.uri, DATABASE_URL=database_server, DATABASE_PREFIX=prefix,
               AUDIT_SIGNING_KEY=SIGNING_KEY, AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
               EVENT_RETRY_DELAYS="[0.5, 1, 2]", LOG_LEVEL="WARNING", **support.key_env("audit"))
    env.pop("OPS_PORT", None)
    group = Replicas(env, tmp_path)
    try:
        group.start("audit-1")
        group.start("audit-2")
        support.wait_for(lambda: queue_state(cluster.uri)[1] == 2, timeout=120, interval=0.5,
                         message="two audit replicas consuming\n" + group.logs())
        quorum = cluster.nodes[0].ctl("list_queues", "name", "type", "members")
        assert QUEUE in quorum and "quorum" in quorum

        engine = create_engine(support.database_url_for(config))

        def stored() -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(AuditEntry)).scalar()

        events = [make_event("profile.viewed", {"record": {"type": "profile", "id": f"p-{n}"}}, caller=PAT,
                             request_id=f"req-{n}") for n in range(EVENTS)]
        publishing = eventlet.spawn(publish_all, cluster.uri, events)
        support.wait_for(lambda: stored() >= 2_000, timeout=180, message="the first 2,000 entries")
        cluster.nodes[0].kill()                 # everyone's node, and the leader of the queues declared on it
        killed_at = stored()
        repeats = publishing.wait()
        support.wait_for(lambda: stored() >= EVENTS, timeout=300, interval=0.5,
                         message=f"{EVENTS} entries\n" + group.logs())
        time.sleep(2.0)                         # anything doubled would show up now
        assert stored() == EVENTS
        with engine.connect() as conn:
            assert conn.execute(select(func.count(func.distinct(AuditEntry.event_id)))).scalar() == EVENTS
            assert conn.execute(select(func.max(AuditEntry.seq))).scalar() == EVENTS
        assert queue_state(cluster.uri)[0] == 0
        assert dead_letters(cluster.uri) == 0
        assert 2_000 <= killed_at < EVENTS
        result = verification.verify(engine, checkpoints.trusted_keys(config), checkpoints.Settings.from_config(config))
        assert result["ok"], result
        print(f"\nnode killed at {killed_at} entries; {repeats} publish(es) repeated; {EVENTS} entries, chain ok")
    finally:
        group.stop_all()
        support.drop_databases(database_server, prefix)
