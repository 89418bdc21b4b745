"""The two tables a record type's files live in, in the database of the service that owns the record.

`<type>_attachments` holds the metadata, `<type>_attachment_contents` the bytes (one row per file, stored
uncompressed out of line), so listing never reads them. A service defines them on its models' MetaData
(`attachment_tables(Base.metadata, "case", "cases")`, so the foreign key to the record resolves) and its
migration creates them with `create_attachment_tables(op, "case", "cases")`. Profiles' tables (profiles
migration 0004) are exactly these, name for name (tests/integration/test_attachment_tables.py).
"""
from dataclasses import dataclass

from sqlalchemy import (BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, LargeBinary, MetaData,
                        Table, Text, func)
from sqlalchemy.dialects.postgresql import UUID


@dataclass(frozen=True)
class AttachmentTables:
    files: Table                # metadata: <type>_attachments
    contents: Table             # the bytes: <type>_attachment_contents
    record_column: str          # <type>_id, the record the file is on

    @property
    def record_id(self):
        return self.files.c[self.record_column]


def attachment_tables(metadata: MetaData, record_type: str, record_table: str,
                      kinds: tuple[str, ...] = ("document",)) -> AttachmentTables:
    """The tables on `metadata`, which must hold `record_table` (with an `id`) for the foreign key."""
    name, column = f"{record_type}_attachments", f"{record_type}_id"
    allowed = ", ".join(f"'{kind}'" for kind in kinds)
    files = Table(
        name, metadata,
        Column("id", UUID(as_uuid=False), primary_key=True),
        Column(column, UUID(as_uuid=False), ForeignKey(f"{record_table}.id", ondelete="CASCADE"), nullable=False),
        Column("filename", Text, nullable=False),               # made safe (sniffing.safe_filename)
        Column("content_type", Text, nullable=False),           # from the bytes
        Column("size_bytes", BigInteger, nullable=False),
        Column("sha256", Text, nullable=False),                 # hex
        Column("kind", Text, nullable=False),                   # document (| photo, for profiles)
        Column("description", Text),
        Column("uploaded_by", Text),
        Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        CheckConstraint(f"kind IN ({allowed})", name=f"{name}_kind"),
        CheckConstraint("size_bytes > 0", name=f"{name}_size"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=f"{name}_sha256"),
        CheckConstraint("length(filename) BETWEEN 1 AND 255", name=f"{name}_filename"))
    # A record's files newest first (the list, and a person's current photo).
    Index(f"{name}_{record_type}", files.c[column], files.c.uploaded_at.desc(), files.c.id)
    contents = Table(
        f"{record_type}_attachment_contents", metadata,
        Column("attachment_id", UUID(as_uuid=False), ForeignKey(f"{name}.id", ondelete="CASCADE"),
               primary_key=True),
        Column("content", LargeBinary, nullable=False))
    return AttachmentTables(files, contents, column)


def _for_migration(record_type, record_table, kinds) -> AttachmentTables:
    metadata = MetaData()
    Table(record_table, metadata, Column("id", UUID(as_uuid=False), primary_key=True))   # the foreign key's target
    return attachment_tables(metadata, record_type, record_table, kinds)


def create_attachment_tables(op, record_type: str, record_table: str, kinds: tuple[str, ...] = ("document",)) -> None:
    tables = _for_migration(record_type, record_table, kinds)
    tables.files.metadata.create_all(op.get_bind(), tables=[tables.files, tables.contents])
    # Out of line, uncompressed: PDFs, images and Office files are compressed already.
    op.execute(f"ALTER TABLE {tables.contents.name} ALTER COLUMN content SET STORAGE EXTERNAL")


def drop_attachment_tables(op, record_type: str, record_table: str, kinds: tuple[str, ...] = ("document",)) -> None:
    tables = _for_migration(record_type, record_table, kinds)
    tables.files.metadata.drop_all(op.get_bind(), tables=[tables.contents, tables.files])
