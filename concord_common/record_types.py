"""Every kind of record Concord keeps, in one place: the record-type registry.

A record type is what events, grants and the audit log call it (`profile`),
the service that owns such records (and their access lists), the word in URLs
(`/api/v1/profiles/{id}`), the family of API-client scopes that reach it
(`profiles:read`, `profiles:write`) and the words people read.

Adding a record type starts here (docs/architecture.md, "Adding a record
type"): the gateway's generic record routes, the audit log, notifications,
sharing and scope checks all read this table.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordType:
    name: str            # profile: in events, grants, the audit log
    service: str         # profiles: the nameko service that owns such records
    path: str            # profiles: /api/v1/<path>/{id}
    scope: str           # profiles: API clients need <scope>:read / <scope>:write
    singular: str        # words for people: "profile" …
    plural: str          # … "profiles"


REGISTRY: tuple[RecordType, ...] = (
    RecordType("profile", service="profiles", path="profiles", scope="profiles",
               singular="profile", plural="profiles"),
    RecordType("family", service="profiles", path="families", scope="profiles",
               singular="family", plural="families"),
    RecordType("case", service="cases", path="cases", scope="cases",
               singular="case", plural="cases"),
)

_BY_NAME = {record_type.name: record_type for record_type in REGISTRY}
_BY_PATH = {record_type.path: record_type for record_type in REGISTRY}
assert len(_BY_NAME) == len(_BY_PATH) == len(REGISTRY), "record type names and paths must be unique"


def by_name(name: str | None) -> RecordType | None:
    """The record type events and grants call `name`, or None for a type nobody owns."""
    return _BY_NAME.get(name)


def by_path(path: str | None) -> RecordType | None:
    """The record type whose URLs start /api/v1/<path>/, or None."""
    return _BY_PATH.get(path)


def paths() -> tuple[str, ...]:
    return tuple(record_type.path for record_type in REGISTRY)


def owning_services() -> tuple[str, ...]:
    """The services that own records (and so apply grants and transfers, and answer audit access checks)."""
    return tuple(sorted({record_type.service for record_type in REGISTRY}))


def owned_by(service: str) -> tuple[RecordType, ...]:
    return tuple(record_type for record_type in REGISTRY if record_type.service == service)


def api_path(record: dict | None) -> str:
    """/api/v1/<path>/<id> of an event's `record` ({"type", "id"})."""
    record = record or {}
    record_type = by_name(record.get("type"))
    return f"/api/v1/{record_type.path if record_type else 'records'}/{record.get('id')}"
