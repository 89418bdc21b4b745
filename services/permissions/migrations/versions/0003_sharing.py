"""permissions: sharing agreements, access requests, transfers of ownership

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RECORD_TYPES = ("profile", "family", "case")
ACCESS_LEVELS = ("view", "edit")
ACCESS_REQUEST_STATUSES = ("pending", "approved", "denied", "withdrawn")
TRANSFER_STATUSES = ("pending", "accepted", "rejected", "cancelled", "superseded")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _at(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _ref(name, target, nullable=False):
    return sa.Column(name, UUID(as_uuid=False), sa.ForeignKey(target), nullable=nullable)


def upgrade():
    op.create_table(
        "sharing_agreements",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("lawful_basis", sa.Text, nullable=False),
        sa.Column("review_date", sa.Date, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("created_by", sa.Text, nullable=False),
        _at("created_at"),
        sa.Column("ended_by", sa.Text),
        _at("ended_at", nullable=True),
    )
    op.create_table(
        "sharing_agreement_parties",
        sa.Column("agreement_id", UUID(as_uuid=False), sa.ForeignKey("sharing_agreements.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=False), sa.ForeignKey("organisations.id"), primary_key=True),
    )
    op.create_index("ix_sharing_agreement_parties_organisation_id", "sharing_agreement_parties",
                    ["organisation_id"])

    op.create_table(
        "access_requests",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("record_type", sa.Text, nullable=False),
        sa.Column("record_id", UUID(as_uuid=False), nullable=False),
        sa.Column("record_display_name", sa.Text, nullable=False),
        _ref("owner_team_id", "teams.id"),
        _ref("owner_organisation_id", "organisations.id"),
        _ref("requester_id", "users.id"),
        _ref("requester_organisation_id", "organisations.id"),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _ref("decided_by", "users.id", nullable=True),
        _at("decided_at", nullable=True),
        sa.Column("decision_level", sa.Text),
        _at("decision_expires_at", nullable=True),
        sa.Column("decision_note", sa.Text),
        sa.Column("grant_id", sa.Text),
        _at("created_at"),
        sa.CheckConstraint(_one_of("record_type", RECORD_TYPES), name="access_requests_record_type"),
        sa.CheckConstraint(_one_of("status", ACCESS_REQUEST_STATUSES), name="access_requests_status"),
        sa.CheckConstraint(_one_of("decision_level", ACCESS_LEVELS), name="access_requests_decision_level"),
    )
    op.create_index("access_requests_one_pending", "access_requests", ["requester_id", "record_type", "record_id"],
                    unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_index("access_requests_owner_team", "access_requests", ["owner_team_id", "created_at"])
    op.create_index("access_requests_requester", "access_requests", ["requester_id", "created_at"])
    op.create_index("access_requests_record", "access_requests", ["record_type", "record_id"])

    op.create_table(
        "transfers",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("record_type", sa.Text, nullable=False),
        sa.Column("record_id", UUID(as_uuid=False), nullable=False),
        sa.Column("record_display_name", sa.Text, nullable=False),
        sa.Column("is_person", sa.Boolean, nullable=False),
        _ref("from_team_id", "teams.id"),
        _ref("from_organisation_id", "organisations.id"),
        _ref("to_team_id", "teams.id"),
        _ref("to_organisation_id", "organisations.id"),
        sa.Column("status", sa.Text, nullable=False),
        _ref("requested_by", "users.id"),
        sa.Column("note", sa.Text),
        _ref("decided_by", "users.id", nullable=True),
        _at("decided_at", nullable=True),
        sa.Column("decision_note", sa.Text),
        sa.Column("consent", JSONB),
        _at("created_at"),
        sa.CheckConstraint(_one_of("record_type", RECORD_TYPES), name="transfers_record_type"),
        sa.CheckConstraint(_one_of("status", TRANSFER_STATUSES), name="transfers_status"),
    )
    op.create_index("transfers_one_pending", "transfers", ["record_type", "record_id"], unique=True,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("transfers_from_team", "transfers", ["from_team_id", "created_at"])
    op.create_index("transfers_to_team", "transfers", ["to_team_id", "created_at"])


def downgrade():
    for table in ("transfers", "access_requests", "sharing_agreement_parties", "sharing_agreements"):
        op.drop_table(table)
