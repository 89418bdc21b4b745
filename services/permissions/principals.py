"""Changes that alter or end someone's principal (who the gateway thinks they are).

Each such change emits `principal.invalidated` in its own unit of work; the
service publishes it before replying (service.PermissionsService._write), so
every gateway replica has dropped its cached copy by the time the caller hears back.
"""
from sqlalchemy import update

from concord_common import clock
from services.permissions.models import UserSession

PRINCIPAL_INVALIDATED = "principal.invalidated"


def invalidate(uow, user_ids, session_ids=()) -> None:
    uow.add_event(PRINCIPAL_INVALIDATED, {"user_ids": sorted(set(user_ids)), "session_ids": sorted(session_ids)})


def end_user_sessions(uow, user_ids, reason: str) -> list[str]:
    """End every open session of these users; returns the ids ended."""
    if not user_ids:
        return []
    return list(uow.session.scalars(
        update(UserSession).where(UserSession.user_id.in_(list(user_ids)), UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason).returning(UserSession.id)))
