"""Tables the audit service owns (its own database: <prefix>_audit).

`audit_entries` is append-only: the service's database role may only SELECT
and INSERT it, and a trigger refuses UPDATE, DELETE and TRUNCATE from anyone
(migration 0002). `audit_chain_head` is the one row that says where the chain
ends; whoever appends holds it FOR UPDATE, so two replicas never fork the
chain. `audit_checkpoints` are signed statements "the chain's entry N has hash H".
"""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import JSON, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False), unique=True, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    # `json`, not `jsonb`: PostgreSQL keeps json text as written, so it reads back exactly as hashed.
    actor: Mapped[dict] = mapped_column(JSON, nullable=False)
    actor_id: Mapped[str | None] = mapped_column(Text)
    actor_organisation_id: Mapped[str | None] = mapped_column(Text)
    record_type: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(Text)
    record_owner_organisation_id: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    source_ip: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    page_view: Mapped[bool] = mapped_column(Boolean, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(Text, nullable=False)
    hash: Mapped[str] = mapped_column(Text, nullable=False)


class ChainHead(Base):
    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Checkpoint(Base):
    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    public_key: Mapped[str] = mapped_column(Text, nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)


class Verification(Base):
    """The outcome of one verification of the chain (asked for, or scheduled)."""
    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    entries: Mapped[int] = mapped_column(BigInteger, nullable=False)
    head_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger)
    scheduled: Mapped[bool] = mapped_column(Boolean, nullable=False)


entries = AuditEntry.__table__
chain_head = ChainHead.__table__
checkpoints = Checkpoint.__table__
