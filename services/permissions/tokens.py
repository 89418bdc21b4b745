"""Bearer tokens: 256 random bits; only their SHA-256 is stored, so a copy of the database signs nobody in."""
import hashlib
import secrets

NOT_SIGNED_IN = "The token is not valid or has expired. Sign in again."


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
