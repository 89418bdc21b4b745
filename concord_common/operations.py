"""Operator tasks behind `concord dlq …` and `concord outbox …`."""
import json
from datetime import datetime, timezone

from kombu import Connection, Exchange
from sqlalchemy import create_engine, select

from concord_common.events import ATTEMPTS_HEADER, ReliableEventHandler, dead_letter_queue_name
from concord_common.messaging_tables import outbox
from concord_common.settings import SERVICE_NAMES


def event_queues() -> list[str]:
    """Every reliable event handler's queue name, read off the service classes."""
    from concord_common.runner import service_class

    names = []
    for service in SERVICE_NAMES:
        cls = service_class(service)
        for attribute in vars(cls).values():
            for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    names.append(f"evt-{entrypoint.source_service}-{entrypoint.event_type}--"
                                 f"{cls.name}.{attribute.__name__}")
    return names


def dead_letter_counts(amqp_uri: str) -> dict[str, int]:
    counts = {}
    with Connection(amqp_uri) as conn:
        for queue in event_queues():
            channel = conn.channel()
            try:
                _, messages, _ = channel.queue_declare(dead_letter_queue_name(queue), passive=True)
                counts[queue] = messages
            except Exception:
                counts[queue] = 0
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return counts


def peek_dead_letters(amqp_uri: str, queue: str, limit: int = 20) -> list[dict]:
    """Read dead letters without removing them (they are rejected back)."""
    seen = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        messages = []
        for _ in range(limit):
            message = channel.basic_get(dead_letter_queue_name(queue), no_ack=False)
            if message is None:
                break
            messages.append(message)
            headers = message.headers or {}
            seen.append({"message_id": message.properties.get("message_id"),
                         "attempts": headers.get(ATTEMPTS_HEADER),
                         "error": headers.get("x-concord-error"),
                         "dead_lettered_at": headers.get("x-concord-dead-lettered-at"),
                         "body": json.loads(message.body)})
        for message in messages:
            channel.basic_reject(message.delivery_tag, requeue=True)
        channel.close()
    return seen


def replay_dead_letters(amqp_uri: str, queue: str, limit: int | None = None) -> int:
    """Move dead letters back to the handler's queue (attempts reset), with confirms."""
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = conn.Producer(channel=channel)
        while limit is None or moved < limit:
            message = channel.basic_get(dead_letter_queue_name(queue), no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            headers[ATTEMPTS_HEADER] = 0
            headers["x-concord-replayed-at"] = datetime.now(timezone.utc).isoformat()
            producer.publish(message.body, exchange=Exchange(""), routing_key=queue, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             message_id=message.properties.get("message_id"), delivery_mode=2,
                             mandatory=True)
            channel.basic_ack(message.delivery_tag)
            moved += 1
        channel.close()
    return moved


def pending_outbox(database_url: str, limit: int = 50) -> list[dict]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(outbox.c.id, outbox.c.event_type, outbox.c.created_at,
                                       outbox.c.attempts, outbox.c.last_error, outbox.c.next_attempt_at)
                                .where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(limit))
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()
