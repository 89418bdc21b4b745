"""Password hashing (argon2id) and the password policy.

argon2 is ~0.1 s of CPU by design. Under eventlet it would stall every other
worker of the process for that long, so the work runs in a real OS thread
(argon2-cffi releases the GIL) whenever the process is monkey-patched.
"""
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"

_hasher = PasswordHasher()   # argon2id with the library's (RFC 9106 "low memory") parameters


def _off_hub(fn, *args):
    try:
        from eventlet import patcher, tpool
    except ImportError:  # pragma: no cover - eventlet is always installed here
        return fn(*args)
    if not patcher.is_monkey_patched("thread"):
        return fn(*args)
    return tpool.execute(fn, *args)


def hash_password(password: str) -> str:
    return _off_hub(_hasher.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash: unknown users cost as much as known ones."""
    try:
        matched = _off_hub(_hasher.verify, password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no user has this password; it only costs the same time")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset:
    """The breached-password list, lower-cased; loaded once per process."""
    with open(COMMON_PASSWORDS_FILE, encoding="utf-8") as handle:
        return frozenset(line.rstrip("\n").lower() for line in handle
                         if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str | None = None, min_length: int = 12) -> list[str]:
    """What is wrong with `password` as a new password (empty if nothing)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    if password.lower() in common_passwords():
        problems.append("This password is too common: it appears in lists of breached passwords.")
    if username and password.lower() == username.lower():
        problems.append("The password must not be the same as the username.")
    return problems
