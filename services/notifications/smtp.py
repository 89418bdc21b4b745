"""Talking to the mail server: the SMTP_URL setting, and one connection reused for a batch of messages.

    smtp://host:25                         plain SMTP (a local catcher; a relay on a trusted network)
    smtp://user:pass@host:587?starttls=1   STARTTLS required, then AUTH (user and password URL-encoded)
    smtp+starttls://user:pass@host:587     the same, said in the scheme
    smtps://user:pass@host:465             TLS from the first byte (implicit TLS), then AUTH

Query options: `starttls=1` (as above), `cafile=/path/ca.pem` (trust this CA instead of the system's, e.g. an
internal relay), `timeout=30` (seconds for connecting and each command, default 30). With STARTTLS or smtps the
server's certificate is always verified; credentials are never sent before TLS unless the URL is plain smtp://
(then AUTH happens in the clear: only for a relay on the same host or network).
"""
import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from concord_common.errors import ValidationFailed

SCHEMES = ("smtp", "smtp+starttls", "smtps")
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str                  # none | starttls | implicit
    username: str | None
    password: str | None
    cafile: str | None
    timeout: float

    def describe(self) -> str:
        """For logs: never the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.host}:{self.port} ({self.tls})"


def parse_url(url: str) -> SmtpSettings:
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValidationFailed("SMTP_URL must look like smtp://user:pass@host:port (or smtp+starttls://, smtps://).",
                               {"SMTP_URL": [f"Use one of {', '.join(s + '://' for s in SCHEMES)} and a host."]})
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}[parts.scheme]
    if tls == "none" and query.get("starttls", "").lower() in TRUE:
        tls = "starttls"
    port = parts.port or {"none": 25, "starttls": 587, "implicit": 465}[tls]
    return SmtpSettings(host=parts.hostname, port=port, tls=tls,
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None,
                        cafile=query.get("cafile"), timeout=float(query.get("timeout") or 30))


class Mailer:
    """One SMTP connection, opened on the first message and kept for the rest of a batch."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.tls == "implicit":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.tls == "starttls":
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            _quit(smtp)
            raise
        return smtp

    def send(self, message) -> None:
        """Send one EmailMessage; raises (smtplib.SMTPException, OSError) if the server refuses or is away."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except BaseException:
            self.close()            # a broken or confused connection: the next message opens a new one
            raise
        if refused:                 # some recipients refused (we send one recipient per message: all of it)
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self._smtp is not None:
            _quit(self._smtp)
            self._smtp = None


def _quit(smtp) -> None:
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass
