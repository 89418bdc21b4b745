"""Files on records — documents and photos on profiles, documents on cases: multipart in, the bytes out.
The service that owns the record (concord_common.record_types) checks and keeps them, through the one
attachment mechanism (concord_common.attachments).

The gateway refuses an upload over ATTACHMENT_MAX_BYTES from its Content-Length before reading any of it
(one without a Content-Length cannot be bounded by this server, so it is refused too), reads the `file`
part, and sends it to the owning service in one RPC (base64 in nameko's JSON): one call per file, so it
is stored whole or not at all. The service checks the size again, decides the type from the bytes, and
enforces access. The helpers take the record type; each type's routes are declared below, as their
scopes and schema names differ.
"""
import base64

from eventlet.semaphore import Semaphore
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from concord_common import record_types
from concord_common.errors import MalformedRequest, TooManyRequests, ValidationFailed
from concord_common.sizes import human_size
from gateway import input_checks
from gateway.http import api, attachment_disposition, json_response

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_RPC_TIMEOUT = 60.0
# Room in the body for the multipart boundaries, the part headers and the small form fields.
MULTIPART_OVERHEAD = 64 * 1024
FORM_FIELDS = ("kind", "description")
# An upload holds a few copies of the file in this process while it is read, encoded and sent, so at most
# ATTACHMENT_CONCURRENT_UPLOADS (default 4) run at once per gateway process; others wait a little, then 429.
DEFAULT_CONCURRENT_UPLOADS = 4
UPLOAD_WAIT_SECONDS = 10
_slots: dict[int, Semaphore] = {}


def _upload_slot(service) -> Semaphore:
    size = int(service.remote.config.get("ATTACHMENT_CONCURRENT_UPLOADS") or DEFAULT_CONCURRENT_UPLOADS)
    return _slots.setdefault(size, Semaphore(size))


def max_file_bytes(service) -> int:
    return int(service.remote.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def max_upload_body(service) -> int:
    return max_file_bytes(service) + MULTIPART_OVERHEAD


def _timeout(service) -> float:
    return float(service.remote.config.get("ATTACHMENT_RPC_TIMEOUT") or DEFAULT_RPC_TIMEOUT)


def _too_large(max_bytes: int) -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.",
                            {"file": [f"The file is larger than the {human_size(max_bytes)} limit."]})


def _unreadable(message: str) -> MalformedRequest:
    return MalformedRequest("Send the file as multipart/form-data in a part named `file` (optional fields: "
                            "`kind`, `description`).", {"file": [message]})


def _owner(record_type: str) -> str:
    """The service that keeps this record type's files."""
    return record_types.by_name(record_type).service


def file_part(request, max_bytes: int, unreadable, what: str = "request"):
    """(the one `file` part, its bytes, the form) of a multipart upload: refused when too large from the
    Content-Length before any of it is read (422 naming `file`), or without a Content-Length (eventlet's server
    gives werkzeug no bounded stream for a chunked body), or not multipart, or with no or several `file` parts
    (`unreadable(message)`: the route's 400 saying what to send). For attachments and imports alike."""
    if request.content_length is not None and request.content_length > max_bytes + MULTIPART_OVERHEAD:
        raise _too_large(max_bytes)
    if request.mimetype != "multipart/form-data":
        raise unreadable("The request is not multipart/form-data.")
    if request.content_length is None:
        raise unreadable("Send the upload with a Content-Length (chunked uploads are not accepted).")
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise _too_large(max_bytes)
    parts = files.getlist("file")
    if not parts:
        raise unreadable("There is no file part named `file`" +
                         (" (a `file` field without a filename is not a file)." if "file" in form else "."))
    if len(parts) > 1:
        raise unreadable(f"Send one file per {what}.")
    content = parts[0].stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    return parts[0], content, form


def read_upload(request, max_bytes: int) -> dict:
    """The `file` part and its form fields, as the owning service takes them (file_part's refusals)."""
    part, content, form = file_part(request, max_bytes, _unreadable)
    upload = {"content": base64.b64encode(content).decode("ascii"), "filename": part.filename or "",
              "declared_type": part.mimetype or None}
    upload.update({key: form[key] for key in FORM_FIELDS if form.get(key)})
    input_checks.check_pairs("form fields", [(key, value) for key, value in upload.items() if key != "content"
                                             and isinstance(value, str)])
    return upload


def upload_file(service, request, record_type: str, record_id) -> dict:
    """Read the upload and hand it to the record's service (the API route and the web form alike)."""
    # Before reading the body: whoever may not add to the record is answered without it crossing the bus.
    service.remote.call(_owner(record_type), "check_access", record_type, record_id, "edit")
    slot = _upload_slot(service)
    if not slot.acquire(timeout=UPLOAD_WAIT_SECONDS):
        raise TooManyRequests("Too many uploads are in progress here; try again in a moment.", retry_after=5)
    try:
        upload = read_upload(request, max_file_bytes(service))
        return service.remote.call(_owner(record_type), "add_attachment", record_id, upload,
                                   timeout=_timeout(service))
    finally:
        slot.release()


def list_files(service, record_type: str, record_id, params: dict) -> dict:
    return service.remote.call(_owner(record_type), "list_attachments", record_id, params)


def file_response(service, record_type: str, record_id, attachment_id, inline: bool = False) -> Response:
    """The file's bytes; `inline` (images only: a photo on a page) instead of as a download."""
    answer = service.remote.call(_owner(record_type), "download_attachment", record_id, attachment_id,
                                 timeout=_timeout(service))
    meta, content = answer["attachment"], base64.b64decode(answer["content"])
    content_type = meta["content_type"] + ("; charset=utf-8" if meta["content_type"] == "text/plain" else "")
    disposition = attachment_disposition(meta["filename"] or "attachment",
                                         "inline" if inline and meta["content_type"].startswith("image/") else
                                         "attachment")
    return Response(content, status=200, content_type=content_type, headers={
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "ETag": f'"{meta["sha256"]}"'})


def _created(attachment: dict) -> Response:
    return json_response(201, attachment, {"Location": attachment["download"]})


FILE_ANSWER = {"application/octet-stream": {"type": "string", "format": "binary",
                                            "description": "The file, with its own Content-Type."}}


class AttachmentRoutes:
    # -- profiles: documents and a person's photo ------------------------------------------------------------
    @api("POST", "/api/v1/profiles/<profile_id>/attachments", scope="profiles:write", max_body=max_upload_body,
         body={"multipart/form-data": "profiles.AttachmentForm"}, answer="profiles.Attachment", status=201,
         errors=(413,))
    def add_attachment(self, request, profile_id):
        return _created(upload_file(self, request, "profile", profile_id))

    @api("GET", "/api/v1/profiles/<profile_id>/attachments", scope="profiles:read", query="profiles.AttachmentList",
         answer="profiles.AttachmentPage")
    def list_attachments(self, request, profile_id):
        return json_response(200, list_files(self, "profile", profile_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/attachments/<attachment_id>", scope="profiles:read",
         answer=FILE_ANSWER)
    def download_attachment(self, request, profile_id, attachment_id):
        return file_response(self, "profile", profile_id, attachment_id)

    # -- cases: documents ------------------------------------------------------------------------------------
    @api("POST", "/api/v1/cases/<case_id>/attachments", scope="cases:write", max_body=max_upload_body,
         body={"multipart/form-data": "cases.AttachmentForm"}, answer="cases.Attachment", status=201,
         errors=(413,))
    def add_case_attachment(self, request, case_id):
        """Add a document to a case (the type is decided from its bytes)."""
        return _created(upload_file(self, request, "case", case_id))

    @api("GET", "/api/v1/cases/<case_id>/attachments", scope="cases:read", query="cases.AttachmentList",
         answer="cases.AttachmentPage")
    def list_case_attachments(self, request, case_id):
        """A case's documents, newest first."""
        return json_response(200, list_files(self, "case", case_id, request.args.to_dict()))

    @api("GET", "/api/v1/cases/<case_id>/attachments/<attachment_id>", scope="cases:read", answer=FILE_ANSWER)
    def download_case_attachment(self, request, case_id, attachment_id):
        """One document's bytes (the download is audited)."""
        return file_response(self, "case", case_id, attachment_id)
