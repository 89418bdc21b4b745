"""cases: case types (seeded with the twelve the contract ships), cases with their access lists,
participants, notes, links, the timeline, and reference counters

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from concord_common.access.store import create_grants_table, drop_grants_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ALL_ROLES = ["subject", "victim", "perpetrator", "offender", "witness", "complainant", "household_member",
             "young_person", "carer", "premises_of_concern", "other"]
# (code, label, reference prefix, participant roles, risk templates, review every N days)
CASE_TYPES = [
    ("asb", "Anti-social behaviour", "ASB",
     ["subject", "victim", "perpetrator", "witness", "complainant", "household_member", "young_person",
      "premises_of_concern", "other"], ["asb_vulnerability", "matrix_5x5"], 28),
    ("iom", "Integrated offender management", "IOM",
     ["offender", "subject", "victim", "household_member", "young_person", "carer", "other"], ["matrix_5x5"], 30),
    ("supporting_families", "Supporting families", "SF",
     ["subject", "household_member", "young_person", "carer", "victim", "perpetrator", "other"], ["matrix_5x5"], 90),
    ("exploitation", "Child sexual or criminal exploitation", "EXP",
     ["subject", "victim", "perpetrator", "young_person", "household_member", "carer", "witness",
      "premises_of_concern", "other"], ["matrix_5x5"], 28),
    ("gangs_violence", "Gangs and serious violence", "GSV",
     ["subject", "offender", "perpetrator", "victim", "young_person", "household_member", "witness",
      "premises_of_concern", "other"], ["matrix_5x5"], 28),
    ("domestic_abuse", "Domestic abuse", "DA",
     ["victim", "perpetrator", "household_member", "young_person", "witness", "carer", "other"], ["matrix_5x5"], 28),
    ("hate_crime", "Hate crime", "HC",
     ["victim", "perpetrator", "witness", "complainant", "household_member", "premises_of_concern", "other"],
     ["matrix_5x5"], 28),
    ("stalking_harassment", "Stalking and harassment", "SH",
     ["victim", "perpetrator", "witness", "household_member", "other"], ["matrix_5x5"], 28),
    ("missing_vulnerable", "Missing and vulnerable people (including Herbert Protocol)", "MV",
     ["subject", "carer", "household_member", "witness", "premises_of_concern", "other"], ["matrix_5x5"], 7),
    ("licensing", "Licensing", "LIC",
     ["premises_of_concern", "subject", "complainant", "witness", "perpetrator", "other"], ["matrix_5x5"], 90),
    ("education", "Education (attendance, exclusion, welfare)", "EDU",
     ["young_person", "subject", "carer", "household_member", "other"], ["matrix_5x5"], 42),
    ("complex_case", "Complex case", "CC", ALL_ROLES, ["matrix_5x5"], 28),
]


def _timestamp(name, **kw):
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    case_types = op.create_table(
        "case_types",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("reference_prefix", sa.Text, nullable=False, unique=True),
        sa.Column("participant_roles", ARRAY(sa.Text), nullable=False),
        sa.Column("risk_templates", ARRAY(sa.Text), nullable=False),
        sa.Column("review_days", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _timestamp("updated_at", server_default=sa.func.now()),
        sa.CheckConstraint("review_days > 0", name="case_types_review_days"))
    op.bulk_insert(case_types, [{"code": code, "label": label, "reference_prefix": prefix, "participant_roles": roles,
                                 "risk_templates": templates, "review_days": days}
                                for code, label, prefix, roles, templates, days in CASE_TYPES])
    op.create_table(
        "case_reference_counters",
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False))
    op.create_table(
        "cases",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("reference", sa.Text, nullable=False, unique=True),
        sa.Column("case_type", sa.Text, sa.ForeignKey("case_types.code"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("priority", sa.Text, nullable=False, server_default="medium"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("outcome", sa.Text),
        _timestamp("opened_at", nullable=False),
        sa.Column("opened_by", sa.Text),
        _timestamp("closed_at"),
        sa.Column("closed_by", sa.Text),
        sa.Column("review_due", sa.Date),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _timestamp("updated_at", nullable=False),
        sa.Column("owner_team_id", sa.Text),
        sa.Column("owner_organisation_id", sa.Text),
        sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'critical')", name="cases_priority"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="cases_status"),
        sa.CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="cases_outcome_when_closed"))
    # A team's open cases, soonest review first; an organisation's (API clients); the newest first.
    op.create_index("cases_owner_team", "cases", ["owner_team_id", "status", "review_due"])
    op.create_index("cases_owner_organisation", "cases", ["owner_organisation_id", "status"])
    op.create_index("cases_opened", "cases", [sa.text("opened_at DESC"), "id"])
    op.execute("CREATE INDEX cases_search_text ON cases USING gin ((lower(reference || ' ' || title)) gin_trgm_ops)")
    op.create_table(
        "case_participants",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("profile_id", UUID(as_uuid=False), nullable=False),
        sa.Column("profile_kind", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("family_id", UUID(as_uuid=False)),
        sa.Column("family_role", sa.Text),
        _timestamp("added_at", nullable=False),
        sa.Column("added_by", sa.Text),
        _timestamp("ended_at"),
        sa.Column("ended_by", sa.Text))
    op.create_index("case_participants_case", "case_participants", ["case_id", "added_at"])
    op.create_index("case_participants_profile", "case_participants", ["profile_id", "case_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _timestamp("occurred_at", nullable=False),
        _timestamp("recorded_at", nullable=False),
        sa.Column("author_id", sa.Text),
        sa.Column("author_name", sa.Text),
        sa.Column("author_organisation_id", sa.Text),
        sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("corrects", UUID(as_uuid=False), sa.ForeignKey("case_notes.id")),
        sa.Column("correction_reason", sa.Text))
    op.create_index("case_notes_case", "case_notes", ["case_id", sa.text("recorded_at DESC"), "id"])
    op.create_index("case_notes_corrects", "case_notes", ["corrects"])
    op.create_table(
        "case_links",
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("linked_case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("linked_by", sa.Text),
        _timestamp("linked_at", nullable=False),
        sa.CheckConstraint("case_id <> linked_case_id", name="case_links_not_itself"))
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        _timestamp("at", nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("by_id", sa.Text),
        sa.Column("by_name", sa.Text),
        sa.Column("ref", JSONB),
        sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("case_timeline_case", "case_timeline", ["case_id", sa.text("at DESC"), sa.text("id DESC")])
    create_grants_table(op)


def downgrade():
    drop_grants_table(op)
    for table in ("case_timeline", "case_links", "case_notes", "case_participants", "cases",
                  "case_reference_counters", "case_types"):
        op.drop_table(table)
