"""cases: lists walk an index in their order instead of sorting every match (a team's open cases, newest first,
sorted 70,000 rows at 200,000 cases: 110 ms; walking the index stops at the page)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE INDEX cases_owner_team_opened ON cases (owner_team_id, status, opened_at DESC, id)")
    op.execute("CREATE INDEX cases_owner_organisation_opened ON cases "
               "(owner_organisation_id, status, opened_at DESC, id)")
    op.drop_index("cases_owner_organisation", "cases")


def downgrade():
    op.create_index("cases_owner_organisation", "cases", ["owner_organisation_id", "status"])
    op.drop_index("cases_owner_organisation_opened", "cases")
    op.drop_index("cases_owner_team_opened", "cases")
