"""The profiles contract: what comes in and what goes out (marshmallow)."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema


class PersonCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["person", "premises"]))
    given_name = fields.String(validate=validate.Length(min=1, max=200))
    family_name = fields.String(validate=validate.Length(min=1, max=200))
    name = fields.String(validate=validate.Length(min=1, max=300))
    date_of_birth = fields.Date()

    @validates("date_of_birth")
    def _not_in_future(self, value, **_):
        if value and value > date.today():
            raise ValidationError("Date of birth cannot be in the future.")

    @validates_schema(pass_original=True, skip_on_field_errors=False)  # report every problem at once
    def _names_for_kind(self, data, original, **_):
        required = {"person": ("given_name", "family_name"), "premises": ("name",)}.get(data.get("kind"), ())
        missing = {key: ["Missing data for required field."] for key in required
                   if original.get(key) is None}
        if missing:
            raise ValidationError(missing)


class ProfileSchema(Schema):
    id = fields.String()
    kind = fields.String()
    given_name = fields.String(allow_none=True)
    family_name = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    display_name = fields.Method("_display_name")
    date_of_birth = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()

    def _display_name(self, profile):
        if profile.kind == "premises":
            return profile.name
        return f"{profile.given_name} {profile.family_name}"
