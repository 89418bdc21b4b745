"""cases: messaging tables

Revision ID: 0001
"""
from alembic import op

from concord_common.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables(op)


def downgrade():
    drop_messaging_tables(op)
