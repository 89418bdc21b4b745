"""The caller context: who is asking, on whose behalf, under which request id.

On the wire it travels signed (concord_common.trust) in the AMQP header
`nameko.caller`; inside a worker, once verified, `data["caller"]` holds the
Caller's JSON, and it is put in a green-local for log lines while a worker runs.
"""
import json
import threading
import uuid
from dataclasses import asdict, dataclass, field

CALLER_KEY = "caller"
REQUEST_ID_KEY = "request_id"
IDEMPOTENCY_KEY = "idempotency_key"      # only on a write's calls from the gateway
ROUTE_KEY = "route"                      # "GET /api/v1/profiles/<profile_id>": the gateway route served

_current = threading.local()  # green-local once eventlet has monkey-patched


@dataclass(frozen=True)
class Caller:
    """Identity of whoever made the request (a user, an API client or the system)."""
    kind: str = "anonymous"          # user | client | system | anonymous
    id: str | None = None
    organisation_id: str | None = None
    teams: tuple = field(default_factory=tuple)   # ({"id", "role"}, ...)
    roles: tuple = field(default_factory=tuple)
    display_name: str | None = None
    scopes: tuple | None = None      # API clients only: what their token allows
    mfa_pending: bool = False        # a user whose organisation requires MFA and who has not set it up

    def to_json(self) -> str:
        data = asdict(self)
        data["teams"] = list(self.teams)
        data["roles"] = list(self.roles)
        data["scopes"] = list(self.scopes) if self.scopes is not None else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> "Caller":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            kind=data.get("kind", "anonymous"),
            id=data.get("id"),
            organisation_id=data.get("organisation_id"),
            teams=tuple(data.get("teams") or ()),
            roles=tuple(data.get("roles") or ()),
            display_name=data.get("display_name"),
            scopes=tuple(data["scopes"]) if data.get("scopes") is not None else None,
            mfa_pending=bool(data.get("mfa_pending")),
        )

    def team_ids(self) -> set:
        return {team.get("id") for team in self.teams}

    def team_role(self, team_id: str) -> str | None:
        for team in self.teams:
            if team.get("id") == team_id:
                return team.get("role")
        return None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def summary(self) -> dict:
        """The compact form written into events and audit entries."""
        return {"kind": self.kind, "id": self.id, "organisation_id": self.organisation_id,
                "teams": [team.get("id") for team in self.teams]}


SYSTEM = Caller(kind="system", id="system", display_name="Concord")


def new_request_id() -> str:
    return uuid.uuid4().hex


def caller_from_context_data(data: dict) -> Caller:
    return Caller.from_json(data.get(CALLER_KEY))


def set_current(caller: Caller | None, request_id: str | None) -> None:
    _current.caller = caller
    _current.request_id = request_id


def clear_current() -> None:
    _current.caller = None
    _current.request_id = None


def current_caller() -> Caller | None:
    return getattr(_current, "caller", None)


def current_request_id() -> str | None:
    return getattr(_current, "request_id", None)
