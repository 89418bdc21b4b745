"""Documents and photos on profiles: multipart in, the bytes out. The profiles service checks and keeps them.

The gateway refuses an upload over ATTACHMENT_MAX_BYTES from its Content-Length before reading any of it
(one without a Content-Length cannot be bounded by this server, so it is refused too), reads the `file`
part, and sends it to the profiles service in one RPC (base64 in nameko's JSON): one call per file, so it
is stored whole or not at all. The service checks the size again, decides the type from the bytes, and
enforces access.
"""
import base64
import unicodedata
from urllib.parse import quote

from eventlet.semaphore import Semaphore
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from concord_common.errors import MalformedRequest, TooManyRequests, ValidationFailed
from concord_common.sizes import human_size
from gateway.http import api, json_response

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
    size = int(service.rpc.config.get("ATTACHMENT_CONCURRENT_UPLOADS") or DEFAULT_CONCURRENT_UPLOADS)
    return _slots.setdefault(size, Semaphore(size))


def max_file_bytes(service) -> int:
    return int(service.rpc.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def max_upload_body(service) -> int:
    return max_file_bytes(service) + MULTIPART_OVERHEAD


def _timeout(service) -> float:
    return float(service.rpc.config.get("ATTACHMENT_RPC_TIMEOUT") or DEFAULT_RPC_TIMEOUT)


def _too_large(max_bytes: int) -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.",
                            {"file": [f"The file is larger than the {human_size(max_bytes)} limit."]})


def _unreadable(message: str) -> MalformedRequest:
    return MalformedRequest("Send the file as multipart/form-data in a part named `file` (optional fields: "
                            "`kind` document|photo, `description`).", {"file": [message]})


def read_upload(request, max_bytes: int) -> dict:
    """The `file` part and its form fields, as the profiles service takes them; refused when too large
    before any of it is read."""
    if request.content_length is not None and request.content_length > max_bytes + MULTIPART_OVERHEAD:
        raise _too_large(max_bytes)
    if request.mimetype != "multipart/form-data":
        raise _unreadable("The request is not multipart/form-data.")
    if request.content_length is None:      # chunked: eventlet's server gives werkzeug no bounded stream
        raise _unreadable("Send the upload with a Content-Length (chunked uploads are not accepted).")
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise _too_large(max_bytes)
    parts = files.getlist("file")
    if not parts:
        raise _unreadable("There is no file part named `file`" +
                          (" (a `file` field without a filename is not a file)." if "file" in form else "."))
    if len(parts) > 1:
        raise _unreadable("Send one file per request.")
    part = parts[0]
    content = part.stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    upload = {"content": base64.b64encode(content).decode("ascii"), "filename": part.filename or "",
              "declared_type": part.mimetype or None}
    upload.update({key: form[key] for key in FORM_FIELDS if form.get(key)})
    return upload


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old clients and the exact name as UTF-8."""
    fallback = "".join("" if unicodedata.combining(ch) else ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_"
                       for ch in unicodedata.normalize("NFKD", filename)).strip() or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def upload_file(service, request, profile_id) -> dict:
    """Read the upload and hand it to the profiles service (the API route and the web form alike)."""
    # Before reading the body: whoever may not add to the profile is answered without it crossing the bus.
    service.rpc.call("profiles", "check_access", "profile", profile_id, "edit")
    slot = _upload_slot(service)
    if not slot.acquire(timeout=UPLOAD_WAIT_SECONDS):
        raise TooManyRequests("Too many uploads are in progress here; try again in a moment.", retry_after=5)
    try:
        upload = read_upload(request, max_file_bytes(service))
        return service.rpc.call("profiles", "add_attachment", profile_id, upload, timeout=_timeout(service))
    finally:
        slot.release()


def file_response(service, profile_id, attachment_id, inline: bool = False) -> Response:
    """The file's bytes; `inline` (images only: a photo on a page) instead of as a download."""
    answer = service.rpc.call("profiles", "download_attachment", profile_id, attachment_id,
                              timeout=_timeout(service))
    meta, content = answer["attachment"], base64.b64decode(answer["content"])
    content_type = meta["content_type"] + ("; charset=utf-8" if meta["content_type"] == "text/plain" else "")
    disposition = content_disposition(meta["filename"])
    if inline and meta["content_type"].startswith("image/"):
        disposition = disposition.replace("attachment;", "inline;", 1)
    return Response(content, status=200, content_type=content_type, headers={
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "ETag": f'"{meta["sha256"]}"'})


class AttachmentRoutes:
    @api("POST", "/api/v1/profiles/<profile_id>/attachments", scope="profiles:write", max_body=max_upload_body,
         body={"multipart/form-data": "profiles.AttachmentForm"}, answer="profiles.Attachment", status=201,
         errors=(413,))
    def add_attachment(self, request, profile_id):
        attachment = upload_file(self, request, profile_id)
        return json_response(201, attachment, {"Location": attachment["download"]})

    @api("GET", "/api/v1/profiles/<profile_id>/attachments", scope="profiles:read", query="profiles.AttachmentList",
         answer="profiles.AttachmentPage")
    def list_attachments(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "list_attachments", profile_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/attachments/<attachment_id>", scope="profiles:read",
         answer={"application/octet-stream": {"type": "string", "format": "binary",
                                               "description": "The file, with its own Content-Type."}})
    def download_attachment(self, request, profile_id, attachment_id):
        return file_response(self, profile_id, attachment_id)

