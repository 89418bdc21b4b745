"""permissions: the directory (organisations, teams, users, memberships), sessions, API clients

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ORGANISATION_TYPES = ("police", "council", "housing", "education", "health", "fire", "probation",
                      "youth_offending", "charity", "other")
TEAM_ROLES = ("practitioner", "spoc", "supervisor")
USER_ROLES = ("org_admin", "system_admin")
SESSION_KINDS = ("web", "api")
SCOPES = ("profiles:read", "profiles:write", "cases:read", "cases:write", "audit:read")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _subset_of(column, values):
    return f"{column} <@ ARRAY[{', '.join(repr(value) for value in values)}]::text[]"


def _at(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "organisations",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("area", sa.Text, nullable=False),
        sa.Column("require_mfa", sa.Boolean, nullable=False, server_default=sa.text("true")),
        _at("created_at"),
        sa.CheckConstraint(_one_of("type", ORGANISATION_TYPES), name="organisations_type"),
    )
    op.create_index("organisations_name_key", "organisations", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "teams",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=False), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        _at("created_at"),
    )
    op.create_index("teams_organisation_name_key", "teams", ["organisation_id", sa.text("lower(name)")],
                    unique=True)

    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("organisation_id", UUID(as_uuid=False), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("roles", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("mfa_secret", sa.Text),
        sa.Column("mfa_enabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _at("created_at"),
        _at("password_changed_at"),
        sa.CheckConstraint(_subset_of("roles", USER_ROLES), name="users_roles"),
    )
    op.create_index("users_username_key", "users", [sa.text("lower(username)")], unique=True)
    op.create_index("users_organisation", "users", ["organisation_id"])

    op.create_table(
        "memberships",
        sa.Column("team_id", UUID(as_uuid=False), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=False), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.CheckConstraint(_one_of("role", TEAM_ROLES), name="memberships_role"),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    op.create_table(
        "sessions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("user_id", UUID(as_uuid=False), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text),
        _at("created_at"),
        _at("last_seen_at"),
        _at("expires_at"),
        _at("ended_at", nullable=True),
        sa.Column("end_reason", sa.Text),
        sa.Column("source_ip", sa.Text),
        sa.CheckConstraint(_one_of("kind", SESSION_KINDS), name="sessions_kind"),
    )
    op.create_index("sessions_user_open", "sessions", ["user_id"], postgresql_where=sa.text("ended_at IS NULL"))

    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username_lower", sa.Text, nullable=False),
        sa.Column("source_ip", sa.Text),
        _at("at"),
    )
    op.create_index("login_failures_username", "login_failures", ["username_lower", "at"])
    op.create_index("login_failures_source_ip", "login_failures", ["source_ip", "at"])

    op.create_table(
        "api_clients",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False, unique=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("organisation_id", UUID(as_uuid=False), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("created_by", sa.Text),
        _at("created_at"),
        sa.CheckConstraint(_subset_of("scopes", SCOPES), name="api_clients_scopes"),
    )

    op.create_table(
        "client_tokens",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("api_client_id", UUID(as_uuid=False), sa.ForeignKey("api_clients.id"), nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        _at("issued_at"),
        _at("expires_at"),
    )
    op.create_index("ix_client_tokens_expires_at", "client_tokens", ["expires_at"])


def downgrade():
    for table in ("client_tokens", "api_clients", "login_failures", "sessions", "memberships", "users",
                  "teams", "organisations"):
        op.drop_table(table)
