"""profiles: merging duplicate profiles (and undoing it)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # One row per merge: what it added to the survivor and moved from the duplicate, so it can be undone.
    op.create_table("profile_merges",
                    sa.Column("id", UUID(as_uuid=False), primary_key=True),
                    sa.Column("survivor_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id"), nullable=False),
                    sa.Column("duplicate_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id"), nullable=False),
                    sa.Column("merged_by", sa.Text),
                    sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("changes", JSONB, nullable=False),
                    sa.Column("unmerged_by", sa.Text),
                    sa.Column("unmerged_at", sa.DateTime(timezone=True)))
    op.create_index("profile_merges_survivor", "profile_merges", ["survivor_id"])
    # A duplicate is merged into at most one survivor at a time.
    op.execute("CREATE UNIQUE INDEX profile_merges_active_duplicate ON profile_merges (duplicate_id) "
               "WHERE unmerged_at IS NULL")
    op.create_index("profiles_merged_into", "profiles", ["merged_into"],
                    postgresql_where=sa.text("merged_into IS NOT NULL"))


def downgrade():
    op.drop_index("profiles_merged_into")
    op.drop_table("profile_merges")
