"""profiles: profile_merge_requests (a merge whose duplicate another team leads waits for that team)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "profile_merge_requests",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("survivor_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("duplicate_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("from_team_id", sa.Text, nullable=False),
        sa.Column("from_organisation_id", sa.Text, nullable=False),
        sa.Column("to_team_id", sa.Text, nullable=False),
        sa.Column("to_organisation_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.Text),
        sa.Column("merge_id", UUID(as_uuid=False), sa.ForeignKey("profile_merges.id")),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected', 'cancelled')", name="merge_request_status"),
    )
    # One pending request per pair; the receiving and sending teams list theirs.
    op.create_index("profile_merge_requests_pending_pair", "profile_merge_requests", ["survivor_id", "duplicate_id"],
                    unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_index("profile_merge_requests_to_team", "profile_merge_requests", ["to_team_id", "requested_at"])
    op.create_index("profile_merge_requests_from_team", "profile_merge_requests", ["from_team_id", "requested_at"])


def downgrade():
    op.drop_table("profile_merge_requests")
