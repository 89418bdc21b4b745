"""permissions: idempotency_keys (a partner's Idempotency-Key and the answer it got)

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from concord_common.messaging_tables import create_idempotency_table, drop_idempotency_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    create_idempotency_table(op)


def downgrade():
    drop_idempotency_table(op)
