"""Transactional outbox: stored with the change, relayed with confirms, nothing lost or invented."""
import subprocess
import sys

import pytest
from kombu import Connection, Queue
from sqlalchemy import select, text, update

from concord_common.context import Caller
from concord_common.db import unit_of_work
from concord_common.messaging_tables import outbox
from concord_common.outbox import event_exchange
from tests import support
from tests.integration.listener import Listener

ALICE = Caller(kind="user", id="u-alice", organisation_id="org-1", teams=({"id": "t-1", "role": "practitioner"},))


@pytest.fixture
def listener(service_config, run_services):
    Listener.reset()
    run_services(service_config("cases"), Listener)
    return Listener


def outbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox)).all()


def test_committed_event_is_relayed_with_its_caller_context(outbox_db, relay, listener):
    with unit_of_work(outbox_db, "testsrc", ALICE, "req-committed-1") as uow:
        sent = uow.add_event("thing.happened", {"n": 1})
    relay()
    support.wait_for(lambda: listener.received, message="delivery")
    [got] = listener.received
    assert got["id"] == sent["id"]
    assert got["data"] == {"n": 1}
    assert got["caller"]["id"] == "u-alice" and got["request_id"] == "req-committed-1"
    support.wait_for(lambda: outbox_rows(outbox_db)[0].published_at is not None, message="published mark")


def test_rolled_back_transaction_publishes_nothing(outbox_db, relay, listener):
    with pytest.raises(RuntimeError):
        with unit_of_work(outbox_db, "testsrc") as uow:
            uow.add_event("thing.happened", {"n": "never"})
            raise RuntimeError("the change failed")
    with unit_of_work(outbox_db, "testsrc") as uow:
        marker = uow.add_event("thing.happened", {"n": "after"})
    relay()
    support.wait_for(lambda: listener.received, message="the later event")
    assert [event["id"] for event in listener.received] == [marker["id"]]
    assert len(outbox_rows(outbox_db)) == 1


CRASHING_WRITER = """
import os, sys
import concord_common
from concord_common.db import make_engine, unit_of_work
engine = make_engine(sys.argv[1])
with unit_of_work(engine, "testsrc") as uow:
    uow.add_event("thing.happened", {"n": "orphan"})
os._exit(9)   # dies after commit, before any relay could publish
"""


def test_event_committed_by_a_process_that_died_is_still_delivered(outbox_db, relay, listener):
    url = outbox_db.url.render_as_string(hide_password=False)
    result = subprocess.run([sys.executable, "-c", CRASHING_WRITER, url], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    [row] = outbox_rows(outbox_db)
    assert row.published_at is None
    relay()   # a restarted (or other) replica
    support.wait_for(lambda: listener.received, message="the orphaned event")
    assert listener.received[0]["data"] == {"n": "orphan"}


def test_event_no_queue_is_bound_to_is_kept_and_reported_then_delivered(outbox_db, relay, amqp_uri, caplog):
    with unit_of_work(outbox_db, "testsrc") as uow:
        sent = uow.add_event("nobody.listens", {"n": 1})
    relay()
    row = support.wait_for(lambda: [r for r in outbox_rows(outbox_db) if r.attempts >= 1], message="a try")[0]
    assert row.published_at is None
    assert "unroutable" in row.last_error
    assert any("unroutable" in record.getMessage() for record in caplog.records)

    # An operator binds a consumer; the retried event then reaches it.
    queue = Queue("late-binder", exchange=event_exchange("testsrc.events"), routing_key="nobody.listens", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.channel()).declare()
    with outbox_db.begin() as conn:
        conn.execute(update(outbox).values(next_attempt_at=text("now()")))
    support.wait_for(lambda: support.queue_depth(amqp_uri, "late-binder") == 1, message="late delivery")
    with Connection(amqp_uri) as conn:
        message = conn.SimpleQueue(queue).get(timeout=2)
        assert message.payload["id"] == sent["id"]
        message.ack()


class _BrokerGoneAfter:
    """An EventPublisher stand-in that confirms `confirmed` events, then loses the broker (as a node dying
    mid-batch does); what it confirmed is kept."""

    def __init__(self, confirmed: int):
        self.confirmed, self.sent = confirmed, []

    def publish(self, exchange, event_type, envelope, headers):
        if len(self.sent) == self.confirmed:
            raise ConnectionResetError("the broker went away")
        self.sent.append(envelope["id"])


def test_a_batch_cut_short_by_the_broker_marks_what_was_confirmed_and_sends_nothing_twice(outbox_db):
    from concord_common.outbox import relay_batch
    with unit_of_work(outbox_db, "testsrc", ALICE, "req-batch") as uow:
        ids = [uow.add_event("thing.happened", {"n": n})["id"] for n in range(5)]
    first = _BrokerGoneAfter(confirmed=2)
    with pytest.raises(ConnectionResetError):
        relay_batch(outbox_db, first)
    rows = {row.id: row for row in outbox_rows(outbox_db)}
    assert [bool(rows[i].published_at) for i in ids] == [True, True, False, False, False]
    assert [rows[i].attempts for i in ids] == [1, 1, 0, 0, 0]
    again = _BrokerGoneAfter(confirmed=10)
    assert relay_batch(outbox_db, again) == 3
    assert first.sent + again.sent == ids                      # each once, in order
    assert all(row.published_at for row in outbox_rows(outbox_db))
