"""Documents and photos on profiles: the shared attachment mechanism (concord_common.attachments) with
what only profiles have.

Stored in this service's own database (metadata in profile_attachments, bytes in
profile_attachment_contents). A person's photo is their newest `photo` file: it must be an image,
premises have none, and a new one is a change to the profile (its version, and a `photo` row in its
history) written in the same transaction. A survivor lists and serves the files of the profiles merged
into it.
"""
from sqlalchemy import select

from concord_common.attachments import files
from concord_common.attachments.files import DEFAULT_MAX_BYTES, invalid_field  # noqa: F401 (config default)
from services.profiles.models import ATTACHMENT_TABLES, Attachment, History, Profile
from services.profiles.schema_parts import ATTACHMENT_KINDS
from services.profiles.profile_views import active_merges
from services.profiles.record_kinds import PROFILE


def _profiles_shown(session, profile_id) -> list[str]:
    """The profile and those merged into it (their files travel with the merge, and back on unmerge)."""
    return [profile_id] + [merged.duplicate_id for merged in active_merges(session, profile_id)]


def _check_photo(row, upload) -> None:
    if upload.kind != "photo":
        return
    if row.kind != "person":
        raise invalid_field("kind", "Only a person has a photo: add pictures of premises as documents.")
    if not upload.filetype.image:
        raise invalid_field("file", f"A photo must be a PNG, JPEG, GIF or WebP image; this file is "
                                    f"{upload.filetype.label}.")


def _photo_changed(uow, row, access, upload, stored) -> None:
    """The person's photo is part of the profile: a change, in its history."""
    if upload.kind != "photo":
        return
    session = uow.session
    previous = session.execute(select(Attachment.id).where(Attachment.profile_id == row.id,
                                                           Attachment.kind == "photo", Attachment.id != stored.id)
                               .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc()).limit(1)).scalar()
    profile = session.get(Profile, row.id)
    profile.version += 1
    profile.updated_at = stored.uploaded_at
    session.add(History(profile_id=row.id, changed_by=uow.caller.id, changed_at=stored.uploaded_at, field="photo",
                        before={"attachment_id": previous} if previous else None,
                        after={"attachment_id": stored.id}))


PROFILE_FILES = files.Attachable(
    record=PROFILE, tables=ATTACHMENT_TABLES, kinds=ATTACHMENT_KINDS, shown_ids=_profiles_shown,
    # A new photo changes the profile (its version), so that row is locked for it.
    locks_record=lambda payload: payload.get("kind") == "photo",
    check=_check_photo, added=_photo_changed)


def add_attachment(uow, profile_id, payload, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    return files.add_attachment(uow, PROFILE_FILES, profile_id, payload, max_bytes)


def list_attachments(uow, profile_id, params=None) -> dict:
    return files.list_attachments(uow, PROFILE_FILES, profile_id, params)


def download_attachment(uow, profile_id, attachment_id) -> dict:
    return files.download_attachment(uow, PROFILE_FILES, profile_id, attachment_id)
