"""The permissions contract: what comes in (here) and what goes out (answers.py), for marshmallow and the
API document (CONTRACT).

Input schemas check everything that needs no database; the logic adds the
checks that do (username taken, team of another organisation) under the
same field names, so the caller gets every problem in one answer.
"""
from datetime import timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema

from concord_common import clock
from concord_common.errors import MalformedRequest, ValidationFailed, validation_errors
from services.permissions.answers import (AccessRequestPageSchema, AccessRequestViewSchema, ApiClientCreatedSchema,
                                          ClientTokenSchema, MeSchema, MembershipSchema, MfaConfirmedSchema,
                                          MfaEnrolmentSchema, OrganisationPageSchema, OrganisationViewSchema,
                                          SessionViewSchema, SharingAgreementPageSchema, SharingAgreementViewSchema,
                                          TeamViewSchema, TransferPageSchema, TransferViewSchema, UserViewSchema)
from services.permissions.models import (ACCESS_LEVELS, ACCESS_REQUEST_STATUSES, ORGANISATION_TYPES, RECORD_TYPES,
                                         SCOPES, SESSION_KINDS, TEAM_KINDS, TEAM_ROLES, TRANSFER_STATUSES, USER_ROLES)
from services.permissions.passwords import password_problems
from services.permissions.schema_parts import NOTE, ConsentSchema, Trimmed

USERNAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$",
                           error="Use 3 to 64 letters, digits, dots, dashes, underscores or @.")
NAME = validate.Length(min=1, max=200)


class _NewPassword(Schema):
    """Applies the password policy to `password_field`, against the username."""
    password_field = "password"

    def __init__(self, *args, password_min_length: int = 12, username: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.password_min_length = password_min_length
        self.username = username

    @validates_schema(skip_on_field_errors=False)
    def _password_policy(self, data, **_):
        password = data.get(self.password_field)
        if not isinstance(password, str):
            return
        problems = password_problems(password, data.get("username") or self.username, self.password_min_length)
        if problems:
            raise ValidationError({self.password_field: problems})


# -- in ------------------------------------------------------------------------
class OrganisationCreateSchema(Schema):
    name = Trimmed(required=True, validate=NAME)
    type = fields.String(required=True, validate=validate.OneOf(ORGANISATION_TYPES))
    area = Trimmed(required=True, validate=NAME)
    require_mfa = fields.Boolean(load_default=True)


class TeamCreateSchema(Schema):
    name = Trimmed(required=True, validate=NAME)
    kind = fields.String(load_default="general", validate=validate.OneOf(TEAM_KINDS))   # mash: leads referrals


class TeamPlaceSchema(Schema):
    team_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(TEAM_ROLES))


class UserCreateSchema(_NewPassword):
    username = Trimmed(required=True, validate=USERNAME)
    display_name = Trimmed(required=True, validate=NAME)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=1024))
    organisation_id = fields.UUID(required=True)
    teams = fields.List(fields.Nested(TeamPlaceSchema), load_default=list)
    roles = fields.List(fields.String(validate=validate.OneOf(USER_ROLES)), load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def _each_team_once(self, data, **_):
        seen, errors = set(), {}
        for index, place in enumerate(data.get("teams") or []):
            if place.get("team_id") in seen:
                errors[index] = {"team_id": ["This team is listed more than once."]}
            seen.add(place.get("team_id"))
        if errors:
            raise ValidationError({"teams": errors})


class MemberAddSchema(Schema):
    user_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(TEAM_ROLES))


class PasswordChangeSchema(_NewPassword):
    password_field = "new_password"
    current_password = fields.String(validate=validate.Length(max=1024))
    new_password = fields.String(required=True, validate=validate.Length(max=1024))


class MfaConfirmSchema(Schema):
    otp = fields.String(required=True, validate=validate.Length(min=6, max=10))


class ApiClientCreateSchema(Schema):
    name = Trimmed(required=True, validate=NAME)
    organisation_id = fields.UUID(required=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(min=1, error="Give the client at least one scope."))


class SignInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    otp = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=20))
    source_ip = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=100))
    kind = fields.String(load_default="api", validate=validate.OneOf(SESSION_KINDS))


class AdminCreateSchema(_NewPassword):
    username = Trimmed(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=validate.Length(max=1024))


# -- sharing: agreements, access requests, transfers -------------------------------
REASON = validate.Length(min=10, max=2000, error="Give a reason of 10 to 2000 characters.")
LONG_TEXT = validate.Length(min=1, max=2000)


def today():
    """Dates in sharing agreements are calendar days in UTC (concord_common.clock)."""
    return clock.now().date()


class SharingAgreementCreateSchema(Schema):
    name = Trimmed(required=True, validate=NAME)
    purpose = Trimmed(required=True, validate=LONG_TEXT)
    lawful_basis = Trimmed(required=True, validate=validate.Length(min=1, max=500))
    organisation_ids = fields.List(fields.UUID(), required=True,
                                   validate=validate.Length(min=2, error="Name at least two organisations."))
    review_date = fields.Date(required=True)
    start_date = fields.Date(allow_none=True, load_default=None)
    end_date = fields.Date(allow_none=True, load_default=None)

    @validates("organisation_ids")
    def _each_organisation_once(self, value, **_):
        if len(set(value)) != len(value):
            raise ValidationError("An organisation is listed more than once.")

    @validates("review_date")
    def _review_not_past(self, value, **_):
        if value < today():
            raise ValidationError("The review date must not be in the past.")

    @validates_schema(skip_on_field_errors=False)
    def _dates_in_order(self, data, **_):
        start, end = data.get("start_date") or today(), data.get("end_date")
        if end is not None and end < start:
            raise ValidationError({"end_date": ["The end date must not be before the start date."]})


class RecordRefSchema(Schema):
    """A record as its owning service describes it to us (service to service: extra keys are ignored)."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    id = fields.UUID(required=True)
    display_name = Trimmed(required=True, validate=validate.Length(min=1, max=500))
    owner_team_id = fields.UUID(required=True)
    owner_organisation_id = fields.UUID(required=True)


class TransferRecordSchema(RecordRefSchema):
    is_person = fields.Boolean(required=True)


class ReasonSchema(Schema):
    reason = Trimmed(required=True, validate=REASON)


class AccessApprovalSchema(Schema):
    level = fields.String(required=True, validate=validate.OneOf(ACCESS_LEVELS))
    expires_at = fields.AwareDateTime(default_timezone=timezone.utc, allow_none=True, load_default=None)
    note = Trimmed(allow_none=True, load_default=None, validate=NOTE)

    @validates("expires_at")
    def _in_the_future(self, value, **_):
        if value is not None and value <= clock.now():
            raise ValidationError("Choose a time in the future.")


class NoteSchema(Schema):
    note = Trimmed(allow_none=True, load_default=None, validate=NOTE)


class TransferRegisterSchema(Schema):
    to_team_id = fields.UUID(required=True)
    note = Trimmed(allow_none=True, load_default=None, validate=NOTE)


class TransferAcceptSchema(Schema):
    consent = fields.Nested(ConsentSchema, allow_none=True, load_default=None)
    note = Trimmed(allow_none=True, load_default=None, validate=NOTE)


class _ListQuerySchema(Schema):
    direction = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(("incoming", "outgoing")))
    limit = fields.Integer(allow_none=True, load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))


class AccessRequestListSchema(_ListQuerySchema):
    status = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(ACCESS_REQUEST_STATUSES))


class TransferListSchema(_ListQuerySchema):
    status = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(TRANSFER_STATUSES))


class AgreementListSchema(Schema):
    organisation_id = fields.UUID(allow_none=True, load_default=None)


def load_parts(parts: dict, db_checks=None) -> dict:
    """Load several arguments at once: {prefix: (schema, payload)} -> {prefix: data}.

    Errors are named `prefix.field` (or just `field` where the prefix is ""), and
    `db_checks(data_by_prefix)` adds its own; one ValidationFailed for all.
    """
    loaded, errors = {}, {}
    for prefix, (schema, payload) in parts.items():
        if not isinstance(payload, dict):
            if not prefix:
                raise MalformedRequest("The request body must be a JSON object.")
            loaded[prefix] = {}
            errors[prefix] = ["Give an object."]
            continue
        try:
            loaded[prefix] = schema.load(payload)
        except ValidationError as exc:
            loaded[prefix] = exc.valid_data or {}
            for path, messages in validation_errors(exc.messages).items():
                errors.setdefault(f"{prefix}.{path}" if prefix else path, []).extend(messages)
    for path, messages in ((db_checks(loaded) if db_checks else None) or {}).items():
        errors.setdefault(path, []).extend(messages)
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)
    return loaded


# -- requests the gateway reads itself, described for the API document ------------------------------------
class SessionCreateSchema(Schema):
    """Sign in: `otp` only when the organisation requires two-factor authentication."""
    username = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    otp = fields.String(allow_none=True, validate=validate.Length(max=20))


class ClientTokenRequestSchema(Schema):
    """OAuth 2 client credentials (JSON or application/x-www-form-urlencoded); `scope`: space-separated, by default
    all the client's scopes."""
    grant_type = fields.String(required=True, validate=validate.OneOf(["client_credentials"]))
    client_id = fields.String(required=True)
    client_secret = fields.String(required=True)
    scope = fields.String(metadata={"example": "profiles:read profiles:write"})


# The permissions service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT = {
    "SessionCreate": SessionCreateSchema, "ClientTokenRequest": ClientTokenRequestSchema,
    "OrganisationCreate": OrganisationCreateSchema, "TeamCreate": TeamCreateSchema, "UserCreate": UserCreateSchema,
    "MemberAdd": MemberAddSchema, "PasswordChange": PasswordChangeSchema, "MfaConfirm": MfaConfirmSchema,
    "ApiClientCreate": ApiClientCreateSchema, "SharingAgreementCreate": SharingAgreementCreateSchema,
    "AccessApproval": AccessApprovalSchema, "Note": NoteSchema, "TransferAccept": TransferAcceptSchema,
    "AccessRequestList": AccessRequestListSchema, "TransferList": TransferListSchema,
    "AgreementList": AgreementListSchema,
    "Me": MeSchema, "Session": SessionViewSchema, "ClientToken": ClientTokenSchema,
    "ApiClientCreated": ApiClientCreatedSchema, "Organisation": OrganisationViewSchema,
    "OrganisationPage": OrganisationPageSchema, "Team": TeamViewSchema, "Membership": MembershipSchema,
    "User": UserViewSchema, "MfaEnrolment": MfaEnrolmentSchema, "MfaConfirmed": MfaConfirmedSchema,
    "SharingAgreement": SharingAgreementViewSchema, "SharingAgreementPage": SharingAgreementPageSchema,
    "AccessRequest": AccessRequestViewSchema, "AccessRequestPage": AccessRequestPageSchema,
    "Transfer": TransferViewSchema, "TransferPage": TransferPageSchema,
}
