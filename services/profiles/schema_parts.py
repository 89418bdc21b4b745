"""The parts of a profile that have the same shape coming in and going out (alias, identifier, address, flag
with its Herbert Protocol details, contact, external reference), and the values allowed for flags, roles,
premises types, family roles, genders and attachment kinds. schemas.py (requests) and answers.py build on them."""
from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from services.profiles import identifiers as ids

FLAGS = ("vulnerable_adult", "dementia", "hate_crime_victim", "domestic_abuse", "gang_associated", "cse_risk",
         "parent_in_prison", "mental_health", "risk_to_staff")
ROLES = ("victim", "perpetrator", "witness", "subject")
PREMISES_TYPES = ("residential", "licensed_premises", "business", "public_space", "other")
FAMILY_ROLES = ("parent", "child", "sibling", "partner", "carer", "grandparent", "other")
GENDERS = ("female", "male", "non_binary", "other", "not_known", "not_stated")
ATTACHMENT_KINDS = ("document", "photo")


class Normalised(fields.String):
    """A string put into canonical form by `normalise`, whose ValueError becomes the field's error."""

    def __init__(self, normalise, **kwargs):
        super().__init__(**kwargs)
        self.normalise = normalise

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalise(text)
        except ValueError as exc:
            raise ValidationError(str(exc))


class AliasSchema(Schema):
    given_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    family_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _given_or_family_name(self, data, **_):
        if not data.get("given_name") and not data.get("family_name"):
            raise ValidationError({"given_name": ["Give a given name or a family name."]})


class IdentifierSchema(Schema):
    scheme = fields.String(required=True, validate=validate.OneOf(sorted(ids.IDENTIFIER_SCHEMES)))
    value = fields.String(required=True, validate=validate.Length(min=1, max=40))

    @post_load
    def _normalise_value(self, data, **_):
        try:
            data["value"] = ids.normalise_identifier(data["scheme"], data["value"])
        except ValueError as exc:
            raise ValidationError({"value": [str(exc)]})
        return data


class AddressSchema(Schema):
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=300))
    line2 = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    town = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    postcode = Normalised(ids.normalise_postcode, required=True)
    uprn = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{1,12}$",
                         error="A UPRN is up to 12 digits."))
    from_date = fields.Date(data_key="from", load_default=None, allow_none=True)
    to_date = fields.Date(data_key="to", load_default=None, allow_none=True)

    @validates_schema
    def _ends_after_it_starts(self, data, **_):
        if data.get("from_date") and data.get("to_date") and data["to_date"] < data["from_date"]:
            raise ValidationError({"to": ["An address cannot end before it starts."]})


class HerbertProtocolSchema(Schema):
    """Dementia: what helps find a person who goes missing."""
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    life_history = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    places_they_may_go = fields.List(fields.String(validate=validate.Length(max=500)), load_default=None,
                                     allow_none=True)
    medication_and_needs = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class FlagSchema(Schema):
    flag = fields.String(required=True, validate=validate.OneOf(FLAGS))
    detail = fields.Raw(load_default=None, allow_none=True)

    @pre_load
    def _flag_by_name(self, data, **_):
        return {"flag": data} if isinstance(data, str) else data

    @validates_schema
    def _detail_fits_the_flag(self, data, **_):
        detail = data.get("detail")
        if detail is None:
            return
        if data.get("flag") == "dementia" and isinstance(detail, dict):
            errors = HerbertProtocolSchema().validate(detail)
            if errors:
                raise ValidationError({"detail": errors})
        elif not isinstance(detail, str) or len(detail) > 5000:
            raise ValidationError({"detail": ["Give the detail as text (dementia: Herbert Protocol details)."]})

    @post_load
    def _herbert_protocol_loaded(self, data, **_):
        if data.get("flag") == "dementia" and isinstance(data.get("detail"), dict):
            data["detail"] = HerbertProtocolSchema().load(data["detail"])
        return data


class ContactSchema(Schema):
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\+?[0-9 ()-]{6,20}$", error="That is not a phone number."))
    mobile = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\+?[0-9 ()-]{6,20}$", error="That is not a phone number."))
    email = fields.Email(load_default=None, allow_none=True)
    preferred = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ["phone", "mobile", "email", "letter"]))


class ExternalRefSchema(Schema):
    system = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._:-]{1,100}$"))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
