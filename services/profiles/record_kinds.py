"""What profiles and families share: the two record kinds this service owns and the check that a
profile named in a request is a person the caller may see. (Who leads a new record: records.owning_team.)"""
from concord_common.access import records
from concord_common.errors import Forbidden, NotFound, ValidationFailed
from services.profiles.answers import display_name
from services.profiles.models import Family, Profile

PROFILE = records.RecordKind(
    record_type="profile", table=Profile.__table__, display_name=display_name,
    is_person=lambda row: row.kind == "person",
    consent_refused=lambda row: row.kind == "person" and row.consent_status == "refused")
FAMILY = records.RecordKind(record_type="family", table=Family.__table__,
                            display_name=lambda row: row.name)


def invalid_field(field, message) -> ValidationFailed:
    """The 422 for one field's one problem."""
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def require_visible_person(session, caller, profile_id, field) -> None:
    """A profile named in `field` (a family member, a person linked to premises) must be a person the caller
    may view; otherwise the 422 says so without telling whether it exists."""
    try:
        row, access, _ = records.load(session, PROFILE, profile_id)
        records.require(caller, access, "view")
    except (NotFound, Forbidden):
        raise invalid_field(field, "There is no such profile that you can see.")
    if row.kind != "person":
        raise invalid_field(field, "That profile is not a person.")
