"""Documents on cases: the attachment mechanism profiles use (concord_common.attachments), with a line on
the case's timeline for each document added.

The same rules as profiles' documents: the type from the bytes, the size limit, edit access to add,
view access to list and download, each download recorded (`case.attachment_downloaded`). Documents
follow the case's access; there are no sensitive documents.
"""
from concord_common.attachments import files
from concord_common.attachments.files import DEFAULT_MAX_BYTES
from services.cases.logic import CASE, add_to_timeline
from services.cases.models import ATTACHMENT_TABLES


def _on_timeline(uow, row, access, upload, stored) -> None:
    add_to_timeline(uow, row.id, "document", f"Document added: {upload.filename}",
                    ref={"type": "attachment", "id": stored.id}, at=stored.uploaded_at)


CASE_FILES = files.Attachable(record=CASE, tables=ATTACHMENT_TABLES, added=_on_timeline)


def add_attachment(uow, case_id, payload, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    return files.add_attachment(uow, CASE_FILES, case_id, payload, max_bytes)


def list_attachments(uow, case_id, params=None) -> dict:
    return files.list_attachments(uow, CASE_FILES, case_id, params)


def download_attachment(uow, case_id, attachment_id) -> dict:
    return files.download_attachment(uow, CASE_FILES, case_id, attachment_id)
