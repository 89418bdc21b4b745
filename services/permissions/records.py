"""Records other services own, as the sharing directory sees them. Plain Python, no nameko.

Profiles, families and cases live in their owning services, with their access
lists. Here we only keep what sharing needs to name them (type, id, display
name, owner), and we ask the owning service to change the record (add a grant,
move ownership) through `RecordOwners`, which service.py implements over RPC
as the system.
"""
from typing import Protocol

from sqlalchemy import select

from concord_common import clock
from concord_common import record_types
from concord_common.errors import Conflict, NotFound, ValidationFailed, load_or_fail
from services.permissions.access import valid_id
from services.permissions.schemas import NoteSchema

RECORD_GONE = "The record this is about no longer exists, or it has moved. Nothing was changed."


def owning_service(record_type: str) -> str:
    registered = record_types.by_name(record_type)
    if registered is None:
        raise ValidationFailed("One or more fields are invalid.",
                               {"record.type": [f"Unknown record type {record_type!r}."]})
    return registered.service


def record_ref(record_type: str, record_id: str) -> dict:
    """What every audit event names in `data.record`."""
    return {"type": record_type, "id": record_id}


class RecordOwners(Protocol):
    """The owning services' side of sharing, called as the system (the people acting are in the payload)."""

    def apply_access_grant(self, record_type: str, record_id: str, grant: dict) -> dict: ...

    def apply_transfer(self, record_type: str, record_id: str, transfer: dict) -> dict: ...


def owner_refused_gone(call):
    """Run `call()`; the owning service's NotFound (record deleted or moved) becomes a Conflict.

    Answering 404 would say the access request or transfer itself does not exist.
    """
    try:
        return call()
    except NotFound:
        raise Conflict(RECORD_GONE) from None


def item_or_404(session, model, item_id, lock=False):
    """An access request or transfer by id (locked for a decision), or NotFound."""
    found = valid_id(item_id)
    query = select(model).where(model.id == found)
    row = session.scalar(query.with_for_update() if lock else query) if found else None
    if row is None:
        raise NotFound()
    return row


def require_pending(row, message: str) -> None:
    if row.status != "pending":
        raise Conflict(message.format(status=row.status))


def close_pending(session, row, status: str, actor_id: str, payload, not_pending: str) -> None:
    """Deny, withdraw, reject or cancel a pending request or transfer, with an optional note."""
    require_pending(row, not_pending)
    note = load_or_fail(NoteSchema(), {} if payload is None else payload)["note"]
    row.status, row.decided_by, row.decided_at, row.decision_note = status, actor_id, clock.now(), note
    session.flush()
