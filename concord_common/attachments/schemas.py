"""What an upload, a list of files and a file's metadata look like, for any record type.

`AttachmentSchemas("case", ("document",))` builds the classes one record type uses; its service names
`form`, `listing`, `view` and `page` in its CONTRACT (`cases.AttachmentForm` …) for the API document.
"""
from marshmallow import Schema, fields, pre_load, validate

from concord_common.contract import Described

MAX_DESCRIPTION = 2000


class AttachmentListSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2 ** 31))   # an OFFSET PostgreSQL takes


class _Upload(Schema):
    """One file as the gateway forwards it: the bytes base64-encoded, and what the uploader said about them."""
    content = fields.String(required=True)                 # base64
    filename = fields.String(load_default="", validate=validate.Length(max=1000))
    declared_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_DESCRIPTION))

    @pre_load
    def _blank_is_absent(self, data, **_):
        if isinstance(data, dict):
            return {key: value for key, value in data.items()
                    if not (key in ("kind", "description", "declared_type") and value in ("", None))}
        return data


class AttachmentSchemas:
    """The schema classes of one record type's files (`kinds`: what a file may be on it)."""

    def __init__(self, record_type: str, kinds: tuple[str, ...]):
        kind_field = dict(validate=validate.OneOf(kinds))
        self.upload = type("AttachmentUploadSchema", (_Upload,), {
            "kind": fields.String(load_default="document", **kind_field)})
        self.listing = AttachmentListSchema
        self.form = type("AttachmentFormSchema", (Schema,), {
            "__doc__": "multipart/form-data: the file in a part named `file`, with optional `kind` and `description`.",
            "file": fields.Raw(required=True, metadata={"type": "string", "format": "binary"}),
            "kind": fields.String(**kind_field),
            "description": fields.String(validate=validate.Length(max=MAX_DESCRIPTION))})
        self.view = type("AttachmentViewSchema", (Described,), {
            "__doc__": f"A file on a {record_type} (metadata; GET `download` for the bytes).",
            "id": fields.UUID(), f"{record_type}_id": fields.UUID(), "filename": fields.String(),
            "content_type": fields.String(), "size": fields.Integer(), "sha256": fields.String(),
            "kind": fields.String(**kind_field), "description": fields.String(allow_none=True),
            "uploaded_by": fields.String(), "uploaded_at": fields.DateTime(), "download": fields.String()})
        self.page = type("AttachmentPageSchema", (Described,), {
            "items": fields.List(fields.Nested(self.view)), "next_cursor": fields.String(allow_none=True)})
