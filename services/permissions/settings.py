"""The permissions service's policy knobs, read once from its config.yaml."""
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Settings:
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    lockout_threshold: int = 5
    lockout_window: timedelta = timedelta(minutes=15)
    lockout_duration: timedelta = timedelta(minutes=15)
    ip_throttle_threshold: int = 50
    ip_throttle_window: timedelta = timedelta(minutes=15)
    client_token_lifetime: timedelta = timedelta(seconds=900)
    password_min_length: int = 12

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        def number(key, default):
            value = config.get(key)
            return default if value in (None, "") else int(value)

        return cls(
            session_idle=timedelta(minutes=number("SESSION_IDLE_MINUTES", 30)),
            session_absolute=timedelta(hours=number("SESSION_ABSOLUTE_HOURS", 12)),
            lockout_threshold=number("LOCKOUT_THRESHOLD", 5),
            lockout_window=timedelta(minutes=number("LOCKOUT_WINDOW_MINUTES", 15)),
            lockout_duration=timedelta(minutes=number("LOCKOUT_MINUTES", 15)),
            ip_throttle_threshold=number("IP_THROTTLE_THRESHOLD", 50),
            ip_throttle_window=timedelta(minutes=number("IP_THROTTLE_WINDOW_MINUTES", 15)),
            client_token_lifetime=timedelta(seconds=number("CLIENT_TOKEN_SECONDS", 900)),
            password_min_length=number("PASSWORD_MIN_LENGTH", 12),
        )
