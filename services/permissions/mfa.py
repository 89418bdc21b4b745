"""Time-based one-time passwords (RFC 6238) for two-step sign-in."""
import pyotp

from concord_common import clock

ISSUER = "Concord"
DRIFT_STEPS = 1          # the code just before or after the current one is accepted too (clock drift)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def accepted_step(secret: str | None, otp, last_step: int | None = None) -> int | None:
    """The time step `otp` is the code of (the current one, or one step either side), if that step is
    later than `last_step`, the one last accepted; None otherwise. A code is thus good once (RFC 6238
    §5.2): its replay, or any code of an earlier step, is refused like a wrong one."""
    if not secret or not isinstance(otp, str):
        return None
    code = otp.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), clock.now()
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def otp_is_valid(secret: str | None, otp) -> bool:
    """True if `otp` is the current code, or the one just before or after (replays not considered)."""
    return accepted_step(secret, otp) is not None
