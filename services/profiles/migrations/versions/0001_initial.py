"""profiles: messaging tables and the profiles table

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from concord_common.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables(op)
    op.create_table(
        "profiles",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("given_name", sa.Text),
        sa.Column("family_name", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint("kind IN ('person', 'premises')", name="profiles_kind"),
    )


def downgrade():
    op.drop_table("profiles")
    drop_messaging_tables(op)
