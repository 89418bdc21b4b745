"""A refused caller is audited: the refusing service publishes `caller.refused` on its own exchange.

Published directly (there is no transaction to join), signed like any event,
from a green thread so the refusal answers at once. What the forged context
claimed is kept (truncated) for whoever investigates; the call's arguments are
not (a sign-in's would hold a password).
"""
import json
import logging
import threading

import eventlet

from concord_common import context as ctx
from concord_common.db import event_envelope

log = logging.getLogger(__name__)

EVENT_TYPE = "caller.refused"
_publishers: dict = {}
_lock = threading.Lock()


def _publisher(amqp_uri: str, keyring):
    from concord_common.outbox import EventPublisher
    with _lock:
        key = (amqp_uri, keyring.issuer)
        if key not in _publishers:
            _publishers[key] = EventPublisher(amqp_uri, keyring)
        return _publishers[key]


def _claimed(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else value[:500]
    except ValueError:
        return value[:500]


def refusal_event(service: str, entrypoint: str, refused, context_data: dict) -> dict:
    claims = refused.claims
    data = {"outcome": "refused", "reason": refused.reason, "entrypoint": f"{service}.{entrypoint}",
            "issuer": claims.get("iss"), "audience": claims.get("aud"),
            "claimed_caller": claims.get("sub") or _claimed(context_data.get(ctx.CALLER_KEY))}
    request_id = context_data.get(ctx.REQUEST_ID_KEY)
    return event_envelope(service, EVENT_TYPE, data, ctx.Caller(),
                          request_id if isinstance(request_id, str) else None)


def report(config: dict, keyring, service: str, entrypoint: str, refused, context_data: dict) -> None:
    """Log the refusal and publish its audit event (best effort: a failure is logged)."""
    envelope = refusal_event(service, entrypoint, refused, context_data)
    log.warning("refused a caller on %s.%s: %s", service, entrypoint, refused.reason,
                extra={"fields": {"reason": refused.reason, "issuer": envelope["data"]["issuer"]}})

    def publish():
        try:
            _publisher(config["AMQP_URI"], keyring).publish(f"{service}.events", EVENT_TYPE, envelope, {})
        except Exception:
            log.exception("could not publish the audit event of a refused caller")
    eventlet.spawn_n(publish)
