"""Tables the permissions service owns (its own database: concord_permissions).

Kept in step with migrations/versions/0002_directory.py, 0003_sharing.py and 0005_mfa_last_step.py.
"""
from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ORGANISATION_TYPES = ("police", "council", "housing", "education", "health", "fire", "probation",
                      "youth_offending", "charity", "other")
TEAM_ROLES = ("practitioner", "spoc", "supervisor")
TEAM_KINDS = ("general", "mash")     # mash: the partnership's multi-agency safeguarding hub (docs/mash.md)
USER_ROLES = ("org_admin", "system_admin")
SESSION_KINDS = ("web", "api")
SCOPES = ("profiles:read", "profiles:write", "cases:read", "cases:write", "audit:read", "mash:refer",
          "webhooks:manage")
RECORD_TYPES = ("profile", "family", "case")
ACCESS_LEVELS = ("view", "edit")
ACCESS_REQUEST_STATUSES = ("pending", "approved", "denied", "withdrawn")
TRANSFER_STATUSES = ("pending", "accepted", "rejected", "cancelled", "superseded")
CONSENT_STATUSES = ("given", "refused", "not_sought", "overridden")


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _subset_of(column: str, values) -> str:
    return f"{column} <@ ARRAY[{', '.join(repr(value) for value in values)}]::text[]"


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_one_of("type", ORGANISATION_TYPES), name="organisations_type"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(Text, nullable=False)
    area: Mapped[str] = mapped_column(Text, nullable=False)      # groups neighbouring agencies
    require_mfa: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # What the team is for (migration 0006): `mash` marks the partnership's MASH team, which leads referrals.
    kind: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'general'"))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_subset_of("roles", USER_ROLES), name="users_roles"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    email: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    mfa_secret: Mapped[str | None] = mapped_column(Text)        # pending until mfa_enabled
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)   # TOTP step last accepted: no replays
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (CheckConstraint(_one_of("role", TEAM_ROLES), name="memberships_role"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)


class UserSession(Base):
    """A signed-in user's session; only the SHA-256 of its token is stored."""
    __tablename__ = "sessions"
    __table_args__ = (CheckConstraint(_one_of("kind", SESSION_KINDS), name="sessions_kind"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    token_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    csrf_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    source_ip: Mapped[str | None] = mapped_column(Text)


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username_lower: Mapped[str] = mapped_column(Text, nullable=False)
    source_ip: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ApiClient(Base):
    __tablename__ = "api_clients"
    __table_args__ = (CheckConstraint(_subset_of("scopes", SCOPES), name="api_clients_scopes"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    client_id: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ClientToken(Base):
    """A client-credentials access token; only the SHA-256 of the token is stored."""
    __tablename__ = "client_tokens"

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


# -- sharing: agreements between organisations, access requests, transfers of ownership ----------
class SharingAgreement(Base):
    """An information sharing agreement between two or more organisations.

    Active from start_date to end_date (inclusive) unless ended early (ended_at).
    """
    __tablename__ = "sharing_agreements"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    lawful_basis: Mapped[str] = mapped_column(Text, nullable=False)
    review_date: Mapped[date] = mapped_column(Date, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_by: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SharingAgreementParty(Base):
    __tablename__ = "sharing_agreement_parties"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="CASCADE"),
                                              primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)


class AccessRequest(Base):
    """Someone asks the team that owns a record for access to it."""
    __tablename__ = "access_requests"
    __table_args__ = (
        CheckConstraint(_one_of("record_type", RECORD_TYPES), name="access_requests_record_type"),
        CheckConstraint(_one_of("status", ACCESS_REQUEST_STATUSES), name="access_requests_status"),
        CheckConstraint(_one_of("decision_level", ACCESS_LEVELS), name="access_requests_decision_level"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    record_type: Mapped[str] = mapped_column(Text, nullable=False)
    record_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    record_display_name: Mapped[str] = mapped_column(Text, nullable=False)
    owner_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), nullable=False)
    owner_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    requester_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    requester_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_level: Mapped[str | None] = mapped_column(Text)
    decision_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[str | None] = mapped_column(Text)           # the grant the owning service made
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Transfer(Base):
    """A record's owning team hands it to another team; pending until that team accepts."""
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint(_one_of("record_type", RECORD_TYPES), name="transfers_record_type"),
        CheckConstraint(_one_of("status", TRANSFER_STATUSES), name="transfers_status"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    record_type: Mapped[str] = mapped_column(Text, nullable=False)
    record_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    record_display_name: Mapped[str] = mapped_column(Text, nullable=False)
    is_person: Mapped[bool] = mapped_column(Boolean, nullable=False)
    from_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), nullable=False)
    from_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    to_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), nullable=False)
    to_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[dict | None] = mapped_column(JSONB)          # re-confirmed when accepted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


Index("organisations_name_key", func.lower(Organisation.name), unique=True)
Index("teams_organisation_name_key", Team.organisation_id, func.lower(Team.name), unique=True)
Index("users_username_key", func.lower(User.username), unique=True)
Index("users_organisation", User.organisation_id)
Index("sessions_user_open", UserSession.user_id, postgresql_where=UserSession.ended_at.is_(None))
Index("login_failures_username", LoginFailure.username_lower, LoginFailure.at)
Index("login_failures_source_ip", LoginFailure.source_ip, LoginFailure.at)
# One pending request per requester and record; one pending transfer per record.
Index("access_requests_one_pending", AccessRequest.requester_id, AccessRequest.record_type, AccessRequest.record_id,
      unique=True, postgresql_where=AccessRequest.status == "pending")
Index("access_requests_owner_team", AccessRequest.owner_team_id, AccessRequest.created_at)
Index("access_requests_requester", AccessRequest.requester_id, AccessRequest.created_at)
Index("access_requests_record", AccessRequest.record_type, AccessRequest.record_id)
Index("transfers_one_pending", Transfer.record_type, Transfer.record_id, unique=True,
      postgresql_where=Transfer.status == "pending")
Index("transfers_from_team", Transfer.from_team_id, Transfer.created_at)
Index("transfers_to_team", Transfer.to_team_id, Transfer.created_at)
