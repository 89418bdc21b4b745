"""Tables the profiles service owns (its own database: concord_profiles)."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Computed, Date, DateTime, ForeignKey, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Profile(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)          # person | premises
    given_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)                   # premises name
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # The access list's ownership part (grants: concord_common.access.store.grants).
    owner_team_id: Mapped[str | None] = mapped_column(Text)
    owner_organisation_id: Mapped[str | None] = mapped_column(Text)
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    consent_status: Mapped[str] = mapped_column(Text, nullable=False, default="not_sought")
    consent_detail: Mapped[str | None] = mapped_column(Text)
    # 0003: person details, premises, partner reference
    gender: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list] = mapped_column(ARRAY(Text), nullable=False, default=list)
    contact: Mapped[dict | None] = mapped_column(JSONB)                # {"phone", "email", ...}
    premises_type: Mapped[str | None] = mapped_column(Text)
    external_system: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    search_name: Mapped[str | None] = mapped_column(Text, Computed(
        "lower(coalesce(given_name || ' ', '') || coalesce(family_name, '') || coalesce(name, ''))", persisted=True))


class Alias(Base):
    __tablename__ = "profile_aliases"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"))
    given_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    search_name: Mapped[str | None] = mapped_column(Text, Computed(
        "lower(coalesce(given_name || ' ', '') || coalesce(family_name, ''))", persisted=True))


class Identifier(Base):
    __tablename__ = "profile_identifiers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)          # normalised


class Address(Base):
    __tablename__ = "profile_addresses"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"))
    line1: Mapped[str | None] = mapped_column(Text)
    line2: Mapped[str | None] = mapped_column(Text)
    town: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)                # normalised "LS1 4AP"
    uprn: Mapped[str | None] = mapped_column(Text)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)


class Flag(Base):
    __tablename__ = "profile_flags"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"))
    flag: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[object | None] = mapped_column(JSONB)             # text, or Herbert Protocol details
    set_by: Mapped[str | None] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PremisesPerson(Base):
    __tablename__ = "premises_people"
    premises_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"),
                                             primary_key=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"),
                                            primary_key=True)


class History(Base):
    __tablename__ = "profile_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False, index=True)
    changed_by: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    field: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[object | None] = mapped_column(JSONB)
    after: Mapped[object | None] = mapped_column(JSONB)


class Family(Base):
    __tablename__ = "families"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    owner_team_id: Mapped[str | None] = mapped_column(Text)
    owner_organisation_id: Mapped[str | None] = mapped_column(Text)
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class FamilyMember(Base):
    __tablename__ = "family_members"
    family_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("families.id", ondelete="CASCADE"),
                                           primary_key=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id"), primary_key=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    added_by: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Nickname(Base):
    __tablename__ = "nicknames"
    name: Mapped[str] = mapped_column(Text, primary_key=True)         # lower case
    variant: Mapped[str] = mapped_column(Text, primary_key=True)


class Merge(Base):
    """A duplicate folded into a survivor: `changes` lists what was added and moved, so it can be undone."""
    __tablename__ = "profile_merges"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id"), nullable=False)
    duplicate_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id"), nullable=False)
    merged_by: Mapped[str | None] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    changes: Mapped[dict] = mapped_column(JSONB, nullable=False)
    unmerged_by: Mapped[str | None] = mapped_column(Text)
    unmerged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attachment(Base):
    """A document or photo on a profile (0004). The bytes live in AttachmentContent, so listing never reads them."""
    __tablename__ = "profile_attachments"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id", ondelete="CASCADE"),
                                            nullable=False)
    filename: Mapped[str] = mapped_column(Text, nullable=False)               # sanitised
    content_type: Mapped[str] = mapped_column(Text, nullable=False)           # sniffed from the bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)                 # hex
    kind: Mapped[str] = mapped_column(Text, nullable=False)                   # document | photo
    description: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class AttachmentContent(Base):
    __tablename__ = "profile_attachment_contents"
    attachment_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profile_attachments.id",
                                                                               ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
