"""Tables the profiles service owns (its own database: concord_profiles)."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Computed, Date, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from concord_common.access.store import OwnedRecord
from concord_common.attachments.tables import attachment_tables
from services.profiles.schema_parts import ATTACHMENT_KINDS


class Base(DeclarativeBase):
    pass


class Profile(OwnedRecord, Base):
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


class NameWord(Base):
    """A word some profile's or alias's name is made of (0010): kept by triggers, read by search's step 2."""
    __tablename__ = "name_words"
    word: Mapped[str] = mapped_column(Text, primary_key=True)
    sound: Mapped[str] = mapped_column(Text, Computed("dmetaphone(word)", persisted=True))


class Family(OwnedRecord, Base):
    __tablename__ = "families"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


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


class MergeRequest(Base):
    """A merge asked of the team leading the duplicate (0008): done only once that team accepts."""
    __tablename__ = "profile_merge_requests"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id"), nullable=False)
    duplicate_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("profiles.id"), nullable=False)
    from_team_id: Mapped[str] = mapped_column(Text, nullable=False)
    from_organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    to_team_id: Mapped[str] = mapped_column(Text, nullable=False)
    to_organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)         # pending | accepted | rejected | cancelled
    requested_by: Mapped[str] = mapped_column(Text, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    merge_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), ForeignKey("profile_merges.id"))


# Documents and photos on profiles (0004): the shared attachment tables (concord_common.attachments).
ATTACHMENT_TABLES = attachment_tables(Base.metadata, "profile", "profiles", kinds=ATTACHMENT_KINDS)


class Attachment(Base):
    """A document or photo on a profile. The bytes live in AttachmentContent, so listing never reads them."""
    __table__ = ATTACHMENT_TABLES.files


class AttachmentContent(Base):
    __table__ = ATTACHMENT_TABLES.contents
