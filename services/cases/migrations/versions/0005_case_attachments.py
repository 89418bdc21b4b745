"""cases: documents on cases, in the attachment tables every record type shares

case_attachments (metadata) and case_attachment_contents (the bytes), defined in
concord_common.attachments.tables as profiles' are: one transaction writes the file, its metadata,
the timeline line and the event, or nothing.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from concord_common.attachments.tables import create_attachment_tables, drop_attachment_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    create_attachment_tables(op, "case", "cases")


def downgrade():
    drop_attachment_tables(op, "case", "cases")
