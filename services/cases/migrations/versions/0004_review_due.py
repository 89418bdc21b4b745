"""cases: review-due notices (the review date each case was last told of, the scheduler's claimed ticks)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from concord_common.schedule import create_schedule_table, drop_schedule_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("cases", sa.Column("review_notified_for", sa.Date))
    # Only the open cases whose review date was not told yet: what the hourly job looks for.
    op.execute("CREATE INDEX cases_review_untold ON cases (review_due) WHERE status = 'open' "
               "AND (review_notified_for IS NULL OR review_notified_for <> review_due)")
    create_schedule_table(op)


def downgrade():
    drop_schedule_table(op)
    op.drop_index("cases_review_untold", "cases")
    op.drop_column("cases", "review_notified_for")
