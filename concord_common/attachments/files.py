"""Files on records (documents on profiles and cases, a person's photo): add, list, download.

Plain functions over a unit of work, no nameko. `Attachable` tells them about one record type: its
RecordKind (table and access), its two tables (tables.py) and hooks for what that type adds — a
person's photo and its history row, the files of merged profiles, a line on a case's timeline.

What a file is comes from its bytes (sniffing.py), never from what the uploader said; a file whose name
or declared type says otherwise is refused, as is one over the size limit, and nothing is written.
Uploading needs edit access to the record; listing and downloading need view access. A record the
caller may not see, and a file not on that record, are the same NotFound as one that does not exist.
One transaction writes the file, its metadata, what the hooks add and the event — or nothing.
"""
import base64
import binascii
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import insert, select

from concord_common import clock, record_types
from concord_common.access import records
from concord_common.attachments import sniffing
from concord_common.attachments.schemas import AttachmentSchemas
from concord_common.attachments.tables import AttachmentTables
from concord_common.errors import MalformedRequest, NotFound, ValidationFailed, load_or_fail
from concord_common.sizes import human_size

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024          # ATTACHMENT_MAX_BYTES
# The upload's own fields are the gateway's business; to the uploader they are all "the file".
_FILE_FIELDS = {"content": "file", "filename": "file", "declared_type": "file"}


def invalid_field(field_name, message) -> ValidationFailed:
    """The 422 for one field's one problem."""
    return ValidationFailed("One or more fields are invalid.", {field_name: [message]})


def _nothing(*_):
    return None


@dataclass(frozen=True)
class Upload:
    """A file that passed every check, about to be written."""
    content: bytes
    filetype: sniffing.FileType
    kind: str
    filename: str
    description: str | None


@dataclass(frozen=True)
class Attachable:
    """One record type's files, and what differs from one type to another."""
    record: records.RecordKind
    tables: AttachmentTables
    kinds: tuple[str, ...] = ("document",)
    # (session, record id) -> the ids whose files the record lists (a profile: those merged into it too)
    shown_ids: Callable = lambda session, record_id: [record_id]
    # (payload) -> whether the upload locks the record's row (a profile's new photo changes its version)
    locks_record: Callable = lambda payload: False
    # (row, upload) -> raise invalid_field(...) for what this type refuses beyond the common rules
    check: Callable = _nothing
    # (uow, row, access, upload, stored) -> what else the upload writes in the same transaction (`stored`:
    # the new file's row)
    added: Callable = _nothing
    schemas: AttachmentSchemas = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "schemas", AttachmentSchemas(self.record_type, self.kinds))

    @property
    def record_type(self) -> str:
        return self.record.record_type


def download_url(record_type: str, record_id, attachment_id) -> str:
    return f"/api/v1/{record_types.by_name(record_type).path}/{record_id}/attachments/{attachment_id}"


def view(attachable: Attachable, row, shown_on=None) -> dict:
    """`shown_on`: the record it is listed under (a survivor lists the files of profiles merged into it)."""
    record_id = row._mapping[attachable.tables.record_column]
    return {"id": row.id, attachable.tables.record_column: record_id, "filename": row.filename,
            "content_type": row.content_type, "size": row.size_bytes, "sha256": row.sha256, "kind": row.kind,
            "description": row.description, "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at.isoformat(),
            "download": download_url(attachable.record_type, shown_on or record_id, row.id)}


def _load_upload(attachable: Attachable, payload) -> dict:
    try:
        return load_or_fail(attachable.schemas.upload(), payload)
    except ValidationFailed as exc:
        errors = {}
        for name, messages in exc.errors.items():
            errors.setdefault(_FILE_FIELDS.get(name, name), []).extend(messages)
        raise ValidationFailed("One or more fields are invalid.", errors)


def checked_upload(attachable: Attachable, row, payload, max_bytes: int) -> Upload:
    """The file, if its fields, size, type (from its bytes) and name pass, and this type's own rules."""
    data = _load_upload(attachable, payload)
    try:
        content = base64.b64decode(data["content"], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedRequest("The file's content could not be read.", {"file": ["The content is not base64."]})
    if len(content) > max_bytes:
        raise invalid_field("file", f"The file is larger than the {human_size(max_bytes)} limit.")
    try:
        filetype = sniffing.choose(sniffing.identify(content), data["filename"], data["declared_type"])
    except (sniffing.Unacceptable, sniffing.Mislabelled) as exc:
        raise invalid_field("file", str(exc))
    upload = Upload(content=content, filetype=filetype, kind=data["kind"],
                    filename=sniffing.safe_filename(data["filename"], filetype),
                    description=(data["description"] or "").strip() or None)
    attachable.check(row, upload)
    return upload


def add_attachment(uow, attachable: Attachable, record_id, payload, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """Check who may, then the file, then write it: `<type>.attachment_added`."""
    session, caller, tables = uow.session, uow.caller, attachable.tables
    row, access, _ = records.load(session, attachable.record, record_id,
                                  lock=isinstance(payload, dict) and attachable.locks_record(payload))
    records.require(caller, access, "edit")
    upload = checked_upload(attachable, row, payload, max_bytes)
    values = {"id": str(uuid.uuid4()), tables.record_column: row.id, "filename": upload.filename,
              "content_type": upload.filetype.mime, "size_bytes": len(upload.content),
              "sha256": hashlib.sha256(upload.content).hexdigest(), "kind": upload.kind,
              "description": upload.description, "uploaded_by": caller.id, "uploaded_at": clock.now()}
    session.execute(insert(tables.files).values(**values))
    session.execute(insert(tables.contents).values(attachment_id=values["id"], content=upload.content))
    stored = session.execute(select(tables.files).where(tables.files.c.id == values["id"])).one()
    attachable.added(uow, row, access, upload, stored)
    session.flush()
    body = view(attachable, stored)
    uow.add_event(f"{attachable.record_type}.attachment_added", {
        "record": {"type": attachable.record_type, "id": row.id}, "owner": records.owner_of(access),
        "attachment": {key: body[key] for key in ("id", "filename", "content_type", "size", "sha256", "kind")}})
    log.info("attachment added", extra={"fields": {"record_type": attachable.record_type, "record_id": row.id,
                                                   "attachment_id": body["id"], "content_type": body["content_type"],
                                                   "size": body["size"]}})
    return body


def list_attachments(uow, attachable: Attachable, record_id, params=None) -> dict:
    """Metadata only, newest first (the bytes are in another table and never read here); the read is
    recorded."""
    session, files = uow.session, attachable.tables.files
    row, access, _ = records.load(session, attachable.record, record_id)
    records.require(uow.caller, access, "view")
    criteria = load_or_fail(attachable.schemas.listing(), params or {})
    records.record_read(uow, access, "attachments")
    limit, offset = criteria["limit"], criteria["cursor"]
    rows = session.execute(select(files).where(attachable.tables.record_id.in_(attachable.shown_ids(session, row.id)))
                           .order_by(files.c.uploaded_at.desc(), files.c.id)
                           .limit(limit + 1).offset(offset)).all()
    return {"items": [view(attachable, item, row.id) for item in rows[:limit]],
            "next_cursor": str(offset + limit) if len(rows) > limit else None}


def download_attachment(uow, attachable: Attachable, record_id, attachment_id) -> dict:
    """{"attachment": metadata, "content": base64}; the download is recorded in the same transaction
    (if it cannot be recorded, it is not served)."""
    session, tables = uow.session, attachable.tables
    row, access, _ = records.load(session, attachable.record, record_id)
    decision = records.require(uow.caller, access, "view")
    attachment = session.execute(select(tables.files).where(
        tables.files.c.id == records.record_uuid(attachment_id),
        tables.record_id.in_(attachable.shown_ids(session, row.id)))).first()
    if attachment is None:
        raise NotFound()
    content = session.execute(select(tables.contents.c.content)
                              .where(tables.contents.c.attachment_id == attachment.id)).scalar_one()
    uow.add_event(f"{attachable.record_type}.attachment_downloaded", {
        "record": {"type": attachable.record_type, "id": row.id}, "owner": records.owner_of(access),
        "attachment": {"id": attachment.id, "filename": attachment.filename, "sha256": attachment.sha256},
        "level": decision.level, "break_glass": decision.break_glass})
    return {"attachment": view(attachable, attachment, row.id),
            "content": base64.b64encode(bytes(content)).decode("ascii")}
