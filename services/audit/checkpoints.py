"""Signed checkpoints: "entry N of this chain has hash H", signed with Ed25519.

A checkpoint is written every AUDIT_CHECKPOINT_EVERY entries (in the same
transaction as the batch that crosses the mark) and every
AUDIT_CHECKPOINT_SECONDS if the chain moved, outside the entries table: into
`audit_checkpoints` and, once committed, as a JSON line in a file under
AUDIT_CHECKPOINT_DIR. Whoever rewrites the entries and recomputes every hash
still cannot produce a checkpoint signature without the private key.

The key is AUDIT_SIGNING_KEY (base64 of the raw 32-byte Ed25519 private key).
Unset, a key is generated once into a file under var/ and a warning is
logged: fine for development, not for production. AUDIT_VERIFY_KEYS lists
(base64, comma-separated) public keys of retired signing keys that
verification still trusts.
"""
import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from concord_common import clock
from services.audit.chain import canonical_json, utc_text
from services.audit.models import chain_head, checkpoints

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]


def var_dir() -> Path:
    return Path(os.environ.get("CONCORD_VAR") or ROOT / "var")


# -- keys ------------------------------------------------------------------------------
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def public_key_text(key: Ed25519PrivateKey) -> str:
    return _b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def private_key_text(key: Ed25519PrivateKey) -> str:
    return _b64(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                  serialization.NoEncryption()))


def load_private_key(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("AUDIT_SIGNING_KEY must be base64 of a raw 32-byte Ed25519 private key") from exc


def new_key_text() -> str:
    return private_key_text(Ed25519PrivateKey.generate())


def _key_file(config: dict) -> Path:
    return Path(config.get("AUDIT_SIGNING_KEY_FILE") or var_dir() / "audit" / "signing-key")


def _generated_key(path: Path) -> Ed25519PrivateKey:
    """Read the development key at `path`, creating it (atomically: replicas start together) if absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_text() + "\n")
        try:
            os.link(temporary, path)          # fails if another process got there first: use theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return load_private_key(path.read_text())


class Signer:
    def __init__(self, key: Ed25519PrivateKey):
        self.key = key
        self.public_key = public_key_text(key)

    def sign(self, payload: bytes) -> str:
        return _b64(self.key.sign(payload))

    @classmethod
    def from_config(cls, config: dict) -> "Signer":
        text = config.get("AUDIT_SIGNING_KEY")
        if text:
            return cls(load_private_key(str(text)))
        path = _key_file(config)
        signer = cls(_generated_key(path))
        log.warning("AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a development key "
                    "kept in %s (public key %s). Set AUDIT_SIGNING_KEY in production.", path, signer.public_key,
                    extra={"fields": {"audit_public_key": signer.public_key}})
        return signer


def trusted_keys(config: dict, signer: Signer | None = None) -> set[str]:
    """Public keys whose checkpoints verification accepts: the signing key's, and AUDIT_VERIFY_KEYS.

    Without a signer (an operator verifying), the signing key is read from
    AUDIT_SIGNING_KEY or the development key file if there is one; none is made.
    """
    keys = set()
    if signer is not None:
        keys.add(signer.public_key)
    elif config.get("AUDIT_SIGNING_KEY"):
        keys.add(public_key_text(load_private_key(str(config["AUDIT_SIGNING_KEY"]))))
    elif _key_file(config).exists():
        keys.add(public_key_text(load_private_key(_key_file(config).read_text())))
    retired = str(config.get("AUDIT_VERIFY_KEYS") or "")
    return keys | {key.strip() for key in retired.split(",") if key.strip()}


def signature_valid(public_key: str, payload: bytes, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), payload)
        return True
    except (InvalidSignature, binascii.Error, ValueError):
        return False


# -- checkpoints ---------------------------------------------------------------------------
def payload(seq: int, hash_: str, at: str) -> bytes:
    """What is signed."""
    return canonical_json({"seq": int(seq), "hash": hash_, "at": at})


@dataclass(frozen=True)
class Settings:
    every: int = 1000
    seconds: float = 60.0
    directory: Path | None = None
    log_name: str = "audit"

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        directory = config.get("AUDIT_CHECKPOINT_DIR") or var_dir() / "audit" / "checkpoints"
        return cls(every=max(1, int(config.get("AUDIT_CHECKPOINT_EVERY") or 1000)),
                   seconds=float(config.get("AUDIT_CHECKPOINT_SECONDS") or 60),
                   directory=Path(directory), log_name=str(config.get("DATABASE_NAME") or "audit"))

    @property
    def file(self) -> Path:
        return self.directory / f"{self.log_name}.checkpoints.jsonl"


def crosses_mark(before: int, after: int, every: int) -> bool:
    return after // every > before // every


def write(session, signer: Signer, seq: int, hash_: str) -> dict | None:
    """Insert a signed checkpoint of (seq, hash) in `session`'s transaction; None if one exists already."""
    at = utc_text(clock.now())
    signed = {"seq": seq, "hash": hash_, "at": at, "public_key": signer.public_key,
              "signature": signer.sign(payload(seq, hash_, at))}
    inserted = session.execute(
        pg_insert(checkpoints).values(**{**signed, "at": datetime.fromisoformat(at.replace("Z", "+00:00"))})
        .on_conflict_do_nothing().returning(checkpoints.c.seq)).first()
    return signed if inserted else None


def write_if_due(session, signer: Signer, settings: Settings) -> dict | None:
    """The timed checkpoint: if the chain moved since the last one and that is older than `seconds`."""
    head = session.execute(select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
                           .with_for_update()).one()
    last = session.execute(select(checkpoints.c.seq, checkpoints.c.at)
                           .order_by(checkpoints.c.seq.desc()).limit(1)).first()
    if head.seq == 0 or (last is not None and last.seq >= head.seq):
        return None
    if last is not None and clock.now() - last.at < timedelta(seconds=settings.seconds):
        return None
    return write(session, signer, head.seq, head.hash)


def append_to_file(settings: Settings, checkpoint: dict) -> None:
    """One line per checkpoint, appended with a single write (O_APPEND) so replicas do not interleave."""
    try:
        settings.directory.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(checkpoint, sort_keys=True) + "\n").encode()
        fd = os.open(settings.file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        log.exception("could not append the audit checkpoint at seq %s to %s", checkpoint["seq"], settings.file)


def from_file(settings: Settings) -> tuple[list[dict], list[str]]:
    """(checkpoints in the file, lines that could not be read)."""
    if not settings.file.exists():
        return [], []
    found, unreadable = [], []
    for number, line in enumerate(settings.file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            found.append({key: item[key] for key in ("seq", "hash", "at", "public_key", "signature")})
        except (ValueError, KeyError, TypeError):
            unreadable.append(f"{settings.file}:{number}")
    return found, unreadable


def from_table(session) -> list[dict]:
    rows = session.execute(select(checkpoints).order_by(checkpoints.c.seq)).all()
    return [{"seq": row.seq, "hash": row.hash, "at": utc_text(row.at), "public_key": row.public_key,
             "signature": row.signature} for row in rows]
