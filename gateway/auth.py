"""Who is calling: bearer tokens and web session cookies, resolved to a Caller.

The permissions service is the authority (`resolve_token`). Each gateway
replica caches answers for PRINCIPAL_CACHE_SECONDS so a request costs no extra
round trip; the permissions service broadcasts `principal.invalidated` (and
publishes it before it answers the change that caused it), and every replica
drops those entries at once — a removed member, a disabled user or an ended
session is refused on the very next request.
"""
import hashlib
import hmac
import secrets
import threading
import time

from nameko.extensions import DependencyProvider

from concord_common.context import Caller
from concord_common.errors import Forbidden, Unauthenticated
from concord_common.rpc import RpcClient, ServiceRpc

SESSION_COOKIE = "concord_session"
CSRF_COOKIE = "concord_csrf"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# What a user who must still enrol in MFA may do with their session.
MFA_ENROLMENT_PATHS = {"/api/v1/me", "/api/v1/me/mfa", "/api/v1/me/mfa/confirm", "/api/v1/sessions/current",
                       "/", "/sign-out", "/mfa"}


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_secret(a: str | None, b: str | None) -> bool:
    # compare bytes: compare_digest refuses str with non-ASCII characters (a forged token would be a 500)
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def caller_from_principal(principal: dict) -> Caller:
    return Caller(kind=principal["kind"], id=principal["id"], organisation_id=principal.get("organisation_id"),
                  teams=tuple({"id": team["id"], "role": team["role"]} for team in principal.get("teams") or ()),
                  roles=tuple(principal.get("roles") or ()), display_name=principal.get("display_name"),
                  scopes=tuple(principal["scopes"]) if principal.get("scopes") is not None else None,
                  mfa_pending=bool(principal.get("mfa_enrolment_required")))


class PrincipalCache:
    """token hash -> (principal, cached at); bounded; dropped by user id or session id."""

    def __init__(self, ttl: float, max_entries: int = 50_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[dict, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, cached_at = entry
        if time.monotonic() - cached_at > self.ttl:
            self._entries.pop(key, None)
            return None
        return principal

    def put(self, key: str, principal: dict) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()          # rare; a cold cache only costs round trips
            self._entries[key] = (principal, time.monotonic())

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def invalidate(self, user_ids=(), session_ids=(), client_ids=(), everything=False) -> int:
        with self._lock:
            if everything:
                dropped = len(self._entries)
                self._entries.clear()
                return dropped
            doomed = [key for key, (principal, _) in self._entries.items()
                      if (principal.get("kind") == "user" and principal.get("id") in user_ids)
                      or principal.get("session_id") in session_ids
                      or (principal.get("kind") == "client" and principal.get("id") in client_ids)]
            for key in doomed:
                self._entries.pop(key, None)
            return len(doomed)


class Authentication:
    """What a route sees as `self.auth`."""

    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self.principal: dict | None = None
        self.token: str | None = None

    def _resolve(self, token: str) -> dict:
        key = token_key(token)
        principal = self._provider.cache.get(key)
        if principal is None:
            remote = RpcClient(self._provider.remote, self._worker_ctx)
            principal = remote.call("permissions", "resolve_token", token)
            self._provider.cache.put(key, principal)
        return principal

    def credentials(self, request) -> tuple[str | None, bool]:
        """(token, from_cookie). A bearer header wins over a cookie."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthenticated("Send `Authorization: Bearer <token>`.")
            return value.strip(), False
        return request.cookies.get(SESSION_COOKIE), True

    def require(self, request, scope: str | None = None, allow_clients: bool = False) -> dict:
        """Authenticate the request or raise; sets the caller for every RPC call that follows."""
        token, from_cookie = self.credentials(request)
        if not token:
            raise Unauthenticated("Sign in, or send `Authorization: Bearer <token>`.")
        principal = self._resolve(token)
        if from_cookie and request.method in UNSAFE_METHODS:
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
            if not same_secret(sent, principal.get("csrf_token")):
                raise Forbidden("The form has expired or did not come from Concord. Go back and try again.")
        if principal["kind"] == "client":
            if not allow_clients:
                raise Forbidden("API clients cannot use this; it is for signed-in people.")
            if scope and scope not in (principal.get("scopes") or ()):
                raise Forbidden(f"This API client's token does not have the `{scope}` scope.")
        elif principal.get("mfa_enrolment_required") and request.path not in MFA_ENROLMENT_PATHS:
            raise Forbidden("Your organisation requires two-factor authentication: set it up first "
                            "(POST /api/v1/me/mfa).")
        self.principal, self.token = principal, token
        from concord_common.service import RequestContext
        RequestContext(self._worker_ctx).authenticate(caller_from_principal(principal))
        return principal

    def optional(self, request) -> dict | None:
        """The signed-in principal for a page that also works signed out."""
        try:
            return self.require(request)
        except (Unauthenticated, Forbidden):
            return None

    def forget(self, token: str) -> None:
        self._provider.cache.drop(token_key(token))

    def invalidate(self, data: dict) -> int:
        return self._provider.invalidate(data)


class Authenticator(DependencyProvider):
    remote = ServiceRpc()      # its own client for resolve_token (same reply queue as the service's)

    def setup(self):
        config = self.container.config
        self.cache = PrincipalCache(float(config.get("PRINCIPAL_CACHE_SECONDS", 30)))

    def invalidate(self, data: dict) -> int:
        return self.cache.invalidate(user_ids=set(data.get("user_ids") or ()),
                                     session_ids=set(data.get("session_ids") or ()),
                                     client_ids=set(data.get("client_ids") or ()),
                                     everything=bool(data.get("everything")))

    def get_dependency(self, worker_ctx):
        return Authentication(self, worker_ctx)
