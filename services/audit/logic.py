"""Audit domain logic, as service.py calls it. No nameko here.

Ingestion does not pass through here: the service hands each event's entry
(ingest.py) straight to the chain writer.

Its parts: ingest.py (event -> entry), chain.py (hashes), writer.py (group
commit), checkpoints.py (signed checkpoints), verification.py, access.py (who
may read what), reading.py (pages of entries), usage.py (usage figures).

Reading the audit log is itself audited: every read writes an `audit.read`
(an export `audit.exported`, a verification `audit.verified`) event to this
service's own outbox in the transaction that read, and the service ingests
its own events like anyone else's.
"""
from sqlalchemy import text

from concord_common.errors import load_or_fail
from concord_common.schedule import Job
from services.audit import access, reading, usage, verification
from services.audit.models import Verification
from services.audit.schemas import ExportQuerySchema, ReadQuerySchema, UsageQuerySchema

VERIFY = Job("audit.verify", seconds=6 * 3600)      # SCHEDULE_SECONDS: {"audit.verify": …} to change

_read_query = ReadQuerySchema()
_export_query = ExportQuerySchema()
_usage_query = UsageQuerySchema()


def _recorded(uow, event_type: str, data: dict, result):
    """`result` (read in `uow`), after recording in `uow` that it was read."""
    if isinstance(result, dict) and "items" in result:
        data = {**data, "returned": len(result["items"])}
    uow.add_event(event_type, data)
    return result


def record_log(uow, rpc, record_type: str, record_id: str, params: dict | None) -> dict:
    query = load_or_fail(_read_query, params or {})
    access.require_signed_in(uow.caller)
    answer = access.record_access(rpc, record_type, str(record_id))
    event = {"record": {"type": record_type, "id": str(record_id)}, "view": "record",
             "query": reading.printable(query)}
    if isinstance(answer.get("owner"), dict):
        event["owner"] = answer["owner"]
    return _recorded(uow, "audit.read", event, reading.record_page(uow.session, record_type, str(record_id), query))


def user_log(uow, rpc, user_id: str, params: dict | None) -> dict:
    query = load_or_fail(_read_query, params or {})
    user = access.user_access(rpc, uow.caller, str(user_id))
    event = {"record": {"type": "user", "id": user["id"]}, "owner": {"organisation_id": user.get("organisation_id")},
             "view": "user", "query": reading.printable(query)}
    return _recorded(uow, "audit.read", event, reading.user_page(uow.session, user["id"], query))


def organisation_export(uow, organisation_id: str, params: dict | None) -> dict:
    query = load_or_fail(_export_query, params or {})
    access.require_org_admin(uow.caller, str(organisation_id), "export its audit log")
    event = {"record": {"type": "organisation", "id": str(organisation_id)},
             "owner": {"organisation_id": str(organisation_id)}, "format": query["format"],
             "query": reading.printable(query)}
    result = _recorded(uow, "audit.exported", event,
                       reading.organisation_page(uow.session, str(organisation_id), query))
    return {**result, "format": query["format"]}


def usage_figures(uow, params: dict | None) -> dict:
    caller = uow.caller
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
    return _recorded(uow, "audit.read", event, usage.figures(uow.session, organisation_id, query))


def verify_chain(db, caller, pause=None) -> dict:
    """Recompute the chain (long: outside any transaction); record the outcome with `record_verification`."""
    access.require_system_admin(caller)
    return verification.verify(db.engine, db.trusted_keys, db.checkpoint_settings, pause=pause)


def keep_verification(uow, result: dict, scheduled: bool) -> None:
    """Keep the outcome: every replica reports the latest to Prometheus (health_gauges)."""
    uow.session.add(Verification(ok=result["ok"], entries=result["entries"], head_seq=result["head_seq"],
                                 first_bad_seq=result.get("first_bad_seq"), scheduled=scheduled))


def record_verification(uow, result: dict) -> dict:
    """Someone asked: keep the outcome, and audit that they read the chain."""
    keep_verification(uow, result, scheduled=False)
    uow.add_event("audit.verified", {"view": "verify", "outcome": "success" if result["ok"] else "failure",
                                     "result": {key: result.get(key) for key in
                                                ("ok", "entries", "head_seq", "first_bad_seq",
                                                 "checkpoints_verified")}})
    return result


def scheduled_verification(uow, tick, db, pause=None) -> dict:
    """The work of the scheduled job `audit.verify`: the whole chain, as the service itself. Kept, not audited
    as a read: no person looked at the log (and the chain does not grow by itself every few hours)."""
    result = verification.verify(db.engine, db.trusted_keys, db.checkpoint_settings, pause=pause)
    keep_verification(uow, result, scheduled=True)
    return result


def health_gauges(conn):
    """Scrape-time gauges of the audit service (concord_common.ops_metrics): how long since the chain last
    grew, and the latest verification's outcome and time."""
    age = conn.execute(text("SELECT extract(epoch FROM now() - updated_at) FROM audit_chain_head "
                            "WHERE id = 1 AND updated_at IS NOT NULL")).scalar()
    if age is not None:
        yield "concord_audit_head_age_seconds", [], float(age)
    last = conn.execute(text("SELECT ok, extract(epoch FROM at) FROM audit_verifications "
                             "ORDER BY id DESC LIMIT 1")).first()
    if last is not None:
        yield "concord_audit_verified_ok", [], 1.0 if last[0] else 0.0
        yield "concord_audit_verified_timestamp_seconds", [], float(last[1])
