"""cases: partnership meetings (panels) with attendees, agenda items, minutes and decisions

The grants an agenda item gives attendees live in record_grants (source "meeting", source_id the meeting),
which already has those columns: nothing to add there.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "meetings",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("online_link", sa.Text),
        sa.Column("chair_team_id", sa.Text, nullable=False),
        sa.Column("chair_organisation_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_by", sa.Text),
    )
    op.create_index("meetings_starts", "meetings", ["starts_at"])
    op.create_index("meetings_chair_team", "meetings", ["chair_team_id", "starts_at"])
    op.create_table(
        "meeting_attendees",
        sa.Column("meeting_id", UUID(as_uuid=False), sa.ForeignKey("meetings.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("attendee_type", sa.Text, primary_key=True),
        sa.Column("attendee_id", sa.Text, primary_key=True),
        sa.Column("organisation_id", sa.Text, nullable=False),
    )
    op.create_index("meeting_attendees_attendee", "meeting_attendees", ["attendee_type", "attendee_id"])
    op.create_table(
        "meeting_agenda_items",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("meeting_id", UUID(as_uuid=False), sa.ForeignKey("meetings.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("lawful_basis", sa.Text, nullable=False),
        sa.Column("added_by", sa.Text),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        sa.Column("removed_by", sa.Text),
    )
    op.create_index("meeting_agenda_items_meeting", "meeting_agenda_items", ["meeting_id", "position"])
    op.create_index("meeting_agenda_items_case", "meeting_agenda_items", ["case_id"])
    # A case is on a meeting's agenda once at a time (two lead-team members adding it at once: one wins).
    op.create_index("meeting_agenda_items_once", "meeting_agenda_items", ["meeting_id", "case_id"], unique=True,
                    postgresql_where=sa.text("removed_at IS NULL"))
    op.create_table(
        "meeting_minutes",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("agenda_item_id", UUID(as_uuid=False),
                  sa.ForeignKey("meeting_agenda_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("discussion", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text),
        sa.Column("recorded_by_name", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("meeting_minutes_item", "meeting_minutes", ["agenda_item_id", "recorded_at"])
    op.create_table(
        "meeting_decisions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("minutes_id", UUID(as_uuid=False), sa.ForeignKey("meeting_minutes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("action_id", UUID(as_uuid=False)),
    )
    op.create_index("meeting_decisions_minutes", "meeting_decisions", ["minutes_id", "position"])
    # Grants a meeting gave, found by meeting when an item is removed or the meeting cancelled.
    op.create_index("record_grants_source", "record_grants", ["source", "source_id"])


def downgrade():
    op.drop_index("record_grants_source", "record_grants")
    op.drop_table("meeting_decisions")
    op.drop_table("meeting_minutes")
    op.drop_table("meeting_agenda_items")
    op.drop_table("meeting_attendees")
    op.drop_table("meetings")
