"""profiles: documents and photos on profiles (attachments)

Metadata in profile_attachments; the bytes in profile_attachment_contents (one row per attachment), so
listing never reads them. Both in this service's own database: one transaction writes the file, its
metadata and its event, or nothing.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "profile_attachments",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("profile_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("uploaded_by", sa.Text),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('document', 'photo')", name="profile_attachments_kind"),
        sa.CheckConstraint("size_bytes > 0", name="profile_attachments_size"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="profile_attachments_sha256"),
        sa.CheckConstraint("length(filename) BETWEEN 1 AND 255", name="profile_attachments_filename"))
    # A profile's attachments newest first (the list, and the person's current photo).
    op.create_index("profile_attachments_profile", "profile_attachments",
                    ["profile_id", sa.text("uploaded_at DESC"), "id"])
    op.create_table(
        "profile_attachment_contents",
        sa.Column("attachment_id", UUID(as_uuid=False),
                  sa.ForeignKey("profile_attachments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False))
    # Out of line, uncompressed: PDFs, images and Office files are compressed already.
    op.execute("ALTER TABLE profile_attachment_contents ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade():
    op.drop_table("profile_attachment_contents")
    op.drop_index("profile_attachments_profile", table_name="profile_attachments")
    op.drop_table("profile_attachments")
