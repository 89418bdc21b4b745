"""Contracts for sharing a record, shared by every record-owning service."""
from marshmallow import Schema, ValidationError, fields, validate, validates

from concord_common import clock


def _in_future(value):
    if value is not None and value <= clock.now():
        raise ValidationError("Must be in the future.")


class GrantSchema(Schema):
    grantee_type = fields.String(required=True, validate=validate.OneOf(["team", "organisation"]))
    grantee_id = fields.UUID(required=True)
    level = fields.String(required=True, validate=validate.OneOf(["view", "edit"]))
    lawful_basis = fields.String(required=True, validate=validate.Length(min=3, max=500))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=_in_future)
    justification = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=10, max=2000))


class RestrictionSchema(Schema):
    restricted = fields.Boolean(required=True, truthy={True}, falsy={False})  # JSON true/false only


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=10, max=2000))

    @validates("reason")
    def _not_blank(self, value, **_):
        if not value.strip():
            raise ValidationError("Give a reason.")


class TransferSchema(Schema):
    to_team_id = fields.UUID(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class SystemGrantSchema(Schema):
    """What the permissions service sends when an access request is approved."""
    grantee_type = fields.String(required=True, validate=validate.OneOf(["user", "team", "organisation"]))
    grantee_id = fields.String(required=True)
    grantee_organisation_id = fields.String(load_default=None, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(["view", "edit"]))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)
    lawful_basis = fields.String(required=True)
    justification = fields.String(load_default=None, allow_none=True)
    source = fields.String(load_default="access_request")
    source_id = fields.String(load_default=None, allow_none=True)
    granted_by = fields.String(required=True)


class ConsentSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["given", "refused", "not_sought", "overridden"]))
    detail = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class SystemTransferSchema(Schema):
    to_team_id = fields.String(required=True)
    to_organisation_id = fields.String(required=True)
    consent = fields.Nested(ConsentSchema, load_default=None, allow_none=True)
    transfer_id = fields.String(load_default=None, allow_none=True)
    accepted_by = fields.String(load_default=None, allow_none=True)
