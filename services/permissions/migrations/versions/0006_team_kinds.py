"""permissions: teams.kind (`mash` marks the MASH team that leads referrals) and the API-client scope mash:refer

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_SCOPES = ("profiles:read", "profiles:write", "cases:read", "cases:write", "audit:read")
SCOPES = OLD_SCOPES + ("mash:refer",)


def _subset_of(column, values):
    return f"{column} <@ ARRAY[{', '.join(repr(value) for value in values)}]::text[]"


def upgrade():
    op.add_column("teams", sa.Column("kind", sa.Text, nullable=False, server_default="general"))
    op.create_check_constraint("teams_kind", "teams", "kind IN ('general', 'mash')")
    op.drop_constraint("api_clients_scopes", "api_clients")
    op.create_check_constraint("api_clients_scopes", "api_clients", _subset_of("scopes", SCOPES))


def downgrade():
    op.drop_constraint("api_clients_scopes", "api_clients")
    op.create_check_constraint("api_clients_scopes", "api_clients", _subset_of("scopes", OLD_SCOPES))
    op.drop_constraint("teams_kind", "teams")
    op.drop_column("teams", "kind")
