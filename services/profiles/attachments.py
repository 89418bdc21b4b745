"""Documents and photos on profiles: plain functions over a unit of work, no nameko here.

Stored in this service's own database (metadata in profile_attachments, bytes in
profile_attachment_contents), so one transaction writes the file, its metadata, the profile's
history (for a photo) and the audit event — or nothing. What a file is comes from its bytes
(services/profiles/sniffing.py), never from what the uploader said; a file whose name or declared
type says otherwise is refused. Uploading needs edit access to the profile; listing and downloading
need view access; a profile the caller may not see, and an attachment not on that profile, are the
same NotFound as one that does not exist.
"""
import base64
import binascii
import hashlib
import logging
import re
import unicodedata
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.errors import MalformedRequest, NotFound, ValidationFailed, load_or_fail
from concord_common.sizes import human_size
from services.profiles import sniffing
from services.profiles.logic import PROFILE, _active_merges
from services.profiles.models import Attachment, AttachmentContent, History, Profile
from services.profiles.schemas import AttachmentListSchema, AttachmentUploadSchema

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024          # ATTACHMENT_MAX_BYTES
MAX_FILENAME = 255
_upload_schema = AttachmentUploadSchema()
_list_schema = AttachmentListSchema()
# The upload's own fields are the gateway's business; to the uploader they are all "the file".
_FILE_FIELDS = {"content": "file", "filename": "file", "declared_type": "file"}
_UNSAFE_IN_NAMES = re.compile(r'[<>:"/\\|?*]')


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def download_url(profile_id, attachment_id) -> str:
    return f"/api/v1/profiles/{profile_id}/attachments/{attachment_id}"


def view(row, shown_on=None) -> dict:
    """`shown_on`: the profile it is listed under (a survivor lists the files of profiles merged into it)."""
    return {"id": row.id, "profile_id": row.profile_id, "filename": row.filename, "content_type": row.content_type,
            "size": row.size_bytes, "sha256": row.sha256, "kind": row.kind, "description": row.description,
            "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at.isoformat(),
            "download": download_url(shown_on or row.profile_id, row.id)}


def _profiles_shown(session, profile_id) -> list[str]:
    """The profile and those merged into it (their files travel with the merge, and back on unmerge)."""
    return [profile_id] + [merged.duplicate_id for merged in _active_merges(session, profile_id)]


def safe_filename(raw: str, filetype: sniffing.FileType) -> str:
    """The name without any path, control or bidi characters, or characters Windows forbids; with the
    sniffed type's extension if it had none; at most 255 characters."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", _UNSAFE_IN_NAMES.sub("_", name)).strip(" .")
    if sniffing.extension_of(name) is None:
        name = f"{name or 'attachment'}.{filetype.extension}"
    stem, ext = name.rsplit(".", 1)
    return f"{stem[:MAX_FILENAME - len(ext) - 1].rstrip(' .') or 'attachment'}.{ext}"


def _current_photo(session, profile_id) -> str | None:
    return session.execute(select(Attachment.id).where(Attachment.profile_id == profile_id,
                                                       Attachment.kind == "photo")
                           .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc()).limit(1)).scalar()


def _load_upload(payload) -> dict:
    try:
        return load_or_fail(_upload_schema, payload)
    except ValidationFailed as exc:
        errors = {}
        for field, messages in exc.errors.items():
            errors.setdefault(_FILE_FIELDS.get(field, field), []).extend(messages)
        raise ValidationFailed("One or more fields are invalid.", errors)


def add_attachment(uow, profile_id, payload, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """Check who may, then the file (size, type from its bytes, name and declared type), then write it."""
    session, caller = uow.session, uow.caller
    photo = isinstance(payload, dict) and payload.get("kind") == "photo"
    # A new photo changes the profile (its version), so that row is locked for it.
    row, access, _ = records.load(session, PROFILE, profile_id, lock=photo)
    records.require(caller, access, "edit")
    data = _load_upload(payload)
    try:
        content = base64.b64decode(data["content"], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedRequest("The file's content could not be read.", {"file": ["The content is not base64."]})
    if len(content) > max_bytes:
        raise _invalid("file", f"The file is larger than the {human_size(max_bytes)} limit.")
    try:
        filetype = sniffing.choose(sniffing.identify(content), data["filename"], data["declared_type"])
    except (sniffing.Unacceptable, sniffing.Mislabelled) as exc:
        raise _invalid("file", str(exc))
    if data["kind"] == "photo":
        if row.kind != "person":
            raise _invalid("kind", "Only a person has a photo: add pictures of premises as documents.")
        if not filetype.image:
            raise _invalid("file", f"A photo must be a PNG, JPEG, GIF or WebP image; this file is {filetype.label}.")
    description = (data["description"] or "").strip() or None
    previous_photo = _current_photo(session, row.id) if data["kind"] == "photo" else None

    now = clock.now()
    attachment = Attachment(id=str(uuid.uuid4()), profile_id=row.id,
                            filename=safe_filename(data["filename"], filetype), content_type=filetype.mime,
                            size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest(), kind=data["kind"],
                            description=description, uploaded_by=caller.id, uploaded_at=now)
    session.add(attachment)
    session.flush()
    session.add(AttachmentContent(attachment_id=attachment.id, content=content))
    if data["kind"] == "photo":           # the person's photo is part of the profile: a change, in its history
        profile = session.get(Profile, row.id)
        profile.version += 1
        profile.updated_at = now
        session.add(History(profile_id=row.id, changed_by=caller.id, changed_at=now, field="photo",
                            before={"attachment_id": previous_photo} if previous_photo else None,
                            after={"attachment_id": attachment.id}))
    session.flush()
    body = view(attachment)
    uow.add_event("profile.attachment_added", {
        "record": {"type": "profile", "id": row.id}, "owner": records.owner_of(access),
        "attachment": {key: body[key] for key in ("id", "filename", "content_type", "size", "sha256", "kind")}})
    log.info("attachment added", extra={"fields": {"profile_id": row.id, "attachment_id": attachment.id,
                                                   "content_type": filetype.mime, "size": len(content)}})
    return body


def list_attachments(uow, profile_id, params=None) -> dict:
    """Metadata only, newest first (the bytes are in another table and never read here)."""
    row, access, _ = records.load(uow.session, PROFILE, profile_id)
    records.require(uow.caller, access, "view")
    criteria = load_or_fail(_list_schema, params or {})
    limit, offset = criteria["limit"], criteria["cursor"]
    rows = uow.session.execute(select(Attachment).where(Attachment.profile_id.in_(
        _profiles_shown(uow.session, row.id))).order_by(Attachment.uploaded_at.desc(), Attachment.id)
                               .limit(limit + 1).offset(offset)).scalars().all()
    return {"items": [view(item, row.id) for item in rows[:limit]],
            "next_cursor": str(offset + limit) if len(rows) > limit else None}


def download_attachment(uow, profile_id, attachment_id) -> dict:
    """{"attachment": metadata, "content": base64}; the download is recorded in the same transaction
    (if it cannot be recorded, it is not served)."""
    session, caller = uow.session, uow.caller
    row, access, _ = records.load(session, PROFILE, profile_id)
    decision = records.require(caller, access, "view")
    attachment = session.execute(select(Attachment).where(
        Attachment.id == records.record_uuid(attachment_id),
        Attachment.profile_id.in_(_profiles_shown(session, row.id)))).scalar()
    if attachment is None:
        raise NotFound()
    content = session.execute(select(AttachmentContent.content)
                              .where(AttachmentContent.attachment_id == attachment.id)).scalar_one()
    now = clock.now()
    uow.add_event("profile.attachment_downloaded", {
        "record": {"type": "profile", "id": row.id}, "owner": records.owner_of(access),
        "attachment": {"id": attachment.id, "filename": attachment.filename, "sha256": attachment.sha256},
        "level": decision.level,
        "break_glass": any(g.source == "break_glass" and g.covers(caller) and g.active(now) for g in access.grants)})
    return {"attachment": view(attachment, row.id), "content": base64.b64encode(bytes(content)).decode("ascii")}
