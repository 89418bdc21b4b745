"""The one source of "now" for domain logic, so tests can move time forward.

Services run in the test process in integration tests, so `advance()` there
moves the clock every service sees (session expiry, lockouts, grant expiry).
"""
from datetime import datetime, timedelta, timezone

_offset = timedelta()


def now() -> datetime:
    return datetime.now(timezone.utc) + _offset


def advance(delta: timedelta) -> None:
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta()
