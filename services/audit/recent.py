"""The records a person opened lately (their home page's "Records you opened recently").

Read from their own trail: their `viewed` entries of profiles, families and cases, newest first, each record
once. The index on (actor_id, seq) answers it walking backwards from the newest entry, stopping after
SCANNED rows, so it stays cheap however long the trail is. Only the person themself may ask (no one
reads another's through this), and the read records nothing: it tells them what they did themselves, and
the home page names only records their owners say they may still open (`visible_names`); opening one is
recorded as usual.
"""
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from concord_common import record_types
from concord_common.errors import Forbidden, load_or_fail
from services.audit.models import entries

SCANNED = 200           # the newest views looked at; repeats of the same record are common


class RecentQuerySchema(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


def my_recent_records(session, caller, params=None) -> dict:
    query = load_or_fail(RecentQuerySchema(), params or {})
    if caller.kind != "user":
        raise Forbidden("Only a signed-in person has records they opened.")
    kinds = [registered.name for registered in record_types.REGISTRY]
    rows = session.execute(
        select(entries.c.record_type, entries.c.record_id, entries.c.at)
        .where(entries.c.actor_id == str(caller.id), entries.c.action == "viewed",
               entries.c.record_type.in_(kinds), entries.c.record_id.is_not(None))
        .order_by(entries.c.seq.desc()).limit(SCANNED)).all()
    seen, items = set(), []
    for row in rows:
        key = (row.record_type, row.record_id)
        if key in seen:
            continue
        seen.add(key)
        items.append({"record": {"type": row.record_type, "id": row.record_id}, "viewed_at": row.at.isoformat()})
        if len(items) == query["limit"]:
            break
    return {"items": items}
