"""Webhooks for partner systems: who may subscribe, which events exist, and turning Concord's internal events
into delivery rows. No nameko here; the sending is webhook_delivery.py (docs/webhooks.md).

The event handler only writes rows (one per subscription that wants the type, in the handler's transaction):
nothing about a receiver — slow, dead or hostile — can reach the write that caused the event, nor the handler.
"""
import uuid
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from concord_common import clock
from concord_common.errors import Forbidden, NotFound, ValidationFailed, load_or_fail
from concord_common.record_types import api_path
from services.notifications import webhook_urls
from services.notifications.webhook_models import WebhookDelivery, WebhookSubscription
from services.notifications.webhook_schemas import DeliveryListQuerySchema, WebhookCreateSchema

CONSUMER = "notifications.webhooks"
MANAGE_SCOPE = "webhooks:manage"
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3c1e-6b0f-4a38-9f0e-2a1d7c5e9b41")
MAX_SUBSCRIPTIONS_PER_ORGANISATION = 50


# -- the public event types ---------------------------------------------------------------------------------------
def _ref(record: dict) -> dict:
    return {"type": record.get("type"), "id": record.get("id"), "path": api_path(record)}


def _owner(data: dict) -> dict:
    owner = data.get("owner") or {}
    return {"organisation_id": owner.get("organisation_id"), "team_id": owner.get("team_id")}


def _record_only(data: dict) -> dict:
    return {"record": _ref(data.get("record") or {}), "owner": _owner(data)}


def _changed(data: dict) -> dict:
    """Which fields changed, never their values: the receiver reads the record through the API."""
    return {**_record_only(data), "fields": sorted((data.get("fields") or {}).keys())}


def _action(data: dict) -> dict:
    action = data.get("action") or {}
    return {"record": _ref(data.get("record") or {}), "owner": _owner(data),
            "action": {"id": action.get("id"), "path": f"/api/v1/actions/{action.get('id')}",
                       "due": action.get("due"), "status": action.get("status")}}


@dataclass(frozen=True)
class EventType:
    type: str                           # the public name, <record>.<what happened>
    record_type: str                    # whose visibility decides delivery (actions: their case)
    description: str


@dataclass(frozen=True)
class Mapping:
    public: str
    data: Callable[[dict], dict]
    when: Callable[[dict], bool] = lambda data: True


EVENT_TYPES = (
    EventType("profile.created", "profile", "A profile was created."),
    EventType("profile.updated", "profile", "A profile's details changed (`fields` names them)."),
    EventType("profile.transferred", "profile", "Another team now leads the profile."),
    EventType("family.created", "family", "A family was created."),
    EventType("family.updated", "family", "A member joined or left a family."),
    EventType("case.created", "case", "A case was opened."),
    EventType("case.updated", "case", "A case's details changed (`fields` names them)."),
    EventType("case.closed", "case", "A case was closed."),
    EventType("case.reopened", "case", "A closed case was reopened."),
    EventType("case.transferred", "case", "Another team now leads the case."),
    EventType("action.created", "case", "An action was set on a case."),
    EventType("action.updated", "case", "An action's due date or status changed."),
    EventType("action.completed", "case", "An action was marked done."),
    EventType("action.cancelled", "case", "An action was cancelled."),
    EventType("action.overdue", "case", "An action passed its due date without being done."),
)
PUBLIC_TYPES = {event_type.type: event_type for event_type in EVENT_TYPES}

# (source service, internal event type) -> how it is told to subscribers. The service's entrypoints bind exactly
# these (service.py), so no other event (a view, a search) even reaches the handler.
INTERNAL = {
    ("profiles", "profile.created"): Mapping("profile.created", _record_only),
    ("profiles", "profile.updated"): Mapping("profile.updated", _changed),
    ("profiles", "profile.owner_changed"): Mapping("profile.transferred", _record_only),
    ("profiles", "family.created"): Mapping("family.created", _record_only),
    ("profiles", "family.member_added"): Mapping("family.updated", _record_only),
    ("profiles", "family.member_removed"): Mapping("family.updated", _record_only),
    ("cases", "case.created"): Mapping("case.created", _record_only),
    ("cases", "case.updated"): Mapping("case.updated", _changed),
    ("cases", "case.closed"): Mapping("case.closed", _record_only),
    ("cases", "case.reopened"): Mapping("case.reopened", _record_only),
    ("cases", "case.owner_changed"): Mapping("case.transferred", _record_only),
    ("cases", "case.action_set"): Mapping("action.created", _action),
    ("cases", "case.action_updated"): Mapping("action.updated", _action),
    ("cases", "case.action_done"): Mapping("action.completed", _action),
    ("cases", "case.action_cancelled"): Mapping("action.cancelled", _action),
    ("cases", "case.action_reminder_sent"): Mapping("action.overdue", _action,
                                                    lambda data: data.get("reminder") == "overdue"),
}
assert {mapping.public for mapping in INTERNAL.values()} == set(PUBLIC_TYPES)


def internal_types(source: str) -> list[str]:
    return sorted(internal for (service, internal) in INTERNAL if service == source)


def public_event(event: dict) -> dict | None:
    """The body subscribers get for an internal event envelope, or None if it is not told to them:
    {"id", "type", "occurred_at", "data"}. The id is derived from the internal event's id, so it is the same on
    every retry and redelivery (receivers de-duplicate on it)."""
    mapping = INTERNAL.get((event.get("source"), event.get("type")))
    data = event.get("data") or {}
    record = data.get("record") or {}
    if mapping is None or not mapping.when(data) or not record.get("id"):
        return None
    return {"id": str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{event['id']}:{mapping.public}")), "type": mapping.public,
            "occurred_at": event.get("occurred_at") or clock.now().isoformat(), "data": mapping.data(data)}


def event_types(session, caller) -> dict:
    managing_organisation(caller)
    return {"items": [{"type": t.type, "record_type": t.record_type, "description": t.description}
                      for t in EVENT_TYPES]}


def fan_out(uow, event: dict) -> int:
    """One pending delivery per subscription that wants this event's public type, once per event (the event
    handler's transaction; the unique (subscription, event id) makes a redelivered event a no-op)."""
    if uow.already_processed(event["id"], CONSUMER):
        return 0
    body = public_event(event)
    if body is None:
        return 0
    record = body["data"]["record"]
    wanting = uow.session.execute(select(WebhookSubscription.id).where(
        WebhookSubscription.events.contains([body["type"]]))).scalars().all()
    if not wanting:
        return 0
    now = clock.now()
    rows = [{"id": str(uuid.uuid4()), "subscription_id": subscription_id, "event_id": body["id"],
             "event_type": body["type"], "record_type": record["type"], "record_id": str(record["id"]),
             "payload": body, "status": "pending", "created_at": now, "window_started_at": now,
             "next_attempt_at": now} for subscription_id in wanting]
    uow.session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"]))
    return len(rows)


# -- who manages subscriptions ------------------------------------------------------------------------------------
def managing_organisation(caller) -> str:
    """The organisation whose webhooks the caller manages: an API client with `webhooks:manage`, or an
    organisation administrator. Everyone else: 403."""
    if caller.kind == "client" and MANAGE_SCOPE in (caller.scopes or ()) and caller.organisation_id:
        return caller.organisation_id
    if caller.kind == "user" and "org_admin" in (caller.roles or ()) and caller.organisation_id:
        return caller.organisation_id
    raise Forbidden("Only an organisation's administrators, and its API clients with the `webhooks:manage` scope, "
                    "manage its webhooks.")


def _uuid(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound()


def _own_subscription(session, caller, subscription_id, lock: bool = False) -> WebhookSubscription:
    organisation_id = managing_organisation(caller)
    query = select(WebhookSubscription).where(WebhookSubscription.id == _uuid(subscription_id),
                                              WebhookSubscription.organisation_id == organisation_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:                 # another organisation's webhook is as absent as none at all
        raise NotFound()
    return row


def _counts(session, ids: list[str]) -> dict:
    if not ids:
        return {}
    d = WebhookDelivery
    rows = session.execute(select(d.subscription_id, func.count().filter(d.status == "pending"),
                                  func.count().filter(d.status == "failed"))
                           .where(d.subscription_id.in_(ids)).group_by(d.subscription_id)).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def subscription_view(row, counts=(0, 0)) -> dict:
    return {"id": row.id, "url": row.url, "events": list(row.events), "organisation_id": row.organisation_id,
            "created_at": row.created_at.isoformat() if row.created_at else None, "created_by": row.created_by,
            "pending": counts[0], "failed": counts[1]}


def subscribe(uow, payload, sealer, settings: dict) -> dict:
    caller = uow.caller
    organisation_id = managing_organisation(caller)
    data = load_or_fail(WebhookCreateSchema(), payload)
    unknown = sorted({name for name in data["events"] if name not in PUBLIC_TYPES})
    if unknown:
        raise ValidationFailed("One or more fields are invalid.", {"events": [
            f"Unknown event type{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(GET /api/v1/webhooks/event-types lists them)."]})
    try:
        webhook_urls.check(data["url"], webhook_urls.flag(settings.get("WEBHOOKS_ALLOW_PRIVATE")),
                           webhook_urls.flag(settings.get("WEBHOOKS_ALLOW_HTTP")))
    except webhook_urls.UrlRefused as refused:
        raise ValidationFailed("One or more fields are invalid.", {"url": [str(refused)]})
    session = uow.session
    count = session.execute(select(func.count()).select_from(WebhookSubscription)
                            .where(WebhookSubscription.organisation_id == organisation_id)).scalar()
    if count >= MAX_SUBSCRIPTIONS_PER_ORGANISATION:
        raise ValidationFailed("One or more fields are invalid.", {"url": [
            f"Your organisation has {count} webhooks, the most it may have; delete one first."]})
    from services.notifications.webhook_secrets import new_secret
    subscription_id, secret = str(uuid.uuid4()), new_secret()
    row = WebhookSubscription(id=subscription_id, organisation_id=organisation_id, url=data["url"].strip(),
                              events=sorted(set(data["events"])), secret_sealed=sealer.seal(secret, subscription_id),
                              created_by={"kind": caller.kind, "id": caller.id}, created_at=clock.now())
    session.add(row)
    session.flush()
    return {**subscription_view(row), "secret": secret}


def list_subscriptions(session, caller) -> dict:
    organisation_id = managing_organisation(caller)
    rows = session.execute(select(WebhookSubscription).where(WebhookSubscription.organisation_id == organisation_id)
                           .order_by(WebhookSubscription.created_at)).scalars().all()
    counts = _counts(session, [row.id for row in rows])
    return {"items": [subscription_view(row, counts.get(row.id, (0, 0))) for row in rows]}


def get_subscription(session, caller, subscription_id) -> dict:
    row = _own_subscription(session, caller, subscription_id)
    return subscription_view(row, _counts(session, [row.id]).get(row.id, (0, 0)))


def delete_subscription(uow, subscription_id) -> None:
    row = _own_subscription(uow.session, uow.caller, subscription_id, lock=True)
    uow.session.delete(row)                 # its deliveries go with it (ON DELETE CASCADE)


def delivery_view(row) -> dict:
    iso = lambda value: value.isoformat() if value else None   # noqa: E731
    return {"id": row.id, "event_id": row.event_id, "type": row.event_type, "status": row.status,
            "attempts": row.attempts, "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
            "last_attempt_at": iso(row.last_attempt_at), "last_status_code": row.last_status_code,
            "last_error": row.last_error, "finished_at": iso(row.finished_at),
            "record": (row.payload.get("data") or {}).get("record")}


def list_deliveries(session, caller, subscription_id, params=None) -> dict:
    """The subscription's deliveries, newest first. Skipped ones (the organisation could not view the record when
    it was due) are left out: listing them would tell of records the organisation may not see."""
    row = _own_subscription(session, caller, subscription_id)
    query = load_or_fail(DeliveryListQuerySchema(), dict(params or {}))
    d = WebhookDelivery
    statement = select(d).where(d.subscription_id == row.id, d.status != "skipped")
    if query.get("status"):
        statement = statement.where(d.status == query["status"])
    if query.get("before"):
        statement = statement.where(d.created_at < query["before"])
    rows = session.execute(statement.order_by(d.created_at.desc(), d.id).limit(query["limit"])).scalars().all()
    next_before = rows[-1].created_at.isoformat() if len(rows) == query["limit"] else None
    return {"items": [delivery_view(r) for r in rows], "next_before": next_before}


def redeliver(uow, subscription_id, delivery_id) -> dict:
    """Try a delivery again now, with a fresh retry window (same event id: the receiver can tell it is the same
    event). A delivery already pending is left as it is; a skipped one stays as absent as it is in the list."""
    row = _own_subscription(uow.session, uow.caller, subscription_id)
    d = WebhookDelivery
    delivery = uow.session.execute(select(d).where(d.id == _uuid(delivery_id), d.subscription_id == row.id,
                                                   d.status != "skipped").with_for_update()).scalar_one_or_none()
    if delivery is None:
        raise NotFound()
    if delivery.status != "pending":
        now = clock.now()
        delivery.status, delivery.window_started_at, delivery.next_attempt_at = "pending", now, now
        delivery.lease_until, delivery.finished_at = None, None
        uow.session.flush()
    return delivery_view(delivery)
