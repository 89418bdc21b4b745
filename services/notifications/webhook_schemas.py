"""What comes in for webhooks (loaded) and what goes out (described for the API document)."""
from marshmallow import EXCLUDE, Schema, fields, validate

from concord_common.contract import Described


class WebhookCreateSchema(Schema):
    """A subscription: the https URL that receives the events and the event types it wants
    (GET /api/v1/webhooks/event-types)."""
    class Meta:
        unknown = EXCLUDE

    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"description": "https URL of the receiver; it must resolve to public addresses"})
    events = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                         validate=validate.Length(min=1, max=50))


class DeliveryListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(("pending", "delivered", "failed")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.DateTime(metadata={"description": "only deliveries created before this instant (paging)"})


# -- answers ----------------------------------------------------------------------------------------------------
class WebhookSchema(Described):
    """A webhook subscription of the caller's organisation. `secret` only in the answer that created it."""
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    organisation_id = fields.String()
    created_at = fields.DateTime()
    created_by = fields.Dict()
    pending = fields.Integer(metadata={"description": "deliveries waiting to be (re)tried"})
    failed = fields.Integer(metadata={"description": "dead-lettered deliveries (retried for the whole window)"})


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "the signing secret, shown this once: HMAC-SHA256 key "
                                                    "(its UTF-8 bytes) of Concord-Signature"})


class WebhookPageSchema(Described):
    items = fields.List(fields.Nested(WebhookSchema))


class EventTypeSchema(Described):
    type = fields.String()
    record_type = fields.String()
    description = fields.String()


class EventTypePageSchema(Described):
    items = fields.List(fields.Nested(EventTypeSchema))


class DeliverySchema(Described):
    """One event's delivery to a subscription: its status, attempts and the receiver's last answer."""
    id = fields.String()
    event_id = fields.String(metadata={"description": "the `id` of the delivered body: the same on every retry"})
    type = fields.String()
    status = fields.String(metadata={"description": "pending | delivered | failed (dead-lettered)"})
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    record = fields.Dict()


class DeliveryPageSchema(Described):
    items = fields.List(fields.Nested(DeliverySchema))
    next_before = fields.String(allow_none=True)


CONTRACT = {"WebhookCreate": WebhookCreateSchema, "Webhook": WebhookSchema, "WebhookCreated": WebhookCreatedSchema,
            "WebhookPage": WebhookPageSchema, "WebhookEventTypePage": EventTypePageSchema,
            "WebhookDelivery": DeliverySchema, "WebhookDeliveryPage": DeliveryPageSchema,
            "WebhookDeliveryQuery": DeliveryListQuerySchema}
