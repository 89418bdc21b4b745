"""Profiles domain logic: plain functions over a unit of work, no nameko here."""
import logging
import uuid

from concord_common.errors import NotFound, load_or_fail
from services.profiles.models import Profile
from services.profiles.schemas import PersonCreateSchema, ProfileSchema

log = logging.getLogger(__name__)

_create_schema = PersonCreateSchema()
_profile_schema = ProfileSchema()


def _valid_uuid(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound()


def create_profile(uow, payload: dict) -> dict:
    data = load_or_fail(_create_schema, payload)
    profile = Profile(id=str(uuid.uuid4()), created_by=uow.caller.id if uow.caller else None, version=1, **data)
    uow.session.add(profile)
    uow.session.flush()
    uow.session.refresh(profile)
    body = _profile_schema.dump(profile)
    uow.add_event("profile.created", {"record": {"type": "profile", "id": profile.id}, "profile": body})
    log.info("profile created", extra={"fields": {"profile_id": profile.id}})
    return body


def get_profile(session, profile_id) -> dict:
    profile = session.get(Profile, _valid_uuid(profile_id))
    if profile is None:
        raise NotFound()
    return _profile_schema.dump(profile)
