"""Reliable event handling: bounded retries, then a visible, replayable dead letter; idempotence."""
import pytest
from sqlalchemy import create_engine, func, select

from concord_common import operations
from concord_common.db import event_envelope, unit_of_work
from concord_common.events import dead_letter_queue_name
from concord_common.outbox import EventPublisher
from services.audit.models import AuditEntry
from services.audit.service import AuditService
from tests import support
from tests.integration.listener import QUEUE, Listener


@pytest.fixture
def listener(service_config, run_services):
    Listener.reset()
    run_services(service_config("cases"), Listener)
    return Listener


def test_failing_handler_is_retried_then_dead_lettered_and_can_be_replayed(outbox_db, relay, listener, amqp_uri):
    listener.fail_times = 100
    with unit_of_work(outbox_db, "testsrc") as uow:
        sent = uow.add_event("thing.happened", {"n": 1})
    relay()
    dlq = dead_letter_queue_name(QUEUE)
    support.wait_for(lambda: support.queue_depth(amqp_uri, dlq) == 1, message="dead letter")
    assert listener.calls == [sent["id"]] * 3          # first try + two retries (test config)
    assert listener.received == []

    [parked] = operations.peek_dead_letters(amqp_uri, QUEUE)
    assert parked["attempts"] == 3
    assert "failing on purpose" in parked["error"]
    assert parked["body"]["id"] == sent["id"]
    assert support.queue_depth(amqp_uri, dlq) == 1     # peeking leaves it there

    listener.fail_times = 0                            # the bug is fixed; the operator replays
    assert operations.replay_dead_letters(amqp_uri, QUEUE) == 1
    support.wait_for(lambda: listener.received, message="replayed delivery")
    assert listener.received[0]["id"] == sent["id"]
    assert support.queue_depth(amqp_uri, dlq) == 0


def test_transient_failure_succeeds_on_retry(outbox_db, relay, listener, amqp_uri):
    listener.fail_times = 1
    with unit_of_work(outbox_db, "testsrc") as uow:
        uow.add_event("thing.happened", {"n": 2})
    relay()
    support.wait_for(lambda: listener.received, message="delivery after one retry")
    assert len(listener.calls) == 2
    assert not support.queue_depth(amqp_uri, dead_letter_queue_name(QUEUE))


@pytest.fixture
def audit(service_config, run_services):
    config = service_config("audit")
    run_services(config, AuditService)
    engine = create_engine(support.database_url_for(config))
    yield config, engine
    engine.dispose()


def audit_count(engine, event_id):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.event_id == event_id)).scalar()


def test_redelivered_event_has_no_second_effect(audit, amqp_uri):
    config, engine = audit
    envelope = event_envelope("profiles", "profile.viewed", {"record": {"type": "profile", "id": "p-1"}},
                              None, "req-dup")
    publisher = EventPublisher(amqp_uri, support.keyring("profiles"))
    for _ in range(3):
        publisher.publish("profiles.events", envelope["type"], envelope, {})
    support.wait_for(lambda: audit_count(engine, envelope["id"]) == 1, message="ingestion")
    marker = event_envelope("profiles", "profile.viewed", {"record": {"type": "profile", "id": "p-2"}}, None, None)
    publisher.publish("profiles.events", marker["type"], marker, {})
    support.wait_for(lambda: audit_count(engine, marker["id"]) == 1, message="the marker after the duplicates")
    assert audit_count(engine, envelope["id"]) == 1


def test_malformed_event_is_dead_lettered_at_once_with_the_reason(audit, amqp_uri):
    config, engine = audit
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(AuditEntry)).scalar()
    queue = "evt-profiles-#--audit.ingest_profiles"
    dlq = dead_letter_queue_name(queue)
    parked_before = support.queue_depth(amqp_uri, dlq) or 0      # other tests share this run's vhost
    bad = {"id": "not-a-uuid", "type": "profile.viewed", "data": {"marker": "malformed-test"}}  # no caller/time
    EventPublisher(amqp_uri, support.keyring("profiles")).publish("profiles.events", "profile.viewed", bad, {})
    support.wait_for(lambda: (support.queue_depth(amqp_uri, dlq) or 0) == parked_before + 1, message="dead letter")
    parked = [item for item in operations.peek_dead_letters(amqp_uri, queue, limit=100)
              if item["body"].get("data", {}).get("marker") == "malformed-test"]
    assert len(parked) == 1
    assert parked[0]["attempts"] == 1
    assert "ValidationFailed" in parked[0]["error"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEntry)).scalar() == before
