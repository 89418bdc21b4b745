"""Who is told what, when something happens to a record they care about. No nameko here.

Each rule turns one event into notifications for a person or a whole team.
"""
import uuid

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert

from concord_common.errors import NotFound
from services.notifications.models import Notification, NotificationRead
from services.notifications.schemas import NotificationSchema

CONSUMER = "notifications.tell"
_schema = NotificationSchema()
PATHS = {"profile": "profiles", "family": "families", "case": "cases"}


def _link(record) -> str:
    return f"/api/v1/{PATHS.get(record.get('type'), 'records')}/{record.get('id')}"


def _rules(event_type: str, data: dict) -> list[tuple[str, str, str, str]]:
    """(recipient type, recipient id, title, body) for each notification an event causes."""
    record = data.get("record") or {}
    if event_type == "access_request.requested":
        return [("team", (data.get("owner") or {}).get("team_id"), "Access requested",
                 f"Someone has asked for access to a record your team leads: {data.get('reason', '')}")]
    if event_type in ("access_request.approved", "access_request.denied"):
        outcome = "approved" if event_type.endswith("approved") else "denied"
        detail = f" ({data.get('level')} access)" if outcome == "approved" else ""
        return [("user", data.get("requester_id"), f"Access request {outcome}",
                 f"Your request for access to {_link(record)} was {outcome}{detail}.")]
    if event_type == "record.transfer_requested":
        return [("team", data.get("to_team_id"), "A record is being transferred to your team",
                 f"Accept or reject the transfer of {_link(record)}.")]
    if event_type in ("record.transferred", "record.transfer_rejected"):
        outcome = "accepted" if event_type == "record.transferred" else "rejected"
        return [("team", data.get("from_team_id"), f"Transfer {outcome}",
                 f"The transfer of {_link(record)} was {outcome}.")]
    if event_type.endswith(".break_glass"):
        return [("team", (data.get("owner") or {}).get("team_id"), "Emergency access used",
                 f"Someone used emergency (break-glass) access to {data.get('display_name') or _link(record)}: "
                 f"{data.get('reason', '')}")]
    return []


def tell(uow, event: dict) -> int:
    """Store the notifications an event causes, once per event."""
    if uow.already_processed(event["id"], CONSUMER):
        return 0
    data = event.get("data") or {}
    record = data.get("record") or {}
    made = 0
    for recipient_type, recipient_id, title, body in _rules(event["type"], data):
        if not recipient_id:
            continue
        uow.session.add(Notification(id=str(uuid.uuid4()), recipient_type=recipient_type,
                                     recipient_id=recipient_id, kind=event["type"], title=title, body=body,
                                     record_type=record.get("type"), record_id=record.get("id"),
                                     event_id=event["id"]))
        made += 1
    return made


def _mine(caller):
    teams = list(caller.team_ids())
    return or_(and_(Notification.recipient_type == "user", Notification.recipient_id == caller.id),
               and_(Notification.recipient_type == "team", Notification.recipient_id.in_(teams)))


def for_caller(session, caller, unread_only: bool = False, limit: int = 50) -> dict:
    if caller.kind != "user":
        return {"items": [], "next_cursor": None}
    read = exists().where(NotificationRead.notification_id == Notification.id,
                          NotificationRead.user_id == caller.id)
    query = select(Notification, read.label("read")).where(_mine(caller))
    if unread_only:
        query = query.where(~read)
    rows = session.execute(query.order_by(Notification.created_at.desc()).limit(limit)).all()
    return {"items": [{**_schema.dump(row.Notification), "read": row.read} for row in rows], "next_cursor": None}


def mark_read(uow, caller, notification_id) -> None:
    try:
        notification_id = str(uuid.UUID(str(notification_id)))
    except ValueError:
        raise NotFound()
    found = uow.session.execute(select(Notification.id).where(Notification.id == notification_id,
                                                              _mine(caller))).first()
    if found is None:
        raise NotFound()
    uow.session.execute(insert(NotificationRead).values(notification_id=notification_id, user_id=caller.id)
                        .on_conflict_do_nothing())
