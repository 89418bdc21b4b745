"""profiles: lead owner, restriction and consent on each profile; the grants table

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from concord_common.access.store import create_grants_table, drop_grants_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable only for rows made before owners existed: with no owner, nobody but the system sees them.
    op.add_column("profiles", sa.Column("owner_team_id", sa.Text))
    op.add_column("profiles", sa.Column("owner_organisation_id", sa.Text))
    op.add_column("profiles", sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("profiles", sa.Column("consent_status", sa.Text, nullable=False, server_default="not_sought"))
    op.add_column("profiles", sa.Column("consent_detail", sa.Text))
    op.create_check_constraint("profiles_consent_status", "profiles",
                               "consent_status IN ('given', 'refused', 'not_sought', 'overridden')")
    op.create_index("profiles_owner_team", "profiles", ["owner_team_id"])
    op.create_index("profiles_owner_organisation", "profiles", ["owner_organisation_id"])
    create_grants_table(op)


def downgrade():
    drop_grants_table(op)
    op.drop_index("profiles_owner_organisation")
    op.drop_index("profiles_owner_team")
    op.drop_constraint("profiles_consent_status", "profiles")
    for column in ("consent_detail", "consent_status", "restricted", "owner_organisation_id", "owner_team_id"):
        op.drop_column("profiles", column)
