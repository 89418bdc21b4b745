"""permissions: the API-client scope webhooks:manage (a partner system manages its organisation's webhooks)

Revision ID: 0007_webhooks_scope
Revises: 0006
"""
from alembic import op

revision = "0007_webhooks_scope"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_SCOPES = ("profiles:read", "profiles:write", "cases:read", "cases:write", "audit:read", "mash:refer")
SCOPES = OLD_SCOPES + ("webhooks:manage",)


def _subset_of(column, values):
    return f"{column} <@ ARRAY[{', '.join(repr(value) for value in values)}]::text[]"


def upgrade():
    op.drop_constraint("api_clients_scopes", "api_clients")
    op.create_check_constraint("api_clients_scopes", "api_clients", _subset_of("scopes", SCOPES))


def downgrade():
    op.execute("UPDATE api_clients SET scopes = array_remove(scopes, 'webhooks:manage')")
    op.drop_constraint("api_clients_scopes", "api_clients")
    op.create_check_constraint("api_clients_scopes", "api_clients", _subset_of("scopes", OLD_SCOPES))
