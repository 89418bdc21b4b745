"""The notifications contract: what a reader gets."""
from marshmallow import Schema, fields


class NotificationSchema(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    record = fields.Function(lambda n: {"type": n.record_type, "id": n.record_id} if n.record_id else None)
    to = fields.Function(lambda n: {"type": n.recipient_type, "id": n.recipient_id})
    created_at = fields.DateTime()
