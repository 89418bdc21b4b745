"""Who is told what, when something happens to a record they care about. No nameko here.

Each rule (services/notifications/rules.py, one table) turns one event into notifications for a person or a
whole team, and the e-mails to send for them (services/notifications/emails.py, an outbox).
"""
import uuid

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from concord_common.errors import NotFound
from services.notifications import emails
from services.notifications.models import Notification, NotificationRead
from services.notifications.rules import notices_for, rule_for  # noqa: F401 (notices_for: callers import it here)
from services.notifications.schemas import NotificationSchema

CONSUMER = "notifications.tell"
_notification_schema = NotificationSchema()


def tell(uow, event: dict, email: bool = True) -> int:
    """Store the notifications an event causes, once per event, and (in the same transaction) the e-mails
    to send for them (`email=False`: in-app only, as before e-mail; for the benchmark's comparison)."""
    if uow.already_processed(event["id"], CONSUMER):
        return 0
    data = event.get("data") or {}
    record = data.get("record") or {}
    rule = rule_for(event["type"])
    if rule is None:
        return 0
    rows = [{"id": str(uuid.uuid4()), "recipient_type": recipient_type, "recipient_id": recipient_id,
             "kind": event["type"], "title": title, "body": body, "record_type": record.get("type"),
             "record_id": record.get("id"), "event_id": event["id"]}
            for recipient_type, recipient_id, title, body in rule.notices(event["type"], data) if recipient_id]
    if not rows:
        return 0
    if email:       # the notifications and their e-mails in one statement: one round trip, as without e-mail
        emails.tell_with_email(uow.session, rows, rule, record)
    else:
        emails.tell_in_app(uow.session, rows)
    return len(rows)


def _addressed_to(caller):
    teams = list(caller.team_ids())
    return or_(and_(Notification.recipient_type == "user", Notification.recipient_id == caller.id),
               and_(Notification.recipient_type == "team", Notification.recipient_id.in_(teams)))


def _read_by(caller):
    """The notification has been read by the caller."""
    return exists().where(NotificationRead.notification_id == Notification.id, NotificationRead.user_id == caller.id)


def for_caller(session, caller, unread_only: bool = False, limit: int = 50) -> dict:
    if caller.kind != "user":
        return {"items": [], "next_cursor": None}
    read = _read_by(caller)
    query = select(Notification, read.label("read")).where(_addressed_to(caller))
    if unread_only:
        query = query.where(~read)
    rows = session.execute(query.order_by(Notification.created_at.desc()).limit(limit)).all()
    return {"items": [{**_notification_schema.dump(row.Notification), "read": row.read} for row in rows],
            "next_cursor": None}


UNREAD_COUNTED_TO = 50


def unread_count(session, caller) -> int:
    """How many of the caller's notifications are unread, counted up to UNREAD_COUNTED_TO (the header shows "50+"):
    what every page's header needs, without reading and sending the notifications themselves."""
    if caller.kind != "user":
        return 0
    unread = select(Notification.id).where(_addressed_to(caller), ~_read_by(caller)).limit(UNREAD_COUNTED_TO)
    return session.scalar(select(func.count()).select_from(unread.subquery()))


def mark_read(uow, notification_id) -> None:
    caller = uow.caller
    try:
        notification_id = str(uuid.UUID(str(notification_id)))
    except ValueError:
        raise NotFound()
    found = uow.session.execute(select(Notification.id).where(Notification.id == notification_id,
                                                              _addressed_to(caller))).first()
    if found is None:
        raise NotFound()
    uow.session.execute(insert(NotificationRead).values(notification_id=notification_id, user_id=caller.id)
                        .on_conflict_do_nothing())
