"""The tables every service database has for lossless messaging and exactly-once writes.

`outbox`: events written in the same transaction as the change they describe,
relayed to RabbitMQ afterwards. `processed_messages`: ids of events a consumer
has already handled, claimed in the same transaction as the handler's effects.
`idempotency_keys`: a partner's `Idempotency-Key` with the answer it got, stored
in the same transaction as the write (concord_common.idempotency).
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

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("caller", Text, nullable=False),             # "user:<id>" | "client:<id>": keys are per caller
    Column("key", Text, nullable=False),
    Column("operation", Text, nullable=False),          # "<service>.<method>"
    Column("request_hash", Text, nullable=False),       # sha256 of the call's arguments
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("caller", "key", "operation"),
)
Index("idempotency_keys_created", idempotency_keys.c.created_at)


def create_idempotency_table(op) -> None:
    """Used by each service's migration that added it."""
    metadata.create_all(op.get_bind(), tables=[idempotency_keys])


def drop_idempotency_table(op) -> None:
    metadata.drop_all(op.get_bind(), tables=[idempotency_keys])


def create_messaging_tables(op) -> None:
    """Used by each service's first Alembic migration."""
    metadata.create_all(op.get_bind(), tables=[outbox, processed_messages])


def drop_messaging_tables(op) -> None:
    metadata.drop_all(op.get_bind(), tables=[outbox, processed_messages])
