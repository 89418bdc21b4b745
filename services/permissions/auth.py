"""Sign-in, throttling, sessions and two-step verification. Plain functions, no nameko."""
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, true, update

from concord_common import clock
from concord_common.errors import Conflict, MfaRequired, TooManyRequests, Unauthenticated, load_or_fail
from services.permissions import clients, mfa, passwords, views
from services.permissions.access import actor_for
from services.permissions.models import ApiClient, ClientToken, LoginFailure, Organisation, User, UserSession
from services.permissions.principals import invalidate
from services.permissions.schema_parts import utc
from services.permissions.schemas import MfaConfirmSchema, SignInSchema
from services.permissions.tokens import NOT_SIGNED_IN, new_token, token_hash

BAD_CREDENTIALS = "The username or password is incorrect."
# last_seen_at is rewritten at most this often: resolve_token runs on every request.
LAST_SEEN_GRANULARITY = timedelta(seconds=15)


@dataclass
class Outcome:
    """A result, or an error to raise only after the unit of work has committed
    (a failed sign-in must still record the failure and its audit event)."""
    value: dict | None = None
    error: Exception | None = None

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


# -- throttling ------------------------------------------------------------------
def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def username_locked_until(session, settings, username_lower: str, now: datetime) -> datetime | None:
    """Locked while the latest of `threshold` failures within one window is less than `lockout_duration` old."""
    recent = session.scalars(
        select(LoginFailure.at).where(LoginFailure.username_lower == username_lower,
                                      LoginFailure.at > now - settings.lockout_window - settings.lockout_duration)
        .order_by(LoginFailure.at.desc()).limit(settings.lockout_threshold)).all()
    if len(recent) < settings.lockout_threshold or recent[0] - recent[-1] > settings.lockout_window:
        return None
    until = recent[0] + settings.lockout_duration
    return until if until > now else None


def ip_blocked_until(session, settings, source_ip: str | None, now: datetime) -> datetime | None:
    if not source_ip:
        return None
    recent = session.scalars(
        select(LoginFailure.at).where(LoginFailure.source_ip == source_ip,
                                      LoginFailure.at > now - settings.ip_throttle_window)
        .order_by(LoginFailure.at.desc()).limit(settings.ip_throttle_threshold)).all()
    if len(recent) < settings.ip_throttle_threshold:
        return None
    return recent[-1] + settings.ip_throttle_window


def record_failure(uow, settings, username: str, source_ip: str | None, user: User | None, reason: str) -> None:
    """A failed proof of who someone is (a sign-in, a code, a current password): counted towards the
    lockout and audited; `user.locked_out` too if this failure locks the account."""
    now, username_lower = clock.now(), username.lower()
    uow.session.add(LoginFailure(username_lower=username_lower, source_ip=source_ip, at=now))
    details = {"record": views.record("user", user.id if user else None), "username": username,
               "source_ip": source_ip}
    uow.add_event("user.login_failed", {**details, "reason": reason})
    locked_until = username_locked_until(uow.session, settings, username_lower, now)
    if locked_until is not None:
        uow.add_event("user.locked_out", {**details, "locked_until": utc(locked_until)})


def one_attempt_at_a_time(session, settings, username: str, source_ip: str | None = None) -> None:
    """Serialise attempts per username (until commit), so parallel guesses cannot all get in under the
    lockout threshold before any of their failures is counted; TooManyRequests while locked out."""
    username_lower = username.lower()
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("sign-in:" + username_lower))))
    now = clock.now()
    for blocked_until in (username_locked_until(session, settings, username_lower, now),
                          ip_blocked_until(session, settings, source_ip, now)):
        if blocked_until is not None:
            wait = _seconds_until(blocked_until, now)
            raise TooManyRequests(f"Too many failed sign-in attempts. Try again in {math.ceil(wait / 60)} "
                                  f"minute(s).", retry_after=wait)


def _refuse(uow, settings, attempt: dict, user: User | None, reason: str, error: Exception) -> Outcome:
    record_failure(uow, settings, attempt["username"], attempt["source_ip"], user, reason)
    return Outcome(error=error)


# -- sign-in -----------------------------------------------------------------------
def authenticate(uow, settings, username, password, otp=None, source_ip=None, kind="api") -> Outcome:
    attempt = load_or_fail(SignInSchema(), {"username": username, "password": password, "otp": otp,
                                            "source_ip": source_ip, "kind": kind})
    attempt["username"] = attempt["username"].strip()
    username_lower, session = attempt["username"].lower(), uow.session
    one_attempt_at_a_time(session, settings, attempt["username"], attempt["source_ip"])

    user = session.scalar(select(User).where(func.lower(User.username) == username_lower))
    password_ok = passwords.verify_password(user.password_hash if user else None, attempt["password"])
    if user is None or not password_ok or user.disabled:
        reason = "unknown_user" if user is None else ("wrong_password" if not password_ok else "disabled")
        return _refuse(uow, settings, attempt, user, reason, Unauthenticated(BAD_CREDENTIALS))
    if user.mfa_enabled:
        if not attempt["otp"]:
            return Outcome(error=MfaRequired("Enter the 6-digit code from your authenticator app."))
        step = mfa.accepted_step(user.mfa_secret, attempt["otp"], user.mfa_last_step)
        if step is None:      # wrong, or already used (a replay is refused like a wrong code)
            return _refuse(uow, settings, attempt, user, "wrong_otp",
                           MfaRequired("That code is not correct. Enter the current code from your app."))
        user.mfa_last_step = step

    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(attempt["password"])
    session.execute(delete(LoginFailure).where(LoginFailure.username_lower == username_lower))
    token, opened = open_session(uow, settings, user, attempt["kind"], attempt["source_ip"])
    uow.add_event("user.login", {"record": views.record("user", user.id), "username": user.username,
                                 "source_ip": attempt["source_ip"], "reason": None, "session_id": opened.id,
                                 "session_kind": opened.kind})
    return Outcome({"token": token, "expires_at": utc(opened.expires_at), "csrf_token": opened.csrf_token,
                    "user": views.me(session, user)})


def open_session(uow, settings, user: User, kind: str, source_ip: str | None) -> tuple[str, UserSession]:
    now, token = clock.now(), new_token()
    opened = UserSession(id=str(uuid.uuid4()), token_hash=token_hash(token), user_id=user.id, kind=kind,
                         csrf_token=new_token() if kind == "web" else None, created_at=now, last_seen_at=now,
                         expires_at=now + settings.session_absolute, source_ip=source_ip)
    uow.session.add(opened)
    uow.session.flush()
    return token, opened


def resolve_token(uow, settings, token) -> dict:
    """The principal a bearer token stands for; Unauthenticated if it stands for nobody (any more)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise Unauthenticated(NOT_SIGNED_IN)
    digest, now, session = token_hash(token), clock.now(), uow.session
    row = session.execute(
        select(UserSession, User, Organisation.require_mfa).join(User, User.id == UserSession.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(UserSession.token_hash == digest)).first()
    if row is None:
        return clients.principal(session, digest, now)
    opened, user = row.UserSession, row.User
    if (opened.ended_at is not None or now >= opened.expires_at or user.disabled
            or now - opened.last_seen_at > settings.session_idle):
        raise Unauthenticated(NOT_SIGNED_IN)
    if now - opened.last_seen_at > LAST_SEEN_GRANULARITY:
        opened.last_seen_at = now
    return {"kind": "user", "id": user.id, "username": user.username, "display_name": user.display_name,
            "organisation_id": user.organisation_id, "teams": views.teams_of(session, user.id),
            "roles": list(user.roles), "scopes": None, "session_id": opened.id, "session_kind": opened.kind,
            "csrf_token": opened.csrf_token, "expires_at": utc(opened.expires_at),
            "mfa_enrolment_required": bool(row.require_mfa and not user.mfa_enabled)}


def end_session(uow, token) -> None:
    """Sign out: the token stops working at once. Unknown or already ended tokens: nothing to do."""
    if not isinstance(token, str) or not token:
        return None
    opened = uow.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if opened is None or opened.ended_at is not None:
        return None
    opened.ended_at, opened.end_reason = clock.now(), "logout"
    uow.add_event("user.logout", {"record": views.record("user", opened.user_id), "session_id": opened.id})
    invalidate(uow, [opened.user_id], [opened.id])
    return None


def me(session, caller) -> dict:
    actor = actor_for(session, caller, allow_mfa_pending=True, allow_clients=True)
    if actor.kind == "user":
        return views.me(session, session.get(User, actor.id))
    if actor.kind == "client":
        client = session.get(ApiClient, actor.id)
        return {"kind": "client", "id": client.id, "client_id": client.client_id, "display_name": client.name,
                "organisation_id": client.organisation_id, "teams": [], "roles": [],
                "scopes": list(caller.scopes or ())}
    return {"kind": "system", "id": actor.id, "display_name": caller.display_name, "organisation_id": None,
            "teams": [], "roles": ["system_admin"]}


# -- two-step verification -----------------------------------------------------------
def _signed_in_user(session, caller, lock: bool = False) -> User:
    actor = actor_for(session, caller, allow_mfa_pending=True)
    if actor.kind != "user":
        raise Unauthenticated("Only a signed-in person can set up two-step verification.")
    if not lock:
        return session.get(User, actor.id)
    return session.scalar(select(User).where(User.id == actor.id).with_for_update()
                          .execution_options(populate_existing=True))


def _enrolment(user: User) -> dict:
    return {"secret": user.mfa_secret, "otpauth_uri": mfa.provisioning_uri(user.mfa_secret, user.username)}


def enrol_mfa(uow) -> dict:
    """Start (or start again) setting up two-step verification: a new secret, not in use until confirmed."""
    user = _signed_in_user(uow.session, uow.caller, lock=True)
    if user.mfa_enabled:
        raise Conflict("Two-step verification is already set up for this account.")
    user.mfa_secret, user.mfa_last_step = mfa.new_secret(), None
    uow.add_event("user.mfa_enrolled", {"record": views.record("user", user.id)})
    return _enrolment(user)


def pending_mfa(session, caller) -> dict | None:
    """The secret being set up (enrolled, not yet confirmed), to show again; None if there is none.
    Only reads: the web page shows it on GET."""
    user = _signed_in_user(session, caller)
    if user.mfa_enabled or not user.mfa_secret:
        return None
    return _enrolment(user)


def confirm_mfa(uow, payload, token=None) -> dict:
    """Turn two-step verification on with a first code. Every other session of the user ends: one
    opened before (by whoever knew the password) must not become a full session without a code.
    `token` is the confirming session's own; without it every session ends, that one too."""
    user = _signed_in_user(uow.session, uow.caller, lock=True)
    if user.mfa_enabled:
        raise Conflict("Two-step verification is already set up for this account.")
    if not user.mfa_secret:
        raise Conflict("Start setting up two-step verification first.")
    step = None

    def code_matches(data):
        nonlocal step
        if "otp" not in data:
            return {}
        step = mfa.accepted_step(user.mfa_secret, data["otp"], user.mfa_last_step)
        return {} if step is not None else {"otp": ["That code is not correct. Enter the current code from your app."]}

    load_or_fail(MfaConfirmSchema(), payload, code_matches)
    user.mfa_enabled, user.mfa_last_step = True, step
    ended = _end_other_sessions(uow, user, token, "mfa_enabled")
    uow.add_event("user.mfa_enabled", {"record": views.record("user", user.id), "sessions_ended": len(ended)})
    invalidate(uow, [user.id], ended)
    return {"mfa_enabled": True}


def _end_other_sessions(uow, user: User, token, reason: str) -> list[str]:
    keep = token_hash(token) if isinstance(token, str) and token else None
    return list(uow.session.scalars(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
                                  UserSession.token_hash != keep if keep else true())
        .values(ended_at=clock.now(), end_reason=reason).returning(UserSession.id)))


# -- housekeeping ----------------------------------------------------------------------
def purge_stale(uow, settings) -> None:
    """Drop sign-in failures no throttle looks at any more, and expired client tokens."""
    now = clock.now()
    keep = max(settings.lockout_window + settings.lockout_duration, settings.ip_throttle_window)
    uow.session.execute(delete(LoginFailure).where(LoginFailure.at < now - keep - timedelta(hours=1)))
    uow.session.execute(delete(ClientToken).where(ClientToken.expires_at < now - timedelta(days=1)))
