"""notifications: in-app notifications and who has read them

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("recipient_type", sa.Text, nullable=False),
        sa.Column("recipient_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("record_type", sa.Text),
        sa.Column("record_id", sa.Text),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("recipient_type IN ('user', 'team')", name="notifications_recipient_type"),
    )
    op.create_index("notifications_recipient", "notifications", ["recipient_type", "recipient_id", "created_at"])
    op.create_table(
        "notification_reads",
        sa.Column("notification_id", UUID(as_uuid=False), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("notification_reads")
    op.drop_table("notifications")
