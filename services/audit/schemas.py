"""The audit contract: the event envelope it ingests and the entries it gives out."""
from marshmallow import EXCLUDE, Schema, fields, validate


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True)
    id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    teams = fields.List(fields.String(allow_none=True), load_default=list)


class EventEnvelopeSchema(Schema):
    """Every event on the bus has this envelope (concord_common.db.event_envelope)."""
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    source = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    request_id = fields.String(allow_none=True)
    caller = fields.Nested(ActorSchema, required=True)
    data = fields.Dict(required=True)


class AuditEntrySchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.Dict()
    action = fields.String()
    record = fields.Method("_record")
    request_id = fields.String(allow_none=True)
    event_type = fields.String()

    def _record(self, entry):
        return {"type": entry.record_type, "id": entry.record_id}
