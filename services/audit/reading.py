"""Pages of entries: one record's, one user's, one organisation's. Plain SQL, no access rules here.

Pages run in seq order; `next_cursor` is opaque to callers (the last seq
given, encoded) and null on the last page.
"""
import base64
import binascii
import json

from sqlalchemy import select

from concord_common.errors import ValidationFailed
from services.audit.models import entries
from services.audit.schemas import entry_view

_CURSOR_PREFIX = "a1."


def encode_cursor(seq: int) -> str:
    raw = json.dumps({"after": int(seq)}, separators=(",", ":")).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        if not cursor.startswith(_CURSOR_PREFIX):
            raise ValueError
        text = cursor[len(_CURSOR_PREFIX):]
        after = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))["after"]
        if not isinstance(after, int) or after < 0:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("One or more fields are invalid.",
                               {"cursor": ["Not a cursor this service gave out; start again without one."]})


def printable(query: dict) -> dict:
    """The query as it is written into the `audit.read` event."""
    shown = {}
    for key, value in query.items():
        if value is None:
            continue
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        shown["from" if key == "from_" else key] = value
    return shown


def page(session, conditions: list, query: dict) -> dict:
    statement = select(entries).where(*conditions)
    if query.get("from_") is not None:
        statement = statement.where(entries.c.at >= query["from_"])
    if query.get("to") is not None:
        statement = statement.where(entries.c.at < query["to"])
    if query.get("action"):
        statement = statement.where(entries.c.action == query["action"])
    after = decode_cursor(query.get("cursor"))
    if after:
        statement = statement.where(entries.c.seq > after)
    limit = query["limit"]
    rows = session.execute(statement.order_by(entries.c.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [entry_view(row) for row in rows],
            "next_cursor": encode_cursor(rows[-1].seq) if more else None}


def record_page(session, record_type: str, record_id: str, query: dict) -> dict:
    return page(session, [entries.c.record_type == record_type, entries.c.record_id == str(record_id)], query)


def user_page(session, user_id: str, query: dict) -> dict:
    return page(session, [entries.c.actor_id == str(user_id)], query)


def organisation_page(session, organisation_id: str, query: dict) -> dict:
    return page(session, [entries.c.record_owner_organisation_id == str(organisation_id)], query)
