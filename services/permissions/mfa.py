"""Time-based one-time passwords (RFC 6238) for two-step sign-in."""
import pyotp

from concord_common import clock

ISSUER = "Concord"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def otp_is_valid(secret: str | None, otp) -> bool:
    """True if `otp` is the current code, or the one just before or after (clock drift)."""
    if not secret or not isinstance(otp, str):
        return False
    code = otp.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    return pyotp.TOTP(secret).verify(code, for_time=clock.now(), valid_window=1)
