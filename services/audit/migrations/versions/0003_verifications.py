"""audit: verification results kept, and a scheduled verification

`audit_verifications` keeps the outcome of every verification of the chain (asked for, or the scheduled job
`audit.verify`), so every replica reports the latest one to Prometheus (concord_audit_verified_ok) and an
alert fires when the chain stops verifying. `scheduled_runs` lets the job run once per tick across replicas.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op

from concord_common import schedule

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WRITER = "concord_audit_writer"


def upgrade():
    op.create_table(
        "audit_verifications",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("entries", sa.BigInteger, nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("first_bad_seq", sa.BigInteger),
        sa.Column("scheduled", sa.Boolean, nullable=False),
    )
    schedule.create_schedule_table(op)
    op.execute(f"GRANT SELECT, INSERT ON audit_verifications TO {WRITER}")
    op.execute(f"GRANT USAGE ON SEQUENCE audit_verifications_id_seq TO {WRITER}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON scheduled_runs TO {WRITER}")


def downgrade():
    schedule.drop_schedule_table(op)
    op.drop_table("audit_verifications")
