"""A Concord webhook receiver (Python standard library only): checks Concord-Signature, refuses old timestamps.
Run: CONCORD_WEBHOOK_SECRET=whsec_… python docs/webhook_receiver.py (behind your TLS terminator)."""
import hashlib, hmac, json, os, time  # noqa: E401
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("CONCORD_WEBHOOK_SECRET", "").encode()
TOLERANCE = 300                                  # seconds: an older (or replayed) delivery is refused


def verify(secret: bytes, header: str, body: bytes, now: float | None = None) -> bool:
    fields = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    t = fields.get("t", "")
    if not t.isdigit() or abs((now or time.time()) - int(t)) > TOLERANCE:
        return False
    expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not verify(SECRET, self.headers.get("Concord-Signature", ""), body):
            self.send_response(401), self.end_headers()
            return
        self.handle_event(json.loads(body))      # the same event id may come twice: de-duplicate on it
        self.send_response(204), self.end_headers()

    def handle_event(self, event):
        print(event["id"], event["type"], event["data"]["record"]["path"], flush=True)


if __name__ == "__main__":
    HTTPServer(("", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
