"""audit: messaging tables and audit entries

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from concord_common.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables(op)
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("record_type", sa.Text),
        sa.Column("record_id", sa.Text),
        sa.Column("actor", JSONB, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_index("audit_entries_record", "audit_entries", ["record_type", "record_id", "seq"])


def downgrade():
    op.drop_table("audit_entries")
    drop_messaging_tables(op)
