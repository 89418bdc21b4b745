"""A local mail catcher: an SMTP server (aiosmtpd) that keeps every message it accepts as a .eml file.

`make run` starts one (supervised, as `mailcatcher`) on 127.0.0.1:1025 and points the notifications service at it
(SMTP_URL=smtp://127.0.0.1:1025); a developer reads the mail in var/mail/ (each file opens in any mail program,
or `less`). The tests start it too, as a real server in its own process, refusing or with STARTTLS and AUTH:

    python -m concord_common.mailcatcher --port 1025 --dir var/mail
        [--auth user:password --tls-cert cert.pem --tls-key key.pem]   STARTTLS required, then AUTH

While a file named `.refuse` exists in the directory, every message is answered 451 (try again later), as a
mail server that is overloaded or greylisting does.
"""
import argparse
import ssl
import sys
import time
import uuid
from pathlib import Path

REFUSE_FLAG = ".refuse"


class Keeper:
    """aiosmtpd handler: each message into the directory, unless refusing."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        if (self.directory / REFUSE_FLAG).exists():
            return "451 4.3.0 Not now: try again later"
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / (name + ".part")
        content = envelope.original_content or envelope.content
        partial.write_bytes(content if isinstance(content, bytes) else content.encode())
        partial.rename(self.directory / name)           # a reader never sees half a message
        return "250 Message accepted for delivery"


def _authenticator(username: str, password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == username \
            and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return check


def controller(directory: Path, host: str = "127.0.0.1", port: int = 1025, auth: str | None = None,
               tls_cert: str | None = None, tls_key: str | None = None):
    from aiosmtpd.controller import Controller

    directory.mkdir(parents=True, exist_ok=True)
    options = {}
    if tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        options.update(tls_context=context, require_starttls=True)
    if auth:
        username, _, password = auth.partition(":")
        options.update(authenticator=_authenticator(username, password), auth_required=True,
                       auth_require_tls=bool(tls_cert))
    return Controller(Keeper(directory), hostname=host, port=port, server_hostname="localhost", **options)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mailcatcher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    parser.add_argument("--auth", help="user:password that must authenticate")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args(argv)
    server = controller(Path(args.dir), args.host, args.port, args.auth, args.tls_cert, args.tls_key)
    server.start()
    print(f"mail catcher on {args.host}:{args.port}, keeping mail in {Path(args.dir).resolve()}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
