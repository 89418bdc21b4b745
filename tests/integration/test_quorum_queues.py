"""Quorum queues: the services declare their event, retry and dead-letter queues as quorum (QUORUM_QUEUES, on by
default), and `concord broker quorum-queues` turns a broker's classic ones into quorum keeping every message and
binding, so the services start on it afterwards."""
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from concord_common import broker, queue_migration
from concord_common.events import dead_letter_queue, retry_queue
from tests import support

MAIN = "evt-cases-case.created--notifications.on_case_created"
EXCHANGE = Exchange("cases.events", type="topic", durable=True)


@pytest.fixture
def vhost(broker_root):
    name = f"concord-quorum-{uuid.uuid4().hex[:8]}"
    if not support.create_vhost(broker_root, name):
        pytest.skip("cannot create a RabbitMQ vhost")
    try:
        yield name, support.uri_with_vhost(broker_root, name)
    finally:
        support.delete_vhost(broker_root, name)


def depth(uri, queue) -> int:
    with Connection(uri) as conn:
        return conn.channel().queue_declare(queue, passive=True)[1]


def types(broker_root, vhost) -> dict[str, str]:
    return {queue["name"]: queue["type"] for queue in broker._Ctl(broker_root).queues(vhost)}


def test_classic_event_queues_become_quorum_with_their_messages_and_bindings(broker_root, vhost):
    name, uri = vhost
    with Connection(uri) as conn:                       # what an older Concord declared: classic queues
        channel = conn.channel()
        Queue(MAIN, exchange=EXCHANGE, routing_key="case.created", durable=True)(channel).declare()
        retry_queue(MAIN, 0.5, quorum=False)(channel).declare()
        dead_letter_queue(MAIN, quorum=False)(channel).declare()
        producer = conn.Producer(channel=channel)
        for n in range(5):
            producer.publish({"n": n}, exchange=EXCHANGE, routing_key="case.created", delivery_mode=2)
        for n in range(2):
            producer.publish({"dead": n}, exchange="", routing_key=f"{MAIN}.dlq", delivery_mode=2)
    support.wait_for(lambda: depth(uri, MAIN) == 5 and depth(uri, f"{MAIN}.dlq") == 2, message="the messages")

    with Connection(uri) as conn:                       # a consumer attached: it refuses, touching nothing
        channel = conn.channel()
        channel.basic_consume(MAIN, callback=lambda *a: None)
        with pytest.raises(SystemExit, match="stop the services first"):
            queue_migration.migrate(broker_root, name, report=lambda line: None)
    assert types(broker_root, name)[MAIN] == "classic"

    migrated = queue_migration.migrate(broker_root, name, report=lambda line: None)
    assert set(migrated) == {MAIN, f"{MAIN}.retry.500ms", f"{MAIN}.dlq"}
    after = types(broker_root, name)
    assert {after[queue] for queue in migrated} == {"quorum"} and not any(q.endswith(".to-quorum") for q in after)
    assert depth(uri, MAIN) == 5 and depth(uri, f"{MAIN}.dlq") == 2
    with Connection(uri) as conn:                       # the binding came along; the code's declarations agree
        channel = conn.channel()
        conn.Producer(channel=channel).publish({"n": 5}, exchange=EXCHANGE, routing_key="case.created")
        retry_queue(MAIN, 0.5)(channel).declare()
        dead_letter_queue(MAIN)(channel).declare()
        Queue(MAIN, exchange=EXCHANGE, routing_key="case.created", durable=True,
              queue_arguments={"x-queue-type": "quorum"})(channel).declare()
    support.wait_for(lambda: depth(uri, MAIN) == 6, message="the new event routed to the quorum queue")
    assert queue_migration.migrate(broker_root, name, report=lambda line: None) == []     # nothing left to do
