"""Documents and photos on the profile page: upload (a multipart form with the CSRF token) and download.

The same checks as the API (gateway/routes/attachments.py, then the profiles service): edit access to
upload, view access to download, the type decided from the bytes. A refused file re-renders the profile
page with the GOV.UK error summary pointing at the file input; nothing is written.
"""
from werkzeug.utils import redirect

from concord_common.errors import MalformedRequest, TooManyRequests, ValidationFailed
from gateway.routes.attachments import file_response, max_upload_body, upload_file
from gateway.web.profile_forms import first_message, valid_uuid
from gateway.web.profile_views import not_found, web_page

FORM_FIELDS = {"file": "file", "kind": "kind", "description": "description"}


class AttachmentPages:
    @web_page("POST", "/profiles/<profile_id>/attachments", max_body=max_upload_body)
    def web_attachment_upload(self, request, principal, profile_id):
        if not valid_uuid(profile_id):
            return not_found()
        try:
            upload_file(self, request, profile_id)
        except (ValidationFailed, MalformedRequest, TooManyRequests) as exc:
            errors = [{"href": f"#{FORM_FIELDS.get(field, 'file')}", "text": first_message(messages)}
                      for field, messages in (exc.errors or {}).items()] or [{"href": "#file", "text": exc.detail}]
            return self._pp_profile_page(principal, profile_id, {}, status=exc.status, errors=errors)
        return redirect(f"/profiles/{profile_id}?uploaded=1#documents", code=303)

    @web_page("GET", "/profiles/<profile_id>/attachments/<attachment_id>")
    def web_attachment_download(self, request, principal, profile_id, attachment_id):
        if not (valid_uuid(profile_id) and valid_uuid(attachment_id)):
            return not_found()
        return file_response(self, profile_id, attachment_id, inline=request.args.get("inline") == "1")
