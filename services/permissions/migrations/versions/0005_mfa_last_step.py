"""permissions: users.mfa_last_step (the TOTP time step last accepted, so a code works once)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("mfa_last_step", sa.BigInteger, nullable=True))


def downgrade():
    op.drop_column("users", "mfa_last_step")
