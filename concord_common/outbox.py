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

from kombu import Connection, Exchange, Producer
from nameko.amqp.publish import UndeliverableMessage
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from concord_common import metrics, trust
from concord_common.context import CALLER_KEY
from concord_common.messaging_tables import outbox

log = logging.getLogger(__name__)

CALLER_HEADER = "nameko." + CALLER_KEY
BATCH_SIZE = 200
MAX_BACKOFF_SECONDS = 300


def event_exchange(name: str) -> Exchange:
    # The same declaration nameko's event handlers use for `<service>.events`.
    return Exchange(name, type="topic", durable=True, auto_delete=False)


class EventPublisher:
    """Publishes event envelopes with publisher confirms and the mandatory flag.

    A broker returns a mandatory message no queue is bound to (basic.return)
    before it confirms it, so once the confirm is in we know whether it was
    routed. The return is caught by a channel callback: left to py-amqp it
    is raised half-way through waiting for the confirm and leaves the channel
    out of step.
    """

    def __init__(self, amqp_uri: str, keyring=None):
        self.amqp_uri = amqp_uri
        self.keyring = keyring          # signs each event's caller as it leaves (concord_common.trust)
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None
        self._declared: set[str] = set()
        self._returned: set[str] = set()

    def _ensure_producer(self):
        if self._producer is None:
            connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                    connect_timeout=5)
            # Fail fast while the broker is away: the relay loop tries again within seconds, holding nothing.
            connection.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2, interval_max=0.2)
            channel = connection.channel()
            channel.events["basic_return"].add(self._on_return)
            self._connection, self._producer = connection, Producer(channel)
            self._declared.clear()
        return self._producer

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def publish(self, exchange: str, event_type: str, envelope: dict, headers: dict) -> None:
        """Raises UndeliverableMessage if no queue is bound for the event."""
        if self.keyring is not None:
            # Signed now, not when committed: the assertion must outlive queues, retries and replays.
            headers = {**headers, CALLER_HEADER: trust.event_assertion(self.keyring, headers.get(CALLER_HEADER),
                                                                       exchange, envelope)}
        with self._lock:
            try:
                producer = self._ensure_producer()
                if exchange not in self._declared:
                    event_exchange(exchange)(producer.channel).declare()
                    self._declared.add(exchange)
                producer.publish(envelope, exchange=exchange, routing_key=event_type, headers=dict(headers),
                                 message_id=envelope["id"], serializer="json", mandatory=True,
                                 delivery_mode=2)
            except Exception:
                self.close()
                raise
            if envelope["id"] in self._returned:
                self._returned.discard(envelope["id"])
                raise UndeliverableMessage(f"no queue is bound to {exchange}/{event_type}")

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:
                pass
        self._connection = self._producer = None


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, MAX_BACKOFF_SECONDS))


_ROW_COLUMNS = (outbox.c.seq, outbox.c.id, outbox.c.exchange, outbox.c.event_type, outbox.c.envelope,
                outbox.c.headers, outbox.c.attempts)


def _publish_rows(session, publisher: EventPublisher, rows) -> Exception | None:
    """Publish the rows in order and mark those the broker confirmed, all in one UPDATE (a row at a time was a
    statement per event: a case page's events cost the relay more than the page). Stops at the first row that
    could not be published and returns that error, so the rows before it are still marked (the caller commits,
    then raises it): they are not published twice when the broker comes back."""
    published, failure = [], None
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
        except Exception as exc:         # the broker went away: what went before is marked, the rest waits
            failure = exc
            break
        published.append(row.seq)
        metrics.EVENTS_PUBLISHED.labels(row.event_type).inc()
    if published:
        session.execute(update(outbox).where(outbox.c.seq.in_(published)).values(
            published_at=func.now(), attempts=outbox.c.attempts + 1, last_error=None))
    return failure


def relay_batch(engine, publisher: EventPublisher, batch_size: int = BATCH_SIZE) -> int:
    """Publish up to `batch_size` due events; returns how many rows it handled."""
    with Session(engine) as session, session.begin():
        rows = session.execute(
            select(*_ROW_COLUMNS)
            .where(outbox.c.published_at.is_(None), outbox.c.next_attempt_at <= func.now())
            .order_by(outbox.c.seq).limit(batch_size).with_for_update(skip_locked=True)).all()
        failure = _publish_rows(session, publisher, rows)
    if failure is not None:
        raise failure
    return len(rows)


def relay_events(engine, publisher: EventPublisher, event_ids: list[str]) -> None:
    """Publish these committed events now. Rows another relay holds are waited for, not skipped."""
    with Session(engine) as session, session.begin():
        rows = session.execute(
            select(*_ROW_COLUMNS).where(outbox.c.id.in_(event_ids), outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq).with_for_update()).all()
        failure = _publish_rows(session, publisher, rows)
    if failure is not None:
        raise failure


def purge_published(engine, older_than: timedelta = timedelta(days=7)) -> int:
    with Session(engine) as session, session.begin():
        result = session.execute(outbox.delete().where(
            outbox.c.published_at < func.now() - older_than))
        return result.rowcount


class OutboxRelay:
    """A green thread per process: wakes on commit, and polls for anything left over."""

    def __init__(self, engine, amqp_uri: str, poll_interval: float = 1.0, enabled: bool = True, keyring=None):
        self.engine = engine
        self.publisher = EventPublisher(amqp_uri, keyring)
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

    def relay_now(self, event_ids: list[str]) -> None:
        relay_events(self.engine, self.publisher, event_ids)

    def stop(self):
        self._running = False
        self._wakeup.set()
        self.publisher.close()

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
