"""The profiles contract: what comes in (here) and what goes out (answers.py), for marshmallow and the
API document (CONTRACT)."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from concord_common.access.schemas import ConsentSchema
from concord_common.attachments.schemas import AttachmentSchemas
from services.profiles import identifiers as ids
from services.profiles.search_terms import letter_count
from services.profiles.answers import (FamilyViewSchema, HistoryPageSchema,
                                       MatchPageSchema, MatchSchema, MergeAcceptedSchema, MergedProfileSchema,
                                       MergeRequestAskedSchema, MergeRequestPageSchema, MergeRequestSchema,
                                       ProfileFamiliesPageSchema,
                                       ProfilePageSchema, ProfileViewSchema, RecordOwnerSchema, SignpostSchema,
                                       UnmergedSchema)
from services.profiles.schema_parts import (ATTACHMENT_KINDS, FAMILY_ROLES, FLAGS, GENDERS, PREMISES_TYPES, ROLES,
                                             AddressSchema, AliasSchema, ContactSchema, ExternalRefSchema, FlagSchema,
                                             HerbertProtocolSchema, IdentifierSchema, Normalised)


def _not_in_future(value):
    if value and value > date.today():
        raise ValidationError("Date of birth cannot be in the future.")


class MergeSchema(Schema):
    duplicate_id = fields.UUID(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))   # for a request


class MergeDecisionSchema(Schema):
    """Accepting, rejecting or cancelling a merge request."""
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class MergeRequestListSchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "accepted", "rejected",
                                                                        "cancelled"]))
    direction = fields.String(load_default=None, validate=validate.OneOf(["incoming", "outgoing"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2 ** 31))   # an OFFSET PostgreSQL takes


class UnmergeSchema(Schema):
    duplicate_id = fields.UUID(load_default=None, allow_none=True)   # needed when several were merged in


class MatchesSchema(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    min_score = fields.Float(load_default=0.3, validate=validate.Range(min=0, max=1))


class DetailsSchema(Schema):
    """Fields a person or premises may carry, on create and on PATCH (lists replace the whole list)."""
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    aliases = fields.List(fields.Nested(AliasSchema), validate=validate.Length(max=50))
    identifiers = fields.List(fields.Nested(IdentifierSchema), validate=validate.Length(max=50))
    addresses = fields.List(fields.Nested(AddressSchema), validate=validate.Length(max=50))
    flags = fields.List(fields.Nested(FlagSchema), validate=validate.Length(max=50))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(max=10))
    contact = fields.Nested(ContactSchema, allow_none=True)
    premises_type = fields.String(allow_none=True, validate=validate.OneOf(PREMISES_TYPES))
    address = fields.Nested(AddressSchema)
    linked_people = fields.List(fields.UUID(), validate=validate.Length(max=200))


def _fields_for_kind(data, original):
    """A new profile's fields fit its kind: the names it needs, none of the other kind's fields."""
    errors = {}
    kind = data.get("kind")
    person_only = ("gender", "aliases", "identifiers", "flags", "roles", "date_of_birth", "given_name",
                   "family_name", "addresses", "contact")
    premises_only = ("premises_type", "address", "linked_people", "name")
    required = {"person": ("given_name", "family_name"), "premises": ("name",)}.get(kind, ())
    errors.update({key: ["Missing data for required field."] for key in required if original.get(key) is None})
    wrong = {"person": premises_only, "premises": person_only}.get(kind, ())
    errors.update({key: [f"A {kind} profile has no {key}."] for key in wrong
                   if key in original and key not in errors and key != "contact"})
    if errors:
        raise ValidationError(errors)


class PersonCreateSchema(DetailsSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["person", "premises"]))
    given_name = fields.String(validate=validate.Length(min=1, max=200))
    family_name = fields.String(validate=validate.Length(min=1, max=200))
    name = fields.String(validate=validate.Length(min=1, max=300))
    date_of_birth = fields.Date(validate=_not_in_future)
    owner_team_id = fields.UUID(load_default=None)
    restricted = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    consent = fields.Nested(ConsentSchema, load_default=None)
    external_ref = fields.Nested(ExternalRefSchema, load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)  # report every problem at once
    def _fields_fit_the_kind(self, data, original, **_):
        _fields_for_kind(data, original)


class ProfileUpdateSchema(DetailsSchema):
    given_name = fields.String(validate=validate.Length(min=1, max=200))
    family_name = fields.String(validate=validate.Length(min=1, max=200))
    name = fields.String(validate=validate.Length(min=1, max=300))
    date_of_birth = fields.Date(allow_none=True, validate=_not_in_future)
    consent = fields.Nested(ConsentSchema)

    @validates_schema
    def _at_least_one_field(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.")


def _two_letters(value):
    if letter_count(value) < 2:
        raise ValidationError("Type at least two letters of the name.")


class SearchSchema(Schema):
    q = fields.String(validate=[validate.Length(min=2, max=200), _two_letters])
    date_of_birth = fields.Date()
    postcode = Normalised(ids.normalise_postcode)
    identifier = fields.String(validate=validate.Length(min=4, max=40))
    young_person = fields.Boolean(truthy={"true", "1", "yes", True}, falsy={"false", "0", "no", False})
    family_flag = fields.String(validate=validate.OneOf(FLAGS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10000))

    @validates_schema
    def _some_criterion(self, data, **_):
        if not any(data.get(key) is not None for key in ("q", "date_of_birth", "postcode", "identifier",
                                                           "young_person", "family_flag")):
            raise ValidationError({"q": ["Search by name (q), date of birth, postcode or identifier."]})


class FamilyMemberSchema(Schema):
    profile_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(FAMILY_ROLES))


class FamilyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    members = fields.List(fields.Nested(FamilyMemberSchema), load_default=list, validate=validate.Length(max=100))
    owner_team_id = fields.UUID(load_default=None)

    @validates_schema
    def _each_member_once(self, data, **_):
        seen = set()
        for position, member in enumerate(data.get("members") or []):
            if member["profile_id"] in seen:
                raise ValidationError({"members": {position: {"profile_id": ["This person is listed twice."]}}})
            seen.add(member["profile_id"])


# Documents and photos (attachments.py): the shapes every record type's files have.
ATTACHMENTS = AttachmentSchemas("profile", ATTACHMENT_KINDS)


# The profiles service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT_ALTERNATIVES = {"Flag": [{"type": "string", "enum": list(FLAGS), "description": "A flag by its name alone."}]}
CONTRACT = {
    "ProfileCreate": PersonCreateSchema, "ProfileUpdate": ProfileUpdateSchema, "Search": SearchSchema,
    "Matches": MatchesSchema, "Merge": MergeSchema, "Unmerge": UnmergeSchema, "FamilyCreate": FamilyCreateSchema,
    "FamilyMember": FamilyMemberSchema, "AttachmentList": ATTACHMENTS.listing, "AttachmentForm": ATTACHMENTS.form,
    "Profile": ProfileViewSchema, "Signpost": SignpostSchema, "ProfilePage": ProfilePageSchema, "Match": MatchSchema,
    "MatchPage": MatchPageSchema, "HistoryPage": HistoryPageSchema, "Family": FamilyViewSchema,
    "ProfileFamiliesPage": ProfileFamiliesPageSchema, "Attachment": ATTACHMENTS.view,
    "AttachmentPage": ATTACHMENTS.page, "MergedProfile": MergedProfileSchema, "Unmerged": UnmergedSchema,
    "HerbertProtocol": HerbertProtocolSchema, "Owner": RecordOwnerSchema,
    "MergeDecision": MergeDecisionSchema, "MergeRequestList": MergeRequestListSchema,
    "MergeRequest": MergeRequestSchema, "MergeRequestAsked": MergeRequestAskedSchema,
    "MergeRequestPage": MergeRequestPageSchema, "MergeAccepted": MergeAcceptedSchema,
}

# Bulk import (import_schemas.py; docs/imports.md).
from services.profiles import import_schemas  # noqa: E402
CONTRACT.update(import_schemas.CONTRACT)
