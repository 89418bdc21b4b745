"""The audit contract: the event envelope it ingests, the queries it answers, the entries it gives out."""
from datetime import date, datetime, time, timezone

from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema)

from concord_common.contract import Described


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.Length(min=1))
    id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    teams = fields.List(fields.String(allow_none=True), load_default=list)


class RecordRefSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.String(allow_none=True)
    id = fields.Raw(allow_none=True)


class AwareInstant(fields.Field):
    """An ISO 8601 time with its offset (what every envelope's `occurred_at` is)."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 time.",
                              "naive": "The time must say its offset from UTC."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid")
        if moment.tzinfo is None:
            raise self.make_error("naive")
        return moment


class EventEnvelopeSchema(Schema):
    """Every event on the bus has this envelope (concord_common.db.event_envelope).

    Without an actor (`caller`), an action (`type` "<thing>.<action>") or a time
    (`occurred_at`) an event cannot be an audit entry: it is refused, and the
    reliable handler dead-letters it at once with these messages.
    """
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    source = fields.String(required=True)
    occurred_at = AwareInstant(required=True)
    request_id = fields.String(allow_none=True)
    caller = fields.Nested(ActorSchema, required=True)
    data = fields.Dict(required=True)


class Instant(fields.Field):
    """An ISO 8601 time or date. A time without an offset is UTC; a date is its midnight UTC."""

    default_error_messages = {"invalid": "Not a valid date or time (ISO 8601, e.g. 2025-01-31 or "
                                         "2025-01-31T09:30:00Z)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(), tzinfo=timezone.utc)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("invalid")
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _TimeWindow(Schema):
    class Meta:
        unknown = RAISE

    from_ = Instant(data_key="from", load_default=None)
    to = Instant(load_default=None)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("Must be later than `from`.", "to")


class ReadQuerySchema(_TimeWindow):
    """?from=&to=&action=&limit=&cursor= on every list of entries."""
    action = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z_]{1,64}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class ExportQuerySchema(ReadQuerySchema):
    """An organisation's export: bigger pages, CSV or JSON."""
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class UsageQuerySchema(_TimeWindow):
    organisation_id = fields.UUID(load_default=None)
    interval = fields.String(load_default="day", validate=validate.OneOf(["day", "week", "month"]))


# Keys of an event's data that have columns of their own; the rest is shown as `details`.
MAPPED_DATA_KEYS = ("record", "owner", "fields", "reason", "justification", "source_ip", "outcome", "page_view")


def entry_view(row) -> dict:
    """One audit entry as every reader sees it."""
    from services.audit.chain import utc_text
    data = row.data or {}
    return {
        "seq": row.seq,
        "at": utc_text(row.at),
        "recorded_at": utc_text(row.recorded_at),
        "actor": row.actor,                     # as the event named it
        "actor_id": row.actor_id,               # who acted (for a sign-in, the user, not the anonymous caller)
        "action": row.action,
        "event_type": row.event_type,
        "source": row.source,
        "record": {"type": row.record_type, "id": row.record_id} if row.record_type else None,
        "record_owner_organisation_id": row.record_owner_organisation_id,
        "fields": row.fields,
        "reason": row.reason,
        "request_id": row.request_id,
        "source_ip": row.source_ip,
        "outcome": row.outcome,
        "details": {key: value for key, value in data.items() if key not in MAPPED_DATA_KEYS},
        "hash": row.hash,
    }


# -- the API document (concord_common.contract): answers built by hand (entry_view, verification, usage) ------
# Descriptive only: nothing loads or dumps with these. Answers may gain fields, so unknown = EXCLUDE.
class EntryRecordSchema(Described):
    type = fields.String()
    id = fields.String()


class AuditEntrySchema(Described):
    """One audit entry: who did what to which record, when; `hash` chains it to the entry before."""
    seq = fields.Integer()
    at = fields.DateTime()
    recorded_at = fields.DateTime()
    actor = fields.Dict(metadata={"description": "The caller as the event named it: kind, id, organisation_id, "
                                                 "teams."})
    actor_id = fields.String(allow_none=True)
    action = fields.String(metadata={"description": "viewed, searched, created, updated, deleted, shared, unshared, "
                                                    "exported, login, login_failed, logout, break_glass, "
                                                    "access_requested, access_approved, transferred …"})
    event_type = fields.String()
    source = fields.String()
    record = fields.Nested(EntryRecordSchema, allow_none=True)
    record_owner_organisation_id = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields", allow_none=True, metadata={
        "description": "Changed fields: {name: {before, after}}."})
    reason = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    source_ip = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    details = fields.Dict()
    hash = fields.String()


class AuditPageSchema(Described):
    items = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)


class ChainProblemSchema(Described):
    seq = fields.Integer()
    problem = fields.String()


class VerificationSchema(Described):
    """The audit hash chain recomputed and held against the signed checkpoints."""
    ok = fields.Boolean()
    entries = fields.Integer()
    head = fields.String(allow_none=True)
    head_seq = fields.Integer()
    first_bad_seq = fields.Integer(metadata={"description": "Only when the chain is broken."})
    checkpoints_verified = fields.Integer()
    problems = fields.List(fields.Nested(ChainProblemSchema))


class UsageSchema(Described):
    """Who used the system, how much: totals, per user, per period and per organisation."""
    organisation_id = fields.String(allow_none=True)
    from_ = fields.DateTime(data_key="from")
    to = fields.DateTime()
    interval = fields.String(validate=validate.OneOf(["day", "week", "month"]))
    totals = fields.Dict()
    users = fields.List(fields.Dict())
    series = fields.List(fields.Dict())
    organisations = fields.List(fields.Dict())


# The audit service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT_FIELD_TYPES = {Instant: ("string", None), AwareInstant: ("string", "date-time")}
CONTRACT = {
    "ReadQuery": ReadQuerySchema, "ExportQuery": ExportQuerySchema, "UsageQuery": UsageQuerySchema,
    "Entry": AuditEntrySchema, "EntryPage": AuditPageSchema, "Verification": VerificationSchema,
    "Usage": UsageSchema,
}
