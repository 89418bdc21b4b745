"""The access list kept with each record, in the record's own service database.

Ownership (owner_team_id, owner_organisation_id, restricted) are columns of
the record's own table: its model mixes in `OwnedRecord`. Grants live in
`record_grants`, one table for every record type a service owns; the
service's first migration that has records calls `create_grants_table(op)`
(and its downgrade `drop_grants_table(op)`).
"""
from sqlalchemy import Boolean, Column, DateTime, Index, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

metadata = MetaData()

grants = Table(
    "record_grants", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("record_type", Text, nullable=False),
    Column("record_id", UUID(as_uuid=False), nullable=False),
    Column("grantee_type", Text, nullable=False),            # team | organisation | user
    Column("grantee_id", Text, nullable=False),
    Column("grantee_organisation_id", Text),
    Column("level", Text, nullable=False),                   # view | edit
    Column("lawful_basis", Text, nullable=False),
    Column("justification", Text),
    Column("source", Text, nullable=False, server_default="grant"),   # grant | access_request | break_glass
    Column("source_id", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("granted_by", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
)
Index("record_grants_record", grants.c.record_type, grants.c.record_id)
Index("record_grants_grantee", grants.c.grantee_type, grants.c.grantee_id)


class OwnedRecord:
    """Declarative mixin: the lead team and organisation of a record, and whether it is restricted.

    A record-owning model is `class Case(OwnedRecord, Base)`; its migration adds
    the same three columns (indexed on owner_team_id and owner_organisation_id)."""
    owner_team_id: Mapped[str | None] = mapped_column(Text)
    owner_organisation_id: Mapped[str | None] = mapped_column(Text)
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


def create_grants_table(op) -> None:
    metadata.create_all(op.get_bind(), tables=[grants])


def drop_grants_table(op) -> None:
    metadata.drop_all(op.get_bind(), tables=[grants])
