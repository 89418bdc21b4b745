"""What the profiles service answers. `ProfileSchema` dumps a profile row; the `Described` schemas
(concord_common.contract) only describe, for the API document, answers the logic builds by hand: nothing
loads or dumps with them. schemas.py names them in CONTRACT."""
from datetime import date

from marshmallow import Schema, fields, validate

from concord_common.access.schemas import ConsentSchema
from concord_common.contract import Described, ref
from services.profiles.schema_parts import (FAMILY_ROLES, FLAGS, ROLES, AddressSchema, AliasSchema,
                                             ContactSchema, ExternalRefSchema, IdentifierSchema)


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
    """Dumps a profile row (profile_views.profile_view adds its child lists)."""
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



# -- described only --------------------------------------------------------------------------------
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


class MergeRequestProfileSchema(Described):
    id = fields.UUID()
    display_name = fields.String()


class MergeRequestSchema(Described):
    """A merge waiting for the team that leads the duplicate (services/profiles/merge_requests.py)."""
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(["pending", "accepted", "rejected", "cancelled"]))
    survivor = fields.Nested(MergeRequestProfileSchema)
    duplicate = fields.Nested(MergeRequestProfileSchema)
    from_team_id = fields.UUID()
    from_organisation_id = fields.UUID()
    to_team_id = fields.UUID()
    to_organisation_id = fields.UUID()
    requested_by = fields.String()
    requested_at = fields.DateTime()
    note = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    merge_id = fields.UUID(allow_none=True)


class MergeRequestAskedSchema(Described):
    """POST …/merge where another team leads the duplicate (202): the request waiting for that team."""
    merge_request = fields.Nested(MergeRequestSchema)


class MergeRequestPageSchema(Described):
    items = fields.List(fields.Nested(MergeRequestSchema))
    next_cursor = fields.String(allow_none=True)


class MergeAcceptedSchema(MergedProfileSchema):
    """The survivor once the merge request is accepted, with the merge and the request."""
    merge_request = fields.Nested(MergeRequestSchema)


class UnmergedSchema(Described):
    """Both profiles after a merge is undone, and the merge."""
    survivor = fields.Nested(ProfileViewSchema)
    duplicate = fields.Nested(ProfileViewSchema)
    merge = fields.Nested(MergeViewSchema)

