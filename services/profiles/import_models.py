"""Tables of bulk imports (migration 0009_imports; docs/imports.md), on the profiles service's metadata."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles.models import Base


class Import(Base):
    """One uploaded file being imported: who runs it (the verified caller, stored), its progress and counts."""
    __tablename__ = "imports"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    format: Mapped[str] = mapped_column(Text, nullable=False)
    filename: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    caller: Mapped[dict] = mapped_column(JSONB, nullable=False)
    organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    owner_team_id: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False)
    rows_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claims: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    problem: Mapped[str | None] = mapped_column(Text)


class ImportFile(Base):
    """The uploaded bytes, apart so reading a job's status never reads them; deleted when the job ends."""
    __tablename__ = "import_files"
    import_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("imports.id", ondelete="CASCADE"),
                                           primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class ImportError_(Base):
    """One refused row: its 1-based data row number, the field (CSV column or JSON path) and why."""
    __tablename__ = "import_errors"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("imports.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer, nullable=False)
    field: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, nullable=False)


class ImportDuplicate(Base):
    """A profile the import created although the duplicate check found likely matches (reported, not merged)."""
    __tablename__ = "import_duplicates"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("imports.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer, nullable=False)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    candidates: Mapped[list] = mapped_column(JSONB, nullable=False)
