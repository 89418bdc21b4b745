"""notifications: e-mail — the outbox of e-mails to send, each person's e-mail preferences, scheduled runs

Revision ID: 0004_email
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from concord_common.schedule import create_schedule_table

revision = "0004_email"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = ("new", "expanded", "pending", "digest", "digested", "sent", "failed", "skipped")


def upgrade():
    op.create_table(
        "outgoing_emails",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("event_id", sa.Text),                      # null for a digest
        sa.Column("notification_id", UUID(as_uuid=False), sa.ForeignKey("notifications.id")),
        sa.Column("parent_id", UUID(as_uuid=False)),         # the team-addressed row this one was expanded from
        sa.Column("digest_id", UUID(as_uuid=False)),         # the digest e-mail that carried this one
        sa.Column("recipient_type", sa.Text, nullable=False),
        sa.Column("recipient_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text),                       # the person, once resolved
        sa.Column("address", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),          # actions, access, … or digest
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.Text),                          # a path under PUBLIC_URL
        sa.Column("status", sa.Text, nullable=False, server_default="new"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("sent_by", sa.Text),
        sa.CheckConstraint("status IN (%s)" % ", ".join(f"'{s}'" for s in STATUSES), name="outgoing_emails_status"),
        sa.CheckConstraint("recipient_type IN ('user', 'team')", name="outgoing_emails_recipient_type"),
    )
    # What the sender and the digest look for; one e-mail per person per event (a person in two told teams).
    op.create_index("outgoing_emails_work", "outgoing_emails", ["status", "next_attempt_at"],
                    postgresql_where=sa.text("status IN ('new', 'pending', 'digest')"))
    op.create_index("outgoing_emails_person_event", "outgoing_emails", ["event_id", "user_id"], unique=True,
                    postgresql_where=sa.text("user_id IS NOT NULL AND event_id IS NOT NULL"))
    op.create_table(
        "email_preferences",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),         # immediate | daily | off: every kind not named
        sa.Column("kinds", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    create_schedule_table(op)      # checkfirst: another feature's migration may have made it


def downgrade():
    # scheduled_runs stays: another feature's job (webhooks) may keep its ticks there.
    op.drop_table("email_preferences")
    op.drop_table("outgoing_emails")
