"""profiles: bulk imports (docs/imports.md): the job with its caller and progress, the uploaded file, the
per-row error report and the likely duplicates it created

Revision ID: 0009_imports
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0009_imports"
down_revision = "0008"          # 0008_merge_requests.py
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "imports",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),                   # profiles
        sa.Column("format", sa.Text, nullable=False),                 # csv | jsonl
        sa.Column("filename", sa.Text),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("caller", JSONB, nullable=False),                   # the verified caller the job runs as
        sa.Column("organisation_id", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("owner_team_id", sa.Text),                          # leads the new profiles (else the caller's team)
        sa.Column("request_id", sa.Text),
        sa.Column("rows_total", sa.Integer, nullable=False),
        sa.Column("rows_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("claimed_by", sa.Text),                             # host:pid of the replica running it
        sa.Column("lease_until", sa.DateTime(timezone=True)),         # another replica may take over after this
        sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
        sa.Column("problem", sa.Text),                                # why a job failed as a whole
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="import_status"),
    )
    op.create_index("imports_waiting", "imports", ["created_at"],
                    postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index("imports_organisation", "imports", ["organisation_id", "created_at"])
    op.create_table(
        "import_files",
        sa.Column("import_id", UUID(as_uuid=False), sa.ForeignKey("imports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "import_errors",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("import_id", UUID(as_uuid=False), sa.ForeignKey("imports.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("field", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("import_errors_by_import", "import_errors", ["import_id", "row"])
    op.create_table(
        "import_duplicates",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("import_id", UUID(as_uuid=False), sa.ForeignKey("imports.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("profile_id", UUID(as_uuid=False), nullable=False),
        sa.Column("candidates", JSONB, nullable=False),               # [{"id", "score"}]
    )
    op.create_index("import_duplicates_by_import", "import_duplicates", ["import_id", "row"])


def downgrade():
    for table in ("import_duplicates", "import_errors", "import_files", "imports"):
        op.drop_table(table)
