"""Audit domain logic: turn events into entries, read them back. No nameko here."""
from sqlalchemy import select

from concord_common.errors import load_or_fail
from services.audit.models import AuditEntry
from services.audit.schemas import AuditEntrySchema, EventEnvelopeSchema

CONSUMER = "audit.ingest"
_envelope_schema = EventEnvelopeSchema()
_entry_schema = AuditEntrySchema()


def action_of(event_type: str) -> str:
    """'profile.created' -> 'created'."""
    return event_type.split(".", 1)[1]


# Signals between services, not facts about people or records.
NOT_AUDITED = ("principal.",)


def ingest(uow, event: dict) -> bool:
    """Record one event once; False if this event id was already recorded (or is not audited)."""
    envelope = load_or_fail(_envelope_schema, event)
    if envelope["type"].startswith(NOT_AUDITED):
        return False
    event_id = str(envelope["id"])
    if uow.already_processed(event_id, CONSUMER):
        return False
    record = (envelope["data"].get("record") or {})
    uow.session.add(AuditEntry(
        event_id=event_id, at=envelope["occurred_at"], source=envelope["source"],
        event_type=envelope["type"], action=action_of(envelope["type"]),
        record_type=record.get("type"), record_id=record.get("id"),
        actor=envelope["caller"], request_id=envelope.get("request_id"), data=envelope["data"]))
    return True


def entries_for_record(session, record_type: str, record_id: str, limit: int = 100) -> dict:
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.seq).limit(limit)).all()
    return {"items": _entry_schema.dump(rows, many=True), "next_cursor": None}
