"""The notifications contract: what a reader gets."""
from marshmallow import Schema, fields, validate

from concord_common.contract import Described


class NotificationSchema(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    record = fields.Function(lambda n: {"type": n.record_type, "id": n.record_id} if n.record_id else None)
    to = fields.Function(lambda n: {"type": n.recipient_type, "id": n.recipient_id})
    created_at = fields.DateTime()


# -- the API document (concord_common.contract): what my_notifications answers, described --------------------
class NotificationRefSchema(Described):
    type = fields.String()
    id = fields.String()


class NotificationViewSchema(NotificationSchema):
    """An in-app notification, and whether the caller has read it."""
    class Meta:
        unknown = "exclude"

    record = fields.Nested(NotificationRefSchema, allow_none=True)
    to = fields.Nested(NotificationRefSchema)
    read = fields.Boolean()


class NotificationPageSchema(Described):
    items = fields.List(fields.Nested(NotificationViewSchema))
    next_cursor = fields.String(allow_none=True)


# The notifications service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT = {"Notification": NotificationViewSchema, "NotificationPage": NotificationPageSchema}


# -- e-mail preferences (issue 17, docs/notifications.md) -----------------------------------------------------
CHOICES = ["immediate", "daily", "off"]


class EmailKindsSchema(Described):
    """Each kind of notification's own choice (omitted kinds follow `email`)."""
    actions = fields.String(validate=validate.OneOf(CHOICES))
    access = fields.String(validate=validate.OneOf(CHOICES))
    sharing = fields.String(validate=validate.OneOf(CHOICES))
    meetings = fields.String(validate=validate.OneOf(CHOICES))
    mash = fields.String(validate=validate.OneOf(CHOICES))
    cases = fields.String(validate=validate.OneOf(CHOICES))
    security = fields.String(validate=validate.OneOf(CHOICES))


class EmailPreferencesSchema(Described):
    """How the signed-in person is e-mailed: immediately, in a daily digest, or not at all; `email` for every
    kind of notification, `kinds` for each kind's own."""
    email = fields.String(required=True, validate=validate.OneOf(CHOICES))
    kinds = fields.Nested(EmailKindsSchema)


CONTRACT["EmailPreferences"] = EmailPreferencesSchema
# Webhooks (issue 17): their schemas live in webhook_schemas.py.
from services.notifications.webhook_schemas import CONTRACT as _WEBHOOK_CONTRACT  # noqa: E402
CONTRACT.update(_WEBHOOK_CONTRACT)
