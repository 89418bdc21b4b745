"""The outbox relay: publishes committed events with publisher confirms.

Every service replica runs one. Rows are claimed with FOR UPDATE SKIP LOCKED,
so replicas share the work; a row is marked published only after the broker
confirmed it. Events are published `mandatory`: one that no queue is bound to
comes back from the broker, stays in the outbox marked unroutable, is logged
as an error and retried with backoff (an operator sees it with
`concord outbox list`).
"""
import logging
import threading
from datetime import timedelta

from kombu import Exchange
from nameko.amqp.publish import Publisher, UndeliverableMessage
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from concord_common import metrics
from concord_common.messaging_tables import outbox

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_BACKOFF_SECONDS = 300


def event_exchange(name: str) -> Exchange:
    # The same declaration nameko's event handlers use for `<service>.events`.
    return Exchange(name, type="topic", durable=True, auto_delete=False)


class EventPublisher:
    """Publishes event envelopes with confirms and the mandatory flag."""

    def __init__(self, amqp_uri: str):
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)

    def publish(self, exchange: str, event_type: str, envelope: dict, headers: dict) -> None:
        """Raises UndeliverableMessage if no queue is bound for the event."""
        self.publisher.publish(
            envelope, exchange=event_exchange(exchange), routing_key=event_type,
            declare=[event_exchange(exchange)], headers=dict(headers),
            message_id=envelope["id"], serializer="json",
            retry=True, retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5})


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, MAX_BACKOFF_SECONDS))


def relay_batch(engine, publisher: EventPublisher, batch_size: int = BATCH_SIZE) -> int:
    """Publish up to `batch_size` due events; returns how many rows it handled."""
    with Session(engine) as session, session.begin():
        rows = session.execute(
            select(outbox.c.seq, outbox.c.id, outbox.c.exchange, outbox.c.event_type,
                   outbox.c.envelope, outbox.c.headers, outbox.c.attempts)
            .where(outbox.c.published_at.is_(None), outbox.c.next_attempt_at <= func.now())
            .order_by(outbox.c.seq).limit(batch_size).with_for_update(skip_locked=True)).all()
        for row in rows:
            try:
                publisher.publish(row.exchange, row.event_type, row.envelope, row.headers)
            except UndeliverableMessage:
                log.error("event %s (%s) is unroutable: no queue is bound to it; kept in the outbox",
                          row.id, row.event_type,
                          extra={"fields": {"event_id": row.id, "event_type": row.event_type}})
                metrics.EVENTS_UNROUTABLE.labels(row.event_type).inc()
                session.execute(update(outbox).where(outbox.c.seq == row.seq).values(
                    attempts=row.attempts + 1, last_error="unroutable: no queue is bound to this event",
                    next_attempt_at=func.now() + backoff(row.attempts + 1)))
                continue
            session.execute(update(outbox).where(outbox.c.seq == row.seq).values(
                published_at=func.now(), attempts=row.attempts + 1, last_error=None))
            metrics.EVENTS_PUBLISHED.labels(row.event_type).inc()
        return len(rows)


def purge_published(engine, older_than: timedelta = timedelta(days=7)) -> int:
    with Session(engine) as session, session.begin():
        result = session.execute(outbox.delete().where(
            outbox.c.published_at < func.now() - older_than))
        return result.rowcount


class OutboxRelay:
    """A green thread per process: wakes on commit, and polls for anything left over."""

    def __init__(self, engine, amqp_uri: str, poll_interval: float = 1.0, enabled: bool = True):
        self.engine = engine
        self.publisher = EventPublisher(amqp_uri)
        self.poll_interval = poll_interval
        self.enabled = enabled
        self._wakeup = threading.Event()
        self._running = False
        self._thread = None

    def start(self, spawn):
        if not self.enabled or self._running:
            return
        self._running = True
        self._thread = spawn(self._run)

    def wake(self):
        self._wakeup.set()

    def stop(self):
        self._running = False
        self._wakeup.set()

    def _run(self):
        import eventlet
        polls = 0
        while self._running:
            self._wakeup.wait(self.poll_interval)
            self._wakeup.clear()
            try:
                while self._running and relay_batch(self.engine, self.publisher) == BATCH_SIZE:
                    pass
                polls += 1
                if polls % 3600 == 0:
                    purge_published(self.engine)
            except Exception:  # the broker or database is away: keep the rows, try again
                log.exception("outbox relay failed; will retry")
                eventlet.sleep(min(5.0, self.poll_interval * 2))
