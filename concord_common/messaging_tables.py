"""The two tables every service database has for lossless messaging.

`outbox`: events written in the same transaction as the change they describe,
relayed to RabbitMQ afterwards. `processed_messages`: ids of events a consumer
has already handled, claimed in the same transaction as the handler's effects.
"""
from sqlalchemy import (BigInteger, Column, DateTime, Identity, Integer, MetaData, PrimaryKeyConstraint,
                        Table, Text, func, Index, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("exchange", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text),
)
Index("outbox_pending", outbox.c.next_attempt_at, postgresql_where=text("published_at IS NULL"))

processed_messages = Table(
    "processed_messages", metadata,
    Column("consumer", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "message_id"),
)


def create_messaging_tables(op) -> None:
    """Used by each service's first Alembic migration."""
    metadata.create_all(op.get_bind(), tables=[outbox, processed_messages])


def drop_messaging_tables(op) -> None:
    metadata.drop_all(op.get_bind(), tables=[outbox, processed_messages])
