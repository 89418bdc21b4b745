"""cases: MASH referrals, their triage history and research requests (issue 15, docs/mash.md)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _at(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "mash_referrals",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("reference", sa.Text, nullable=False, unique=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("concerns", sa.Text, nullable=False),
        sa.Column("subject_profile_id", UUID(as_uuid=False), nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("subject_kind", sa.Text, nullable=False),
        sa.Column("subject_linked", sa.Text, nullable=False),
        sa.Column("referrer", JSONB, nullable=False),
        sa.Column("referred_by_kind", sa.Text, nullable=False),
        sa.Column("referred_by_id", sa.Text),
        sa.Column("referred_by_organisation_id", sa.Text),
        sa.Column("referred_by_team_ids", ARRAY(sa.Text), nullable=False),
        sa.Column("mash_team_id", sa.Text, nullable=False),
        sa.Column("mash_organisation_id", sa.Text, nullable=False),
        _at("received_at", False), _at("recorded_at", False),
        sa.Column("rag", sa.Text), sa.Column("rag_rationale", sa.Text), _at("triaged_at"), _at("respond_by"),
        sa.Column("outcome", sa.Text), sa.Column("outcome_rationale", sa.Text), _at("decided_at"),
        sa.Column("decided_by", sa.Text), sa.Column("decided_by_name", sa.Text),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id")),
        _at("updated_at", False),
        sa.CheckConstraint("status IN ('received', 'triaged', 'decided')", name="mash_referrals_status"),
        sa.CheckConstraint("category IN ('child', 'adult')", name="mash_referrals_category"),
        sa.CheckConstraint("rag IS NULL OR rag IN ('red', 'amber', 'green')", name="mash_referrals_rag"),
    )
    # The dashboard's reads: open referrals of one MASH team by status (and by respond_by for the overdue list;
    # rag and id included: the counts, and the join to research outstanding, are index-only scans), and those decided since midnight.
    op.create_index("mash_referrals_open", "mash_referrals", ["mash_team_id", "status", "respond_by"],
                    postgresql_include=["rag", "id"], postgresql_where=sa.text("status <> 'decided'"))
    op.create_index("mash_referrals_decided", "mash_referrals", ["mash_team_id", "decided_at"],
                    postgresql_where=sa.text("status = 'decided'"))
    op.create_index("mash_referrals_referred_by", "mash_referrals", ["referred_by_id", "received_at"])
    op.create_table(
        "mash_triages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("referral_id", UUID(as_uuid=False), sa.ForeignKey("mash_referrals.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("rag", sa.Text, nullable=False), sa.Column("rationale", sa.Text, nullable=False),
        _at("respond_by", False), sa.Column("triaged_by", sa.Text), sa.Column("triaged_by_name", sa.Text),
        _at("triaged_at", False),
    )
    op.create_table(
        "mash_research_requests",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=False), sa.ForeignKey("mash_referrals.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("team_id", sa.Text, nullable=False), sa.Column("team_name", sa.Text, nullable=False),
        sa.Column("organisation_id", sa.Text, nullable=False), sa.Column("question", sa.Text, nullable=False),
        _at("due", False), sa.Column("asked_by", sa.Text), sa.Column("asked_by_name", sa.Text), _at("asked_at", False),
        sa.Column("answer", sa.Text), sa.Column("information", sa.Text), sa.Column("answered_by", sa.Text),
        sa.Column("answered_by_name", sa.Text), _at("answered_at"),
        sa.CheckConstraint("answer IS NULL OR answer IN ('information', 'nothing_known')",
                           name="mash_research_requests_answer"),
    )
    # "My actions" of the asked team: its outstanding requests, soonest due first.
    op.create_index("mash_research_outstanding", "mash_research_requests", ["team_id", "due"],
                    postgresql_where=sa.text("answered_at IS NULL"))
    # The dashboard's "research outstanding": unanswered requests, joined to their referral by its key (not a scan
    # of every referral ever made).
    op.create_index("mash_research_unanswered", "mash_research_requests", ["referral_id"],
                    postgresql_include=["organisation_id", "team_name", "due"],
                    postgresql_where=sa.text("answered_at IS NULL"))


def downgrade():
    op.drop_table("mash_research_requests")
    op.drop_table("mash_triages")
    op.drop_table("mash_referrals")
