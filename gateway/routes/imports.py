"""Bulk import (docs/imports.md): a CSV or JSON lines file of profiles in, a job's progress and report out.

The upload is read as attachments are (gateway/routes/attachments.py): refused from its Content-Length before
any of it is read when over IMPORT_MAX_BYTES (422 naming `file`), the `file` part sent whole to the profiles
service in one RPC, which checks it again (size, CSV or JSON lines) and queues the job; 202. The job runs in the
profiles service as the caller who started it.
"""
import base64


from concord_common.errors import MalformedRequest, TooManyRequests
from gateway import input_checks
from gateway.http import api, json_response
from gateway.routes.attachments import MULTIPART_OVERHEAD, UPLOAD_WAIT_SECONDS, _upload_slot, file_part

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_RPC_TIMEOUT = 120.0
FORM_FIELDS = ("kind", "owner_team_id")


def max_import_bytes(service) -> int:
    return int(service.remote.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def max_import_body(service) -> int:
    return max_import_bytes(service) + MULTIPART_OVERHEAD


def _unreadable(message: str) -> MalformedRequest:
    return MalformedRequest("Send the file as multipart/form-data in a part named `file`, with `kind` "
                            "(profiles) and optionally `owner_team_id`.", {"file": [message]})


def read_import(request, max_bytes: int) -> dict:
    """The `file` part and the form fields, as the profiles service's start_import takes them."""
    part, content, form = file_part(request, max_bytes, _unreadable, "import")
    upload = {"content": base64.b64encode(content).decode("ascii"), "filename": part.filename or ""}
    upload.update({key: form[key] for key in FORM_FIELDS if form.get(key)})
    input_checks.check_pairs("form fields", [(key, value) for key, value in upload.items() if key != "content"])
    return upload


def start_import(service, request) -> dict:
    """Read the upload and queue the job (the API route and the web form alike): {"id", "status"}."""
    slot = _upload_slot(service)
    if not slot.acquire(timeout=UPLOAD_WAIT_SECONDS):
        raise TooManyRequests("Too many uploads are in progress here; try again in a moment.", retry_after=5)
    try:
        upload = read_import(request, max_import_bytes(service))
        timeout = float(service.remote.config.get("IMPORT_RPC_TIMEOUT") or DEFAULT_RPC_TIMEOUT)
        return service.remote.call("profiles", "start_import", upload, timeout=timeout)
    finally:
        slot.release()


class ImportRoutes:
    @api("POST", "/api/v1/imports", scope="profiles:write", max_body=max_import_body,
         body={"multipart/form-data": "profiles.ImportForm"}, answer="profiles.ImportStarted", status=202,
         errors=(413,))
    def start_import(self, request):
        """Import profiles from a CSV or JSON lines file (docs/imports.md): each row is created or updated by its
        external reference, in the background, as you. Poll the job's `Location` for progress and errors."""
        started = start_import(self, request)
        return json_response(202, started, {"Location": f"/api/v1/imports/{started['id']}"})

    @api("GET", "/api/v1/imports/<import_id>", scope="profiles:write", answer="profiles.Import")
    def get_import(self, request, import_id):
        """An import's progress (`rows_done` of `rows_total`), counts, and each bad row's errors (row, field,
        message); your organisation's imports only."""
        return json_response(200, self.remote.call("profiles", "get_import", import_id))
