"""The notifications contract: what a reader gets."""
from marshmallow import Schema, fields

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
