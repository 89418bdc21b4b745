"""cases: the ASB toolkit: powers and their breaches, complaints, Community Trigger activations and per-area
thresholds

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _uuid(name, *args, **kw):
    return sa.Column(name, UUID(as_uuid=False), *args, **kw)


def _at(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "case_powers", _uuid("id", primary_key=True),
        _uuid("case_id", sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("power", sa.Text, nullable=False), _uuid("profile_id"), sa.Column("subject_name", sa.Text),
        sa.Column("status", sa.Text, nullable=False), sa.Column("served_on", sa.Date),
        sa.Column("expires_on", sa.Date), sa.Column("conditions", sa.Text), sa.Column("in_force_since", sa.Date),
        _at("recorded_at"), sa.Column("recorded_by", sa.Text), _at("updated_at"),
        sa.CheckConstraint("expires_on IS NULL OR served_on IS NULL OR expires_on >= served_on",
                           name="case_powers_expiry_after_service"))
    op.create_index("case_powers_case", "case_powers", ["case_id"])
    # What the expiry job and the "expiring soon" list look for: powers in force, by expiry date.
    op.execute("CREATE INDEX case_powers_in_force_expiry ON case_powers (expires_on) "
               "WHERE status IN ('issued', 'granted', 'breached') AND expires_on IS NOT NULL")
    op.create_table(
        "case_power_breaches", _uuid("id", primary_key=True),
        _uuid("power_id", sa.ForeignKey("case_powers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False), sa.Column("detail", sa.Text, nullable=False),
        sa.Column("action_taken", sa.Text), _at("recorded_at"), sa.Column("recorded_by", sa.Text))
    op.create_index("case_power_breaches_power", "case_power_breaches", ["power_id"])
    op.create_table(
        "asb_complaints", _uuid("id", primary_key=True),
        _uuid("case_id", sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        _uuid("complainant_profile_id", nullable=False), sa.Column("complainant_name", sa.Text),
        sa.Column("received_on", sa.Date, nullable=False), sa.Column("summary", sa.Text, nullable=False),
        _at("recorded_at"), sa.Column("recorded_by", sa.Text), _at("withdrawn_at", nullable=True),
        sa.Column("withdrawn_by", sa.Text), sa.Column("withdrawn_reason", sa.Text))
    op.create_index("asb_complaints_case", "asb_complaints", ["case_id"])
    op.create_index("asb_complaints_complainant", "asb_complaints", ["complainant_profile_id", "received_on"])
    op.create_table(
        "community_trigger_activations", _uuid("id", primary_key=True),
        _uuid("complainant_profile_id", nullable=False), sa.Column("met_on", sa.Date, nullable=False),
        _at("raised_at"), sa.Column("review_due", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("area_organisation_id", sa.Text), sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("window_months", sa.Integer, nullable=False))
    op.create_index("community_trigger_activations_complainant", "community_trigger_activations",
                    ["complainant_profile_id"])
    op.create_table(
        "community_trigger_complaints",
        _uuid("complaint_id", sa.ForeignKey("asb_complaints.id", ondelete="CASCADE"), primary_key=True),
        _uuid("activation_id", sa.ForeignKey("community_trigger_activations.id", ondelete="CASCADE"),
              nullable=False),
        _uuid("case_id", nullable=False))
    op.create_index("community_trigger_complaints_activation", "community_trigger_complaints", ["activation_id"])
    op.create_index("community_trigger_complaints_case", "community_trigger_complaints", ["case_id"])
    op.create_table(
        "community_trigger_thresholds", sa.Column("organisation_id", sa.Text, primary_key=True),
        sa.Column("complaints", sa.Integer, nullable=False), sa.Column("window_months", sa.Integer, nullable=False),
        sa.Column("review_working_days", sa.Integer, nullable=False), _at("updated_at"),
        sa.Column("updated_by", sa.Text))


def downgrade():
    for table in ("community_trigger_thresholds", "community_trigger_complaints", "community_trigger_activations",
                  "asb_complaints", "case_power_breaches", "case_powers"):
        op.drop_table(table)
