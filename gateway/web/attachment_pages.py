"""Files on the profile and case pages: upload (a multipart form with the CSRF token) and download.

The same checks as the API (gateway/routes/attachments.py, then the record's service): edit access to
upload, view access to download, the type decided from the bytes. A refused file re-renders the record's
page with the GOV.UK error summary pointing at the file input; nothing is written. A case the caller may
not see, or a document not on it, is the cases' own "Page not found", as for an id that does not exist.
"""
import functools

from werkzeug.utils import redirect

from concord_common.errors import MalformedRequest, NotFound, TooManyRequests, ValidationFailed
from gateway.routes.attachments import file_response, max_upload_body, upload_file
from gateway.web.case_pages import case_not_found
from gateway.web.profile_forms import Errors, first_message, valid_uuid
from gateway.web.profile_views import not_found, web_page

FORM_FIELDS = {"file": "file", "kind": "kind", "description": "description"}
# On the case page the inputs are prefixed: it has other forms (a note) with their own fields.
CASE_FORM_FIELDS = {"file": "document-file", "description": "document-description"}


def _refusal(exc) -> dict:
    """{field: first message} of a refused upload (the file itself when the error names no field)."""
    return {field: first_message(messages) for field, messages in (exc.errors or {}).items()} or \
        {"file": exc.detail}


def case_file_page(method, url, **options):
    """web_page for a case's files: the cases' own "Page not found" for a malformed id or one not seen."""
    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, principal, **values):
            if not all(valid_uuid(value) for value in values.values()):
                return case_not_found()
            try:
                return fn(self, request, principal, **values)
            except NotFound:
                return case_not_found()
        return web_page(method, url, **options)(handler)
    return decorate


class AttachmentPages:
    # -- profiles ------------------------------------------------------------------------------------------------
    @web_page("POST", "/profiles/<profile_id>/attachments", max_body=max_upload_body)
    def web_attachment_upload(self, request, principal, profile_id):
        if not valid_uuid(profile_id):
            return not_found()
        try:
            upload_file(self, request, "profile", profile_id)
        except (ValidationFailed, MalformedRequest, TooManyRequests) as exc:
            errors = [{"href": f"#{FORM_FIELDS.get(field, 'file')}", "text": message}
                      for field, message in _refusal(exc).items()]
            return self._pp_profile_page(principal, profile_id, {}, status=exc.status, errors=errors)
        return redirect(f"/profiles/{profile_id}?uploaded=1#documents", code=303)

    @web_page("GET", "/profiles/<profile_id>/attachments/<attachment_id>")
    def web_attachment_download(self, request, principal, profile_id, attachment_id):
        if not (valid_uuid(profile_id) and valid_uuid(attachment_id)):
            return not_found()
        return file_response(self, "profile", profile_id, attachment_id,
                             inline=request.args.get("inline") == "1")

    # -- cases ---------------------------------------------------------------------------------------------------
    @case_file_page("POST", "/cases/<case_id>/attachments", max_body=max_upload_body)
    def web_case_attachment_upload(self, request, principal, case_id):
        try:
            upload_file(self, request, "case", case_id)
        except (ValidationFailed, MalformedRequest, TooManyRequests) as exc:
            errors = Errors(list(CASE_FORM_FIELDS.values()))
            for field, message in _refusal(exc).items():
                errors.add(CASE_FORM_FIELDS.get(field, "document-file"), message)
            return self._cp_case_page(principal, case_id, {}, exc.status, errors)
        return redirect(f"/cases/{case_id}?uploaded=1#documents", code=303)

    @case_file_page("GET", "/cases/<case_id>/attachments/<attachment_id>")
    def web_case_attachment_download(self, request, principal, case_id, attachment_id):
        return file_response(self, "case", case_id, attachment_id)
