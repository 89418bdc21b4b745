"""Audit domain logic, as service.py calls it. No nameko here.

Its parts: ingest.py (event -> entry), chain.py (hashes), writer.py (group
commit), checkpoints.py (signed checkpoints), verification.py, access.py (who
may read what), reading.py (pages of entries), usage.py (usage figures).

Reading the audit log is itself audited: every read writes an `audit.read`
(an export `audit.exported`, a verification `audit.verified`) event to this
service's own outbox in the transaction that read, and the service ingests
its own events like anyone else's.
"""
from concord_common.errors import load_or_fail
from services.audit import access, ingest, reading, usage, verification
from services.audit.ingest import action_of  # noqa: F401  (the action of an event type)
from services.audit.schemas import ExportQuerySchema, ReadQuerySchema, UsageQuerySchema

_read_query = ReadQuerySchema()
_export_query = ExportQuerySchema()
_usage_query = UsageQuerySchema()


def ingest_event(db, event: dict) -> bool:
    """Record one event once; False if it was recorded before or is not audited."""
    entry = ingest.entry_from_event(event)
    return entry is not None and db.append(entry)


def _audited_read(db, event_type: str, data: dict, read):
    with db.unit_of_work() as uow:
        result = read(uow.session)
        if isinstance(result, dict) and "items" in result:
            data = {**data, "returned": len(result["items"])}
        uow.add_event(event_type, data)
    return result


def record_log(db, rpc, caller, record_type: str, record_id: str, params: dict | None) -> dict:
    query = load_or_fail(_read_query, params or {})
    access.require_signed_in(caller)
    answer = access.record_access(rpc, record_type, str(record_id))
    event = {"record": {"type": record_type, "id": str(record_id)}, "view": "record",
             "query": reading.printable(query)}
    if isinstance(answer.get("owner"), dict):
        event["owner"] = answer["owner"]
    return _audited_read(db, "audit.read", event,
                         lambda session: reading.record_page(session, record_type, str(record_id), query))


def user_log(db, rpc, caller, user_id: str, params: dict | None) -> dict:
    query = load_or_fail(_read_query, params or {})
    user = access.user_access(rpc, caller, str(user_id))
    event = {"record": {"type": "user", "id": user["id"]}, "owner": {"organisation_id": user.get("organisation_id")},
             "view": "user", "query": reading.printable(query)}
    return _audited_read(db, "audit.read", event, lambda session: reading.user_page(session, user["id"], query))


def organisation_export(db, caller, organisation_id: str, params: dict | None) -> dict:
    query = load_or_fail(_export_query, params or {})
    access.require_org_admin(caller, str(organisation_id), "export its audit log")
    event = {"record": {"type": "organisation", "id": str(organisation_id)},
             "owner": {"organisation_id": str(organisation_id)}, "format": query["format"],
             "query": reading.printable(query)}
    result = _audited_read(db, "audit.exported", event,
                           lambda session: reading.organisation_page(session, str(organisation_id), query))
    return {**result, "format": query["format"]}


def usage_figures(db, caller, params: dict | None) -> dict:
    query = load_or_fail(_usage_query, params or {})
    organisation_id = query.get("organisation_id")
    organisation_id = str(organisation_id) if organisation_id else None
    if organisation_id is None and not access.is_system_admin(caller):
        organisation_id = caller.organisation_id       # an org admin's own organisation
    if organisation_id is None:
        access.require_system_admin(caller)
    else:
        access.require_org_admin(caller, organisation_id, "see its usage figures")
    event = {"record": {"type": "organisation", "id": organisation_id},
             "owner": {"organisation_id": organisation_id}, "view": "usage",
             "query": reading.printable(query)}
    return _audited_read(db, "audit.read", event, lambda session: usage.figures(session, organisation_id, query))


def verify(db, caller, pause=None) -> dict:
    access.require_system_admin(caller)
    result = verification.verify(db.engine, db.trusted_keys, db.checkpoint_settings, pause=pause)
    with db.unit_of_work() as uow:
        uow.add_event("audit.verified", {"view": "verify", "outcome": "success" if result["ok"] else "failure",
                                         "result": {key: result.get(key) for key in
                                                    ("ok", "entries", "head_seq", "first_bad_seq",
                                                     "checkpoints_verified")}})
    return result
