"""The header's unread count (services/notifications/logic.unread_count) on a real notifications database: the
caller's own and their teams' notifications, not those read, not others', counted up to 50 ("50+")."""
import uuid

from sqlalchemy.orm import Session

from concord_common.context import SYSTEM, Caller
from services.notifications import logic
from services.notifications.models import Notification, NotificationRead

ME = Caller(kind="user", id="u-me", organisation_id="o-1", teams=({"id": "t-mine", "role": "practitioner"},))
SOMEONE_ELSE = Caller(kind="user", id="u-other", organisation_id="o-1", teams=({"id": "t-theirs", "role": "spoc"},))


def notify(session, recipient_type, recipient_id, n=1) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    session.add_all(Notification(id=i, recipient_type=recipient_type, recipient_id=recipient_id, kind="case.action_set",
                                 title="An action", body="For you", event_id=str(uuid.uuid4())) for i in ids)
    return ids


def test_unread_count_is_the_callers_and_their_teams_unread_ones(notifications_db):
    with Session(notifications_db) as session, session.begin():
        mine = notify(session, "user", ME.id, 3)
        notify(session, "team", "t-mine", 2)
        notify(session, "user", SOMEONE_ELSE.id, 4)
        notify(session, "team", "t-theirs", 5)
        session.flush()
        session.add(NotificationRead(notification_id=mine[0], user_id=ME.id))
        session.add(NotificationRead(notification_id=mine[1], user_id=SOMEONE_ELSE.id))   # not mine to read
    with Session(notifications_db) as session:
        assert logic.unread_count(session, ME) == 4
        assert logic.unread_count(session, SOMEONE_ELSE) == 9
        assert logic.unread_count(session, SYSTEM) == 0 and logic.unread_count(session, Caller()) == 0
        assert logic.unread_count(session, ME) == len(logic.for_caller(session, ME, unread_only=True)["items"])


def test_unread_count_stops_at_fifty(notifications_db):
    with Session(notifications_db) as session, session.begin():
        notify(session, "team", "t-mine", logic.UNREAD_COUNTED_TO + 7)
    with Session(notifications_db) as session:
        assert logic.unread_count(session, ME) == logic.UNREAD_COUNTED_TO == 50
