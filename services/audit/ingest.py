"""From an event on the bus to an entry on the chain.

`entry_from_event` validates and maps one envelope (plain, no database);
`append` writes a batch of entries in the caller's transaction: it takes the
chain head FOR UPDATE (one writer at a time, whatever the replica), drops
events recorded before (idempotent ingestion), numbers and hashes the rest,
and moves the head.
"""
from sqlalchemy import select, text, update

from concord_common import clock
from concord_common.errors import ValidationFailed, load_or_fail
from services.audit import chain
from services.audit.models import chain_head
from services.audit.schemas import EventEnvelopeSchema

CONSUMER = "audit.ingest"
# Signals between services, not facts about people or records.
NOT_AUDITED = ("principal.",)
PAGE_VIEW_ACTIONS = ("viewed", "searched")
SIGN_IN_ACTIONS = ("login", "login_failed", "locked_out", "mfa_enrolled", "mfa_enabled")

_envelope_schema = EventEnvelopeSchema()


# Where the event's own verb is not the word the API contract promises.
CONTRACT_ACTIONS = {
    "access_request.requested": "access_requested",
    "access_request.approved": "access_approved",
    "access_request.denied": "access_denied",
    "access_request.withdrawn": "access_request_withdrawn",
    "record.transfer_requested": "transfer_requested",
}


# A read of one part of a record ('profile.history_viewed': its history, families, files, access list,
# /why) is a view of the record; `data.part` says which. Not a page view: the page showing it counts once.
PART_VIEWED = "_viewed"


def action_of(event_type: str) -> str:
    """'profile.created' -> 'created'; 'access_request.approved' -> 'access_approved';
    'profile.history_viewed' -> 'viewed'."""
    verb = CONTRACT_ACTIONS.get(event_type) or event_type.split(".", 1)[1]
    return "viewed" if verb.endswith(PART_VIEWED) else verb


def _text(value) -> str | None:
    return None if value is None else str(value)


def entry_from_event(event: dict) -> dict | None:
    """The entry an event becomes (without seq and hashes), or None if it is not audited.

    Raises ValidationFailed (dead-lettered at once) for an event with no actor,
    action or time, or data that cannot be stored as JSON.
    """
    envelope = load_or_fail(_envelope_schema, event)
    event_type = envelope["type"]
    if event_type.startswith(NOT_AUDITED):
        return None
    try:
        data = chain.normalised(envelope["data"])
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("The event cannot be stored.", {"data": [str(exc)]})
    caller = envelope["caller"]      # validated: kind, id, organisation_id, teams (strings)
    actor = {"kind": caller["kind"], "id": caller.get("id"), "organisation_id": caller.get("organisation_id"),
             "teams": list(caller.get("teams") or [])}
    action = action_of(event_type)
    record = data.get("record") if isinstance(data.get("record"), dict) else {}
    owner = data.get("owner") if isinstance(data.get("owner"), dict) else {}
    fields = data.get("fields")
    reason = data.get("reason") or data.get("justification")
    actor_id = actor.get("id")
    if actor.get("kind") == "anonymous" and action in SIGN_IN_ACTIONS and record.get("type") == "user":
        actor_id = record.get("id")        # who signed in (or tried to): the session did not exist yet
    return {
        "event_id": str(envelope["id"]),
        "at": envelope["occurred_at"],
        "source": envelope["source"],
        "event_type": event_type,
        "action": action,
        "actor": actor,
        "actor_id": _text(actor_id),
        "actor_organisation_id": _text(actor.get("organisation_id")),
        "record_type": _text(record.get("type")),
        "record_id": _text(record.get("id")),
        "record_owner_organisation_id": _text(owner.get("organisation_id") or data.get("record_owner_organisation_id")),
        "fields": fields,
        "reason": reason if reason is None or isinstance(reason, str) else chain.canonical_json(reason).decode(),
        "request_id": envelope.get("request_id"),
        "source_ip": _text(data.get("source_ip")),
        "outcome": str(data.get("outcome") or ("failure" if action.endswith("_failed") else "success")),
        "page_view": bool(data.get("page_view")) or (action in PAGE_VIEW_ACTIONS
                                                      and not event_type.endswith(PART_VIEWED)),
        "data": data,
    }


_CLAIM = text("INSERT INTO processed_messages (consumer, message_id) "
              "SELECT :consumer, unnest(CAST(:ids AS text[])) "
              "ON CONFLICT DO NOTHING RETURNING message_id")


def _claim(session, event_ids: list[str]) -> set[str]:
    """Claim these event ids for ingestion (one statement for the batch); returns those not recorded before."""
    return set(session.scalars(_CLAIM, {"consumer": CONSUMER, "ids": event_ids}).all())


# A batch goes in with COPY: one round of messages whatever its size (an executemany sends a
# statement per row, and a multi-row VALUES is a new long query text for each batch size).
_COLUMNS = (*chain.HASHED_FIELDS, "hash")
_COPY = f"COPY audit_entries ({', '.join(_COLUMNS)}) FROM STDIN"
_JSON_COLUMNS = frozenset(("actor", "fields", "data"))


def _insert(session, rows: list[dict]) -> None:
    connection = session.connection().connection.driver_connection      # psycopg, in this transaction
    with connection.cursor() as cursor, cursor.copy(_COPY) as copy:
        for row in rows:
            # json columns get the very text that was hashed
            copy.write_row([(None if row[name] is None else chain.canonical_json(row[name]).decode())
                            if name in _JSON_COLUMNS else row[name] for name in _COLUMNS])


def append(session, new_entries: list[dict]) -> tuple[list[dict], tuple[int, int, str]]:
    """Append entries to the chain in `session`'s transaction (the caller commits).

    Returns (the entries stored, with seq and hashes; (head seq before, head seq after, head hash)).
    """
    head = session.execute(select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
                           .with_for_update()).one()
    unique, seen = [], set()
    for entry in new_entries:
        if entry["event_id"] not in seen:
            seen.add(entry["event_id"])
            unique.append(entry)
    fresh = _claim(session, [entry["event_id"] for entry in unique]) if unique else set()
    now = clock.now()
    stored = [dict(entry, recorded_at=now) for entry in unique if entry["event_id"] in fresh]
    if not stored:
        return [], (head.seq, head.seq, head.hash)
    chain.link(stored, head.seq, head.hash)
    _insert(session, stored)
    last = stored[-1]
    session.execute(update(chain_head).where(chain_head.c.id == 1)
                    .values(seq=last["seq"], hash=last["hash"], updated_at=now))
    return stored, (head.seq, last["seq"], last["hash"])
