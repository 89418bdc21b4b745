"""A real SMTP server for tests: concord_common.mailcatcher (aiosmtpd) in a process of its own, keeping each
message it accepts as a file. It can refuse (451) for a while, be stopped (the server is down) and started again
on the same port, and require STARTTLS (a self-signed certificate made here) and AUTH."""
import datetime
import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from concord_common.mailcatcher import REFUSE_FLAG

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(directory: Path) -> tuple[str, str]:
    """(cert.pem, key.pem) for localhost / 127.0.0.1, made with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class MailCatcher:
    def __init__(self, directory: Path, auth: str | None = None, tls: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.auth = auth
        self.cert = self.key = None
        if tls:
            self.cert, self.key = self_signed(self.directory.parent)
        self.process = None

    @property
    def url(self) -> str:
        if self.cert:
            user, _, password = (self.auth or ":").partition(":")
            return f"smtp+starttls://{user}:{password}@localhost:{self.port}?cafile={self.cert}&timeout=5"
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> "MailCatcher":
        command = [sys.executable, "-m", "concord_common.mailcatcher", "--port", str(self.port),
                   "--dir", str(self.directory)]
        if self.auth:
            command += ["--auth", self.auth]
        if self.cert:
            command += ["--tls-cert", self.cert, "--tls-key", self.key]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    if conn.recv(3) == b"220":
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the mail catcher did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def refuse(self, refusing: bool = True) -> None:
        flag = self.directory / REFUSE_FLAG
        flag.touch() if refusing else flag.unlink(missing_ok=True)

    def messages(self) -> list:
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.directory.glob("*.eml"))]

    def wait_for(self, count: int, timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.2)
        return self.messages()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
