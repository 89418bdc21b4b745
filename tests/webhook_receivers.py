"""Real HTTPS webhook receivers for tests and benchmarks: http.server behind TLS with a certificate from a CA made
for the run (WEBHOOKS_CA_FILE points Concord at it), on 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE on)."""
import datetime
import importlib.util
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOCS_RECEIVER = Path(__file__).resolve().parent.parent / "docs" / "webhook_receiver.py"


def reference_receiver_module():
    """docs/webhook_receiver.py, imported as it is (the test uses the very file readers copy)."""
    spec = importlib.util.spec_from_file_location("webhook_receiver", DOCS_RECEIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Certificates:
    """A CA and a server certificate for localhost / 127.0.0.1, in a temporary directory."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="concord-webhooks-tls-"))
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Concord test webhooks CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False),
                             critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        cert = (x509.CertificateBuilder().subject_name(subject)
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file = self.directory / "server.pem"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file = self.directory / "server.key"
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


class Receiver:
    """An HTTPS receiver on 127.0.0.1. `mode`: "ok" (204), "fail" (500), "hang" (answers nothing for a minute).
    With `secret`, each request is checked with docs/webhook_receiver.py's `verify` (401 if it fails).
    `received`: [(time, headers, body dict, status answered)]."""

    def __init__(self, certificates: Certificates, mode: str = "ok", secret: str | None = None):
        self.mode, self.secret, self.received = mode, secret, []
        self.verify = reference_receiver_module().verify
        receiver = self
        base = reference_receiver_module().Receiver

        class Handler(base):
            protocol_version = "HTTP/1.1"           # keep-alive, as most receivers: Content-Length is always sent

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.mode == "hang":
                    time.sleep(60)
                    return
                status = 204 if receiver.mode == "ok" else 500
                if receiver.secret is not None and not receiver.verify(
                        receiver.secret.encode(), self.headers.get("Concord-Signature", ""), body):
                    status = 401
                receiver.received.append((time.monotonic(), dict(self.headers), json.loads(body), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = certificates.server_context().wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/hooks/concord"

    def accepted(self) -> list[dict]:
        return [body for _, _, body, status in self.received if status == 204]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
