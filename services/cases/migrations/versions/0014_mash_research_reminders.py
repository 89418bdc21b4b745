"""cases: reminders of MASH research requests (services/cases/mash_reminders.py)

The asked team is reminded once when a request is nearly due (a quarter of the time it was given is left) and once
when it is overdue; each mark is written with its event, so a reminder is given once whatever the replicas do.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("mash_research_requests", sa.Column("due_soon_told_at", sa.DateTime(timezone=True)))
    op.add_column("mash_research_requests", sa.Column("overdue_told_at", sa.DateTime(timezone=True)))
    # The job's scan: open requests whose overdue reminder is not given yet (a handful at any time).
    op.create_index("mash_research_reminders_untold", "mash_research_requests", ["due"],
                    postgresql_where=sa.text("answered_at IS NULL AND closed_at IS NULL AND overdue_told_at IS NULL"))


def downgrade():
    op.drop_index("mash_research_reminders_untold", "mash_research_requests")
    op.drop_column("mash_research_requests", "overdue_told_at")
    op.drop_column("mash_research_requests", "due_soon_told_at")
