"""Who gets a notification's e-mail: the active members' addresses, for the notifications service only.

The notifications service names people and teams (the recipients of its notifications); the answer holds
only those who are not disabled and have an e-mail address (docs/notifications.md). Only the notifications
service acting as itself may ask (service.py restricts the signed system caller to it; a person, whatever
their roles, is refused here).
"""
import uuid

from sqlalchemy import and_, select

from concord_common.errors import Forbidden, ValidationFailed
from services.permissions.models import Membership, User

MAX_IDS = 1000


def _ids(values, field: str) -> list[str]:
    if not isinstance(values, (list, tuple)) or len(values) > MAX_IDS:
        raise ValidationFailed(f"`{field}` must be a list of at most {MAX_IDS} ids.", {field: ["A list of ids."]})
    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue                # no such person or team: nobody to tell
    return sorted(set(valid))


def email_recipients(session, caller, user_ids, team_ids) -> dict:
    """{"users": [{"id", "email"}], "teams": {team_id: [{"id", "email"}]}}: active people with an address."""
    if caller.kind != "system":
        raise Forbidden("Only the notifications service may ask for e-mail addresses.")
    user_ids, team_ids = _ids(user_ids, "user_ids"), _ids(team_ids, "team_ids")
    reachable = and_(User.disabled.is_(False), User.email.is_not(None), User.email != "")
    users = []
    if user_ids:
        users = [{"id": row.id, "email": row.email} for row in session.execute(
            select(User.id, User.email).where(User.id.in_(user_ids), reachable).order_by(User.id))]
    teams: dict[str, list] = {team_id: [] for team_id in team_ids}
    if team_ids:
        for row in session.execute(select(Membership.team_id, User.id, User.email)
                                   .join(User, User.id == Membership.user_id)
                                   .where(Membership.team_id.in_(team_ids), reachable)
                                   .order_by(Membership.team_id, User.id)):
            teams[str(row.team_id)].append({"id": row.id, "email": row.email})
    return {"users": users, "teams": teams}
