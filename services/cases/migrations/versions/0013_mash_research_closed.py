"""cases: a research request closes when its referral is decided, and carries its MASH team

Once the MASH has decided a referral, an unanswered research request about it is no longer needed: it leaves the
asked team's "My actions" and cannot be answered (409), instead of waiting there for ever. The dashboard's "research
outstanding" then reads the MASH team's open requests from one partial index (no join to every open referral:
73 of ~100 ms of the dashboard's SQL at 900,000 referrals).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("mash_research_requests", sa.Column("mash_team_id", sa.Text))
    op.add_column("mash_research_requests", sa.Column("closed_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE mash_research_requests r SET mash_team_id = f.mash_team_id, "
               "closed_at = CASE WHEN r.answered_at IS NULL AND f.status = 'decided' THEN f.decided_at END "
               "FROM mash_referrals f WHERE f.id = r.referral_id")
    op.alter_column("mash_research_requests", "mash_team_id", nullable=False)
    op.drop_index("mash_research_unanswered", "mash_research_requests")
    op.drop_index("mash_research_outstanding", "mash_research_requests")
    # "My actions" of the asked team: its open requests, soonest due first.
    op.create_index("mash_research_outstanding", "mash_research_requests", ["team_id", "due"],
                    postgresql_where=sa.text("answered_at IS NULL AND closed_at IS NULL"))
    # The dashboard: a MASH team's open requests by agency, from the index alone.
    op.create_index("mash_research_open_by_team", "mash_research_requests", ["mash_team_id", "organisation_id"],
                    postgresql_include=["team_name", "due"],
                    postgresql_where=sa.text("answered_at IS NULL AND closed_at IS NULL"))


def downgrade():
    op.drop_index("mash_research_open_by_team", "mash_research_requests")
    op.drop_index("mash_research_outstanding", "mash_research_requests")
    op.create_index("mash_research_outstanding", "mash_research_requests", ["team_id", "due"],
                    postgresql_where=sa.text("answered_at IS NULL"))
    op.create_index("mash_research_unanswered", "mash_research_requests", ["referral_id"],
                    postgresql_include=["organisation_id", "team_name", "due"],
                    postgresql_where=sa.text("answered_at IS NULL"))
    op.drop_column("mash_research_requests", "closed_at")
    op.drop_column("mash_research_requests", "mash_team_id")
