"""What both the input schemas (schemas.py) and the answers (answers.py) are built from."""
from datetime import timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.permissions.models import CONSENT_STATUSES

NOTE = validate.Length(max=2000)


class Trimmed(fields.String):
    """A string with surrounding whitespace removed."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class UtcDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z, as the API contract writes times."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc(value) -> str | None:
    return UtcDateTime()._serialize(value, None, None)


class ConsentSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CONSENT_STATUSES))
    detail = Trimmed(allow_none=True, load_default=None, validate=NOTE)

    @validates_schema(skip_on_field_errors=True)
    def _override_explained(self, data, **_):
        if data.get("status") == "overridden" and not data.get("detail"):
            raise ValidationError({"detail": ["Say why consent was overridden."]})
