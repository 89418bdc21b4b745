"""Idempotency-Key: the same key and request replays the first answer instead of writing twice.

The gateway puts a write request's key into the call context; the service that owns the write
claims (caller, key, operation) in the *same transaction* as the write and stores its answer there,
so a retry after a lost reply, a crash or a timeout gets that answer back and nothing is written
twice. Two requests with one key at the same moment: the second waits on the first's row lock and
then replays its answer (or, if the first failed and rolled back, runs itself). Failed requests store
nothing: a retry runs again. A key is kept for KEEP_FOR; reused with other arguments it is refused.
"""
import hashlib
import json
import re
from datetime import timedelta

from kombu.utils.json import dumps as kombu_dumps
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from concord_common.errors import MalformedRequest, ValidationFailed
from concord_common.messaging_tables import idempotency_keys

KEEP_FOR = timedelta(hours=24)
HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")         # visible ASCII, as the IETF draft's examples use


def checked_key(value: str | None) -> str | None:
    """The header's value if it is a usable key; MalformedRequest (400) if it is not."""
    if value is None:
        return None
    value = value.strip().strip('"')
    if not _VALID.match(value):
        raise MalformedRequest(f"{HEADER} must be 1 to 255 visible ASCII characters (a UUID is best).")
    return value


def request_hash(operation: str, args, kwargs) -> str:
    canonical = kombu_dumps({"operation": operation, "args": list(args), "kwargs": kwargs}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session, caller: str, key: str, operation: str, fingerprint: str):
    """(True, None) if this request is first and should run, or (False, stored answer) to replay it.

    The INSERT waits while another transaction holds the same key, so concurrent twins serialise.
    """
    session.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < func.now() - KEEP_FOR))
    claimed = session.execute(insert(idempotency_keys).values(
        caller=caller, key=key, operation=operation, request_hash=fingerprint)
        .on_conflict_do_nothing().returning(idempotency_keys.c.key)).first()
    if claimed is not None:
        return True, None
    row = session.execute(select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
        idempotency_keys.c.caller == caller, idempotency_keys.c.key == key,
        idempotency_keys.c.operation == operation)).first()
    if row.request_hash != fingerprint:
        raise ValidationFailed(f"This {HEADER} was used for a different request.",
                               {HEADER: ["Already used with a different request body; use a new key."]})
    return False, row.response


def store(session, caller: str, key: str, operation: str, answer) -> None:
    session.execute(update(idempotency_keys).where(
        idempotency_keys.c.caller == caller, idempotency_keys.c.key == key,
        idempotency_keys.c.operation == operation).values(response=json.loads(kombu_dumps(answer))))
