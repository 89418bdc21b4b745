"""What the permissions service answers (marshmallow).

The plain schemas dump rows (views.py); the `Described` ones (concord_common.contract)
only describe, for the API document, answers views.py builds by hand: nothing loads
or dumps with them. schemas.py names them in CONTRACT.
"""
from marshmallow import EXCLUDE, Schema, fields, validate

from concord_common.contract import Described
from services.permissions.models import (ACCESS_LEVELS, ACCESS_REQUEST_STATUSES, ORGANISATION_TYPES, RECORD_TYPES,
                                         SCOPES, TEAM_ROLES, TRANSFER_STATUSES, USER_ROLES)
from services.permissions.schema_parts import ConsentSchema, UtcDateTime


class OrganisationSchema(Schema):
    id = fields.String()
    name = fields.String()
    type = fields.String()
    area = fields.String()
    require_mfa = fields.Boolean()
    created_at = UtcDateTime()


class TeamSchema(Schema):
    id = fields.String()
    name = fields.String()
    organisation_id = fields.String()
    kind = fields.String()
    created_at = UtcDateTime()


class UserSchema(Schema):
    """A user as admins see them; `teams` is added by the caller. Never the password hash."""
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    organisation_id = fields.String()
    roles = fields.List(fields.String())
    disabled = fields.Boolean()
    mfa_enabled = fields.Boolean()
    created_at = UtcDateTime()


class ApiClientSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    name = fields.String()
    organisation_id = fields.String()
    scopes = fields.List(fields.String())
    disabled = fields.Boolean()
    created_at = UtcDateTime()


class TeamPlaceViewSchema(Described):
    """A team someone is in, and their role there."""
    id = fields.UUID()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(TEAM_ROLES))


class MeSchema(Described):
    """The caller. A partner system (`kind: client`) has `client_id` and `scopes` instead of teams and roles."""
    kind = fields.String(validate=validate.OneOf(["user", "client", "system"]))
    id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    organisation_id = fields.UUID(allow_none=True)
    teams = fields.List(fields.Nested(TeamPlaceViewSchema))
    roles = fields.List(fields.String(validate=validate.OneOf(USER_ROLES)))
    mfa_enabled = fields.Boolean()
    mfa_enrolment_required = fields.Boolean()
    client_id = fields.String()
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)))


class SessionViewSchema(Described):
    """A new session: send `token` as `Authorization: Bearer <token>` until `expires_at` (or sign-out)."""
    token = fields.String()
    expires_at = UtcDateTime()
    user = fields.Nested(MeSchema)


class ClientTokenSchema(Described):
    """An access token for a partner system (OAuth 2 client credentials)."""
    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(["Bearer"]))
    expires_in = fields.Integer(metadata={"description": "Seconds."})
    scope = fields.String()


class ApiClientCreatedSchema(Described):
    """A new API client. `client_secret` is shown this once and never stored in the clear."""
    id = fields.UUID()
    client_id = fields.String()
    client_secret = fields.String()
    name = fields.String()
    organisation_id = fields.UUID()
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)))


class TeamSummarySchema(Described):
    id = fields.UUID()
    name = fields.String()


class OrganisationViewSchema(OrganisationSchema):
    """An organisation; one read on its own lists its teams."""
    class Meta:
        unknown = EXCLUDE

    type = fields.String(validate=validate.OneOf(ORGANISATION_TYPES))
    teams = fields.List(fields.Nested(TeamSummarySchema))


class OrganisationPageSchema(Described):
    items = fields.List(fields.Nested(OrganisationViewSchema))
    next_cursor = fields.String(allow_none=True)


class MemberViewSchema(Described):
    user_id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(validate=validate.OneOf(TEAM_ROLES))


class TeamViewSchema(TeamSchema):
    """A team; `members` only for callers in its organisation."""
    class Meta:
        unknown = EXCLUDE

    members = fields.List(fields.Nested(MemberViewSchema))


class MembershipSchema(Described):
    """A user's place in a team."""
    team_id = fields.UUID()
    user_id = fields.UUID()
    role = fields.String(validate=validate.OneOf(TEAM_ROLES))


class UserViewSchema(UserSchema):
    """A user as administrators see them (never the password)."""
    class Meta:
        unknown = EXCLUDE

    roles = fields.List(fields.String(validate=validate.OneOf(USER_ROLES)))
    teams = fields.List(fields.Nested(TeamPlaceViewSchema))


class MfaEnrolmentSchema(Described):
    """A new TOTP secret: put it (or the otpauth URI, as a QR code) into an authenticator app, then confirm."""
    secret = fields.String()
    otpauth_uri = fields.String()


class MfaConfirmedSchema(Described):
    mfa_enabled = fields.Boolean()


class NamedSchema(Described):
    """An organisation by id, with its name."""
    id = fields.UUID()
    name = fields.String(allow_none=True)


class PersonSchema(Described):
    """A person, with their organisation."""
    id = fields.UUID()
    display_name = fields.String(allow_none=True)
    organisation_id = fields.UUID(allow_none=True)
    organisation_name = fields.String(allow_none=True)


class TeamNamedSchema(Described):
    """A team, with its organisation."""
    id = fields.UUID()
    name = fields.String(allow_none=True)
    organisation_id = fields.UUID(allow_none=True)
    organisation_name = fields.String(allow_none=True)


class SharingAgreementViewSchema(Described):
    """A sharing agreement between organisations."""
    id = fields.UUID()
    name = fields.String()
    purpose = fields.String()
    lawful_basis = fields.String()
    parties = fields.List(fields.Nested(NamedSchema))
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)
    review_date = fields.Date()
    status = fields.String(validate=validate.OneOf(["active", "not_started", "ended"]))
    active = fields.Boolean()
    review_overdue = fields.Boolean()
    created_by = fields.String()
    created_at = UtcDateTime()
    ended_by = fields.String(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)


class SharingAgreementPageSchema(Described):
    items = fields.List(fields.Nested(SharingAgreementViewSchema))
    next_cursor = fields.String(allow_none=True)


class RecordNamedSchema(Described):
    """A record by type and id, with its display name."""
    type = fields.String(validate=validate.OneOf(RECORD_TYPES))
    id = fields.UUID()
    display_name = fields.String()
    is_person = fields.Boolean()


class AccessDecisionSchema(Described):
    by = fields.Nested(PersonSchema, allow_none=True)
    at = UtcDateTime()
    level = fields.String(allow_none=True, validate=validate.OneOf(ACCESS_LEVELS))
    expires_at = UtcDateTime(allow_none=True)
    note = fields.String(allow_none=True)
    grant_id = fields.UUID(allow_none=True)


class AccessRequestOwnerSchema(Described):
    team_id = fields.UUID()
    organisation_id = fields.UUID()
    team = fields.Nested(TeamNamedSchema)


class AccessRequestViewSchema(Described):
    """A request for access to a record, and its decision once made."""
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(ACCESS_REQUEST_STATUSES))
    direction = fields.String(validate=validate.OneOf(["incoming", "outgoing"]))
    record = fields.Nested(RecordNamedSchema)
    owner = fields.Nested(AccessRequestOwnerSchema)
    requester = fields.Nested(PersonSchema, allow_none=True)
    reason = fields.String()
    created_at = UtcDateTime()
    decision = fields.Nested(AccessDecisionSchema, allow_none=True)


class AccessRequestPageSchema(Described):
    items = fields.List(fields.Nested(AccessRequestViewSchema))
    next_cursor = fields.String(allow_none=True)


class TransferDecisionSchema(Described):
    by = fields.Nested(PersonSchema, allow_none=True)
    at = UtcDateTime()
    note = fields.String(allow_none=True)
    consent = fields.Nested(ConsentSchema, allow_none=True)


class TransferViewSchema(Described):
    """A transfer of a record's lead to another team: pending until that team accepts."""
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(TRANSFER_STATUSES))
    direction = fields.String(validate=validate.OneOf(["incoming", "outgoing"]))
    record = fields.Nested(RecordNamedSchema)
    from_team = fields.Nested(TeamNamedSchema)
    to_team = fields.Nested(TeamNamedSchema)
    requested_by = fields.Nested(PersonSchema, allow_none=True)
    note = fields.String(allow_none=True)
    created_at = UtcDateTime()
    decision = fields.Nested(TransferDecisionSchema, allow_none=True)


class TransferPageSchema(Described):
    items = fields.List(fields.Nested(TransferViewSchema))
    next_cursor = fields.String(allow_none=True)
