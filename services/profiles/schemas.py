"""The profiles contract: what comes in and what goes out (marshmallow)."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from concord_common.access.schemas import ConsentSchema
from concord_common.contract import Described, ref
from services.profiles import identifiers as ids

FLAGS = ("vulnerable_adult", "dementia", "hate_crime_victim", "domestic_abuse", "gang_associated", "cse_risk",
         "parent_in_prison", "mental_health", "risk_to_staff")
ROLES = ("victim", "perpetrator", "witness", "subject")
PREMISES_TYPES = ("residential", "licensed_premises", "business", "public_space", "other")
FAMILY_ROLES = ("parent", "child", "sibling", "partner", "carer", "grandparent", "other")
GENDERS = ("female", "male", "non_binary", "other", "not_known", "not_stated")


def _not_in_future(value):
    if value and value > date.today():
        raise ValidationError("Date of birth cannot be in the future.")


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
    def _a_name(self, data, **_):
        if not data.get("given_name") and not data.get("family_name"):
            raise ValidationError({"given_name": ["Give a given name or a family name."]})


class IdentifierSchema(Schema):
    scheme = fields.String(required=True, validate=validate.OneOf(sorted(ids.IDENTIFIER_SCHEMES)))
    value = fields.String(required=True, validate=validate.Length(min=1, max=40))

    @post_load
    def _normalise(self, data, **_):
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
    def _order(self, data, **_):
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
    def _from_name(self, data, **_):
        return {"flag": data} if isinstance(data, str) else data

    @validates_schema
    def _detail(self, data, **_):
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
    def _herbert(self, data, **_):
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


class MergeSchema(Schema):
    duplicate_id = fields.UUID(required=True)


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


def _kind_rules(data, original, updating=False):
    errors = {}
    kind = data.get("kind")
    person_only = ("gender", "aliases", "identifiers", "flags", "roles", "date_of_birth", "given_name",
                   "family_name", "addresses", "contact")
    premises_only = ("premises_type", "address", "linked_people", "name")
    if not updating:
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
    def _names_for_kind(self, data, original, **_):
        _kind_rules(data, original)


class ProfileUpdateSchema(DetailsSchema):
    given_name = fields.String(validate=validate.Length(min=1, max=200))
    family_name = fields.String(validate=validate.Length(min=1, max=200))
    name = fields.String(validate=validate.Length(min=1, max=300))
    date_of_birth = fields.Date(allow_none=True, validate=_not_in_future)
    consent = fields.Nested(ConsentSchema)

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.")


def _boolean_word(value):
    return value


class SearchSchema(Schema):
    q = fields.String(validate=validate.Length(min=2, max=200))
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
    def _once_each(self, data, **_):
        seen = set()
        for position, member in enumerate(data.get("members") or []):
            if member["profile_id"] in seen:
                raise ValidationError({"members": {position: {"profile_id": ["This person is listed twice."]}}})
            seen.add(member["profile_id"])


def display_name(profile) -> str:
    if profile.kind == "premises":
        return profile.name
    return f"{profile.given_name} {profile.family_name}"


def is_young_person(profile) -> bool | None:
    if profile.kind != "person" or profile.date_of_birth is None:
        return None
    today, born = date.today(), profile.date_of_birth
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < 18


class ProfileSchema(Schema):
    id = fields.String()
    kind = fields.String()
    given_name = fields.String(allow_none=True)
    family_name = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    display_name = fields.Function(display_name)
    date_of_birth = fields.Date(allow_none=True)
    is_young_person = fields.Function(is_young_person)
    gender = fields.String(allow_none=True)
    roles = fields.Function(lambda p: list(p.roles or []))
    contact = fields.Raw(allow_none=True)
    premises_type = fields.String(allow_none=True)
    external_ref = fields.Function(lambda p: {"system": p.external_system, "id": p.external_id}
                                   if p.external_system else None)
    merged_into = fields.String(allow_none=True)
    owner = fields.Function(lambda p: {"organisation_id": p.owner_organisation_id, "team_id": p.owner_team_id})
    restricted = fields.Boolean()
    consent = fields.Function(lambda p: {"status": p.consent_status, "detail": p.consent_detail}
                              if p.kind == "person" else None)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


# -- attachments (services/profiles/attachments.py) ------------------------------------------------
ATTACHMENT_KINDS = ("document", "photo")


class AttachmentUploadSchema(Schema):
    """One file as the gateway forwards it: the bytes base64-encoded, and what the uploader said about them."""
    content = fields.String(required=True)                 # base64
    filename = fields.String(load_default="", validate=validate.Length(max=1000))
    declared_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    kind = fields.String(load_default="document", validate=validate.OneOf(ATTACHMENT_KINDS))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @pre_load
    def _blank_is_absent(self, data, **_):
        if isinstance(data, dict):
            return {key: value for key, value in data.items()
                    if not (key in ("kind", "description", "declared_type") and value in ("", None))}
        return data


class AttachmentListSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0))


# -- the API document (concord_common.contract): answers logic.py builds by hand, described ----------------
# Descriptive only (concord_common.contract.Described): nothing loads or dumps with these.


class RecordOwnerSchema(Described):
    """The lead organisation and team of a record."""
    organisation_id = fields.UUID()
    team_id = fields.UUID()


class FlagViewSchema(Described):
    """A flag on a person: who set it, when, and its detail (text; for dementia, Herbert Protocol details)."""
    flag = fields.String(validate=validate.OneOf(FLAGS))
    detail = fields.Raw(allow_none=True, metadata={"oneOf": [{"type": "string", "nullable": True},
                                                             ref("HerbertProtocol")]})
    set_by = fields.String(allow_none=True)
    set_at = fields.DateTime(allow_none=True)


class PhotoSchema(Described):
    """A person's photo: their newest attachment of kind `photo`."""
    attachment_id = fields.UUID()
    download = fields.String(metadata={"description": "The path to GET the image from."})


class MatchReasonSchema(Described):
    """One reason for (or against) two profiles being the same."""
    code = fields.String(metadata={"description": "e.g. same_nhs_number, name_and_date_of_birth, "
                                                  "different_date_of_birth"})
    description = fields.String()


class MatchSchema(Described):
    """A likely duplicate, with a score (0 to 1) and the reasons a practitioner can check."""
    profile = fields.Raw(metadata={"oneOf": [ref("Profile"), ref("Signpost")]})
    score = fields.Float()
    reasons = fields.List(fields.Nested(MatchReasonSchema))
    against = fields.List(fields.Nested(MatchReasonSchema))


class ProfileViewSchema(ProfileSchema):
    """A profile the caller may see (`access: full`). People carry aliases, identifiers, addresses, flags and a
    photo; premises an address and the people linked to them."""
    class Meta:
        unknown = "exclude"

    display_name = fields.String()
    is_young_person = fields.Boolean(allow_none=True, metadata={
        "description": "Under 18 today, from the date of birth; null without one (and for premises)."})
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))
    contact = fields.Nested(ContactSchema, allow_none=True)
    external_ref = fields.Nested(ExternalRefSchema, allow_none=True)
    owner = fields.Nested(RecordOwnerSchema)
    consent = fields.Nested(ConsentSchema, allow_none=True)
    access = fields.String(validate=validate.OneOf(["full"]))
    aliases = fields.List(fields.Nested(AliasSchema))
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    addresses = fields.List(fields.Nested(AddressSchema))
    flags = fields.List(fields.Nested(FlagViewSchema))
    photo = fields.Nested(PhotoSchema, allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True, metadata={"description": "Premises only."})
    linked_people = fields.List(fields.UUID(), metadata={"description": "Premises only: people linked to them."})
    merged_from = fields.List(fields.UUID(), metadata={"description": "Profiles merged into this one."})
    possible_duplicates = fields.List(fields.Nested(MatchSchema), metadata={
        "description": "Only in the answer to a create: profiles that may be the same person."})


class InvolvedOrganisationSchema(Described):
    organisation_id = fields.UUID()


class SignpostSchema(Described):
    """A profile the caller may not see: who is involved, and where to ask for access."""
    id = fields.UUID()
    access = fields.String(validate=validate.OneOf(["signpost"]))
    kind = fields.String(validate=validate.OneOf(["person", "premises"]))
    display_name = fields.String()
    involved_organisations = fields.List(fields.Nested(InvolvedOrganisationSchema))
    request_access = fields.String(metadata={"description": "The path to POST an access request to."})


class ProfilePageSchema(Described):
    """A page of search results: full profiles and signposts."""
    items = fields.List(fields.Raw(metadata={"oneOf": [ref("Profile"), ref("Signpost")]}))
    next_cursor = fields.String(allow_none=True)


class MatchPageSchema(Described):
    items = fields.List(fields.Nested(MatchSchema))
    next_cursor = fields.String(allow_none=True)


class HistoryEntrySchema(Described):
    """One field change: who, when, before and after."""
    at = fields.DateTime()
    by = fields.String(allow_none=True)
    field = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    profile_id = fields.UUID(metadata={"description": "Whose change (a survivor shows its merged profiles' too)."})


class HistoryPageSchema(Described):
    items = fields.List(fields.Nested(HistoryEntrySchema))
    next_cursor = fields.String(allow_none=True)


class FamilyMemberViewSchema(Described):
    """A member of a family; a member the caller may not see shows as a signpost."""
    profile_id = fields.UUID()
    role = fields.String(validate=validate.OneOf(FAMILY_ROLES))
    display_name = fields.String(allow_none=True)
    access = fields.String(validate=validate.OneOf(["full", "signpost"]))


class FamilyViewSchema(Described):
    """A family or household unit."""
    id = fields.UUID()
    name = fields.String()
    members = fields.List(fields.Nested(FamilyMemberViewSchema))
    owner = fields.Nested(RecordOwnerSchema)
    restricted = fields.Boolean()
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    access = fields.String(validate=validate.OneOf(["full"]))


class ProfileFamilySchema(FamilyViewSchema):
    """A family the profile belongs to, with the profile's role in it."""
    role = fields.String(validate=validate.OneOf(FAMILY_ROLES))


class ProfileFamiliesPageSchema(Described):
    items = fields.List(fields.Nested(ProfileFamilySchema))
    next_cursor = fields.String(allow_none=True)


class AttachmentViewSchema(Described):
    """A document or photo on a profile (metadata; GET `download` for the bytes)."""
    id = fields.UUID()
    profile_id = fields.UUID()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    kind = fields.String(validate=validate.OneOf(ATTACHMENT_KINDS))
    description = fields.String(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()
    download = fields.String()


class AttachmentPageSchema(Described):
    items = fields.List(fields.Nested(AttachmentViewSchema))
    next_cursor = fields.String(allow_none=True)


class AttachmentFormSchema(Schema):
    """multipart/form-data: the file in a part named `file`, with optional `kind` and `description`."""
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    kind = fields.String(validate=validate.OneOf(ATTACHMENT_KINDS))
    description = fields.String(validate=validate.Length(max=2000))


class MergeViewSchema(Described):
    """A merge of a duplicate into a survivor (and its undoing)."""
    id = fields.UUID()
    survivor_id = fields.UUID()
    duplicate_id = fields.UUID()
    merged_by = fields.String()
    merged_at = fields.DateTime()
    unmerged_by = fields.String(allow_none=True)
    unmerged_at = fields.DateTime(allow_none=True)


class MergedProfileSchema(ProfileViewSchema):
    """The survivor of a merge, with the merge."""
    merge = fields.Nested(MergeViewSchema)


class UnmergedSchema(Described):
    """Both profiles after a merge is undone, and the merge."""
    survivor = fields.Nested(ProfileViewSchema)
    duplicate = fields.Nested(ProfileViewSchema)
    merge = fields.Nested(MergeViewSchema)


# The profiles service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT_ALTERNATIVES = {"Flag": [{"type": "string", "enum": list(FLAGS), "description": "A flag by its name alone."}]}
CONTRACT = {
    "ProfileCreate": PersonCreateSchema, "ProfileUpdate": ProfileUpdateSchema, "Search": SearchSchema,
    "Matches": MatchesSchema, "Merge": MergeSchema, "Unmerge": UnmergeSchema, "FamilyCreate": FamilyCreateSchema,
    "FamilyMember": FamilyMemberSchema, "AttachmentList": AttachmentListSchema, "AttachmentForm": AttachmentFormSchema,
    "Profile": ProfileViewSchema, "Signpost": SignpostSchema, "ProfilePage": ProfilePageSchema, "Match": MatchSchema,
    "MatchPage": MatchPageSchema, "HistoryPage": HistoryPageSchema, "Family": FamilyViewSchema,
    "ProfileFamiliesPage": ProfileFamiliesPageSchema, "Attachment": AttachmentViewSchema,
    "AttachmentPage": AttachmentPageSchema, "MergedProfile": MergedProfileSchema, "Unmerged": UnmergedSchema,
    "HerbertProtocol": HerbertProtocolSchema, "Owner": RecordOwnerSchema,
}
