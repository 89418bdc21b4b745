"""Signed callers: who is asking travels as a short-lived Ed25519 assertion, never as plain JSON.

The broker is not a trust boundary. Whoever calls a service (the gateway for a
signed-in person, a service forwarding that person or acting as itself, the
operators' CLI) signs an assertion with its own key:

    <base64url(claims JSON)>.<base64url(Ed25519 signature)>

claims: iss (the signer: "gateway", a service name or "operator"), aud (the
service called, or "<source>.events" for an event), act (the method, or the
event id), bh (events: a hash of the body), iat/exp, rid (request id), sub
(the caller). The receiver checks it before anything else (see verify_rpc,
verify_event) against the public keys it trusts for that issuer: two during a
rotation. docs/security.md has the trust model.

Keys come from the component's config (SIGNING_KEY, TRUSTED_KEYS), else the
environment (CONCORD_SIGNING_KEY[_FILE], CONCORD_TRUSTED_KEYS[_FILE]), else the
keys directory `concord keys init` writes (CONCORD_KEYS_DIR, default var/keys).
"""
import base64
import functools
import hashlib
import json
import os
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from concord_common.context import Caller

OPERATOR = "operator"               # the operators' CLI: `concord admin create`, `seed`, `audit export`
GATEWAY = "gateway"
TTL_SLACK_SECONDS = 5.0             # an RPC assertion outlives the call's deadline by this much
EVENT_TTL_SECONDS = 7 * 24 * 3600   # events wait in queues, retries and dead-letter queues for days
TRUSTED_FILE = "trusted.pub"


class Refused(Exception):
    """An assertion that is missing, malformed, expired, tampered with or meant for someone else."""

    def __init__(self, reason: str, claims: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.claims = claims or {}


# -- keys ----------------------------------------------------------------------------------------
def new_private_key_text() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip()))


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_trusted(text: str) -> dict[str, tuple[str, ...]]:
    """"issuer:key" items separated by commas, spaces or lines ('#' starts a comment)."""
    trusted: dict[str, list[str]] = {}
    for line in (text or "").splitlines():
        for item in line.split("#", 1)[0].replace(",", " ").split():
            issuer, _, key = item.partition(":")
            if not key:
                raise ValueError(f"a trusted key is written issuer:key, not {item!r}")
            trusted.setdefault(issuer, []).append(key)
    return {issuer: tuple(keys) for issuer, keys in trusted.items()}


def keys_dir() -> Path:
    explicit = os.environ.get("CONCORD_KEYS_DIR")
    if explicit:
        return Path(explicit)
    var = os.environ.get("CONCORD_VAR") or Path(__file__).resolve().parent.parent / "var"
    return Path(var) / "keys"


def _read(path) -> str | None:
    try:
        return Path(path).read_text()
    except (FileNotFoundError, IsADirectoryError):
        return None


def _setting(config: dict, name: str, file_for=None) -> str | None:
    value = config.get(name) or os.environ.get(f"CONCORD_{name}")
    if value:
        return str(value)
    path = config.get(f"{name}_FILE") or os.environ.get(f"CONCORD_{name}_FILE")
    if path:
        text = _read(path)
        if text is None:
            raise RuntimeError(f"{name}_FILE {path} does not exist")
        return text
    return _read(file_for) if file_for else None


class Keyring:
    """One component's signing key and the public keys it trusts, by issuer."""

    def __init__(self, issuer: str, signing_key_text: str | None, trusted: dict[str, tuple[str, ...]]):
        self.issuer = issuer
        self._signing = private_key(signing_key_text) if signing_key_text else None
        self._trusted = {name: tuple(Ed25519PublicKey.from_public_bytes(base64.b64decode(key)) for key in keys)
                         for name, keys in trusted.items()}

    @property
    def can_sign(self) -> bool:
        return self._signing is not None

    def sign(self, claims: dict) -> str:
        if self._signing is None:
            raise RuntimeError(f"{self.issuer} has no signing key (run `concord keys init`, or set SIGNING_KEY)")
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return body + "." + _b64(self._signing.sign(body.encode()))

    def verify(self, token) -> dict:
        """The claims of a well-signed, unexpired assertion, or Refused."""
        if not token or not isinstance(token, str):
            raise Refused("unsigned")
        body, _, signature = token.partition(".")
        try:
            claims = json.loads(_unb64(body))
            raw_signature = _unb64(signature)
        except ValueError:
            raise Refused("malformed")
        if not isinstance(claims, dict):
            raise Refused("malformed")
        keys = self._trusted.get(claims.get("iss"))
        if not keys:
            raise Refused("unknown issuer", claims)
        for key in keys:
            try:
                key.verify(raw_signature, body.encode())
                break
            except InvalidSignature:
                continue
        else:
            raise Refused("bad signature", claims)
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
            raise Refused("expired", claims)
        return claims


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc))


@functools.lru_cache(maxsize=64)
def _keyring(issuer: str, signing: str | None, trusted: tuple) -> Keyring:
    return Keyring(issuer, signing, dict(trusted))


def keyring_for(config: dict, component: str, verifies: bool = True) -> Keyring:
    """The component's keyring from its config, the environment or the keys directory (cached).
    Refuses to start without a signing key, or without trusted keys where the component `verifies`."""
    directory = Path(config.get("KEYS_DIR") or keys_dir())
    signing = _setting(config, "SIGNING_KEY", directory / f"{component}.key")
    trusted = _setting(config, "TRUSTED_KEYS", directory / TRUSTED_FILE)
    if not signing or (verifies and not trusted):
        raise RuntimeError(f"{component} has no {'signing key' if not signing else 'trusted keys'}: run "
                           f"`concord keys init` (keys in {directory}) or set CONCORD_SIGNING_KEY[_FILE] and "
                           f"CONCORD_TRUSTED_KEYS[_FILE] (docs/security.md)")
    return _keyring(component, signing.strip() if signing else None,
                    tuple(sorted(parse_trusted(trusted or "").items())))


COMPONENTS = (GATEWAY, "profiles", "cases", "permissions", "audit", "notifications", OPERATOR)


def init_keys(directory: Path, components=COMPONENTS) -> list[str]:
    """A private key file per component that has none (mode 0600), and trusted.pub listing every public
    key; keys already there are kept, and so are extra trusted lines (an old key during a rotation)."""
    directory.mkdir(parents=True, exist_ok=True)
    created, lines = [], []
    for component in components:
        path = directory / f"{component}.key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(new_private_key_text() + "\n")
            created.append(component)
        lines.append(f"{component}:{public_key_text(private_key(path.read_text()))}")
    trusted_path = directory / TRUSTED_FILE
    kept = [line.strip() for line in (_read(trusted_path) or "").splitlines()
            if line.strip() and not line.startswith("#") and line.strip() not in lines]
    trusted_path.write_text("# issuer:public key (two for one issuer during a rotation; docs/security.md)\n"
                            + "\n".join(lines + kept) + "\n")
    return created


# -- RPC -----------------------------------------------------------------------------------------
def _caller_dict(caller_json) -> dict:
    if not caller_json:
        return {"kind": "anonymous"}
    return json.loads(caller_json) if isinstance(caller_json, str) else dict(caller_json)


def rpc_assertion(keyring: Keyring, caller_json, service: str, method: str, request_id, deadline: float) -> str:
    now = time.time()
    return keyring.sign({"iss": keyring.issuer, "aud": service, "act": method, "rid": request_id,
                         "iat": round(now, 3), "exp": round(now + deadline + TTL_SLACK_SECONDS, 3),
                         "sub": _caller_dict(caller_json)})


def _caller(claims: dict) -> Caller:
    subject = claims.get("sub")
    if not isinstance(subject, dict):
        raise Refused("malformed", claims)
    return Caller.from_json(json.dumps(subject))


def verify_rpc(keyring: Keyring, token, service: str, method: str, system_callers=(OPERATOR,)) -> tuple:
    """(caller, request id) of an RPC to `service.method`, or Refused."""
    claims = keyring.verify(token)
    if claims.get("aud") != service or claims.get("act") != method:
        raise Refused("addressed to another service or method", claims)
    caller = _caller(claims)
    issuer = claims["iss"]
    if caller.kind == "system" and issuer not in system_callers:
        raise Refused(f"{issuer} may not call {method} as the system", claims)
    if issuer == OPERATOR and caller.kind not in ("system", "anonymous"):
        raise Refused("the operators' key speaks only for the system", claims)
    return caller, claims.get("rid")


# -- events --------------------------------------------------------------------------------------
def body_hash(envelope: dict) -> str:
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_assertion(keyring: Keyring, caller_json, exchange: str, envelope: dict,
                    ttl: float = EVENT_TTL_SECONDS) -> str:
    now = time.time()
    return keyring.sign({"iss": keyring.issuer, "aud": exchange, "act": str(envelope.get("id")),
                         "bh": body_hash(envelope), "rid": envelope.get("request_id"),
                         "iat": round(now, 3), "exp": round(now + ttl, 3), "sub": _caller_dict(caller_json)})


def verify_event(keyring: Keyring, token, source: str, envelope) -> tuple:
    """(caller, request id) of an event from `source`'s exchange, or Refused. Only `source` signs them."""
    claims = keyring.verify(token)
    if claims.get("iss") != source or claims.get("aud") != f"{source}.events":
        raise Refused(f"not published by {source}", claims)
    if not isinstance(envelope, dict) or claims.get("act") != str(envelope.get("id")) \
            or claims.get("bh") != body_hash(envelope):
        raise Refused("the event does not match its signature", claims)
    return _caller(claims), claims.get("rid")
