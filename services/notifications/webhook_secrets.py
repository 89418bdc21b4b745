"""Webhook signing secrets: made once, shown once, kept sealed.

A delivery is signed with HMAC-SHA256 under the subscription's secret, so the service must be able to read the
secret back (a hash would not do). It is kept sealed with AES-256-GCM under a key that is not in the database:
a copy of the database alone gives no secret. The subscription's id is the associated data, so a sealed secret
cannot be moved to another subscription.

Keys: WEBHOOKS_SEALING_KEYS in the notifications config, else CONCORD_WEBHOOKS_SEALING_KEYS[_FILE] in the
environment, else the file `webhooks-sealing.key` in the keys directory (made on first use where the directory is
writable, as `concord keys init` makes the signing keys). Each key is `<key id>:<base64 of 32 bytes>`; several
(comma or line separated) during a rotation: the first seals, any opens. Sealed form: `v1.<key id>.<nonce>.<ct>`.
"""
import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from concord_common import trust

KEY_FILE = "webhooks-sealing.key"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """What the subscriber is shown once: 32 random bytes, URL-safe. The HMAC key is this string's UTF-8 bytes."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_key_text() -> str:
    return f"k{secrets.token_hex(4)}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    keys = []
    for line in (text or "").splitlines():
        for item in line.split("#", 1)[0].replace(",", " ").split():
            key_id, _, raw = item.partition(":")
            key = base64.b64decode(raw)
            if not key_id or len(key) != 32:
                raise ValueError("a webhook sealing key is written <key id>:<base64 of 32 bytes>")
            keys.append((key_id, key))
    return keys


def _from_file(directory: Path) -> str:
    path = directory / KEY_FILE
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    try:        # first use: O_EXCL, so replicas starting together agree on one key
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key_text() + "\n")
    return path.read_text()


class Sealer:
    def __init__(self, keys: list[tuple[str, bytes]]):
        if not keys:
            raise RuntimeError("no webhook sealing key (WEBHOOKS_SEALING_KEYS; docs/webhooks.md)")
        self._keys = dict(keys)
        self._current = keys[0]

    @classmethod
    def from_config(cls, config: dict) -> "Sealer":
        text = config.get("WEBHOOKS_SEALING_KEYS") or os.environ.get("CONCORD_WEBHOOKS_SEALING_KEYS")
        if not text and os.environ.get("CONCORD_WEBHOOKS_SEALING_KEYS_FILE"):
            text = Path(os.environ["CONCORD_WEBHOOKS_SEALING_KEYS_FILE"]).read_text()
        if not text:
            text = _from_file(Path(config.get("KEYS_DIR") or trust.keys_dir()))
        return cls(parse_keys(str(text)))

    def seal(self, secret: str, subscription_id: str) -> str:
        key_id, key = self._current
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, secret.encode(), subscription_id.encode())
        return ".".join(("v1", key_id, _b64(nonce), _b64(sealed)))

    def open(self, sealed: str, subscription_id: str) -> str:
        version, key_id, nonce, body = sealed.split(".")
        if version != "v1" or key_id not in self._keys:
            raise ValueError(f"no key {key_id!r} to open this webhook secret")
        return AESGCM(self._keys[key_id]).decrypt(_unb64(nonce), _unb64(body), subscription_id.encode()).decode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
