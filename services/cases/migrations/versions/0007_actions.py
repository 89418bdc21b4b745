"""cases: actions on a case for a team or a person of any agency that can view it, and their reminders

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('open', 'in_progress')"


def upgrade():
    op.create_table(
        "case_actions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("assignee_team_id", sa.Text, nullable=False),
        sa.Column("assignee_user_id", sa.Text),
        sa.Column("assignee_organisation_id", sa.Text, nullable=False),
        sa.Column("assignee_name", sa.Text, nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("priority", sa.Text, nullable=False, server_default="medium"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("status_note", sa.Text),
        sa.Column("set_by", sa.Text),
        sa.Column("set_by_name", sa.Text),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("due_soon_told_for", sa.Date),
        sa.Column("overdue_told_for", sa.Date),
    )
    # A case's actions, soonest due first.
    op.execute("CREATE INDEX case_actions_case_due ON case_actions (case_id, due, id)")
    # GET /me/actions reads each source (the person, each of their teams) in due order and stops at the page
    # (actions.my_actions). The active ones, what the list shows unless asked otherwise, have an index of their
    # own that also answers the counts without the table (case_id for the visibility join).
    op.execute(f"CREATE INDEX case_actions_team_active_due ON case_actions (assignee_team_id, due, id) "
               f"INCLUDE (case_id, assignee_user_id) WHERE {ACTIVE}")
    op.execute("CREATE INDEX case_actions_team_due ON case_actions (assignee_team_id, due, id)")
    op.execute("CREATE INDEX case_actions_user_due ON case_actions (assignee_user_id, due, id) "
               "WHERE assignee_user_id IS NOT NULL")
    # The reminder job: only the active actions whose overdue reminder was not given yet for their due date
    # (once told overdue, an action leaves this index until its due date changes).
    op.execute(f"CREATE INDEX case_actions_reminders_untold ON case_actions (due) WHERE {ACTIVE} "
               "AND (overdue_told_for IS NULL OR overdue_told_for <> due)")


def downgrade():
    op.drop_table("case_actions")
