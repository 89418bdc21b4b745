"""Tamper evidence: the service cannot rewrite history, and whoever does (the superuser) is found out.

The chain here is written with the service's own writer straight into a fresh
database (no broker needed); the tampering is done as the database superuser
with the append-only triggers switched off, as an attacker with full access would.
"""
import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from concord_common import migrate
from concord_common.context import Caller
from concord_common.db import event_envelope
from services.audit import chain, checkpoints, ingest, verification
from services.audit.database import WRITER_ROLE, run_as_writer
from services.audit.models import entries
from services.audit.service import AuditService
from services.audit.writer import ChainWriter
from tests import support

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "audit" / "migrations"
SIGNING_KEY = base64.b64encode(bytes(range(100, 132))).decode()
BIN = Path(sys.executable).parent
PAT = Caller(kind="user", id="u-pat", organisation_id="org-a", teams=({"id": "team-hub", "role": "practitioner"},))


class Chain:
    def __init__(self, database_server, prefix, directory):
        self.prefix = f"{prefix}_t{uuid.uuid4().hex[:8]}"
        self.config = {"DATABASE_URL": database_server, "DATABASE_NAME": f"{self.prefix}_audit",
                       "AUDIT_SIGNING_KEY": SIGNING_KEY, "AUDIT_CHECKPOINT_DIR": str(directory),
                       "AUDIT_CHECKPOINT_EVERY": 10}
        self.url = support.database_url_for(self.config)
        migrate.upgrade(self.url, MIGRATIONS)
        self.owner = create_engine(self.url)
        self.settings = checkpoints.Settings.from_config(self.config)
        self.signer = checkpoints.Signer.from_config(self.config)
        self.trusted = checkpoints.trusted_keys(self.config)

    def write(self, count: int, batch: int = 7) -> None:
        writer_engine = create_engine(self.url)
        run_as_writer(writer_engine)
        writer = ChainWriter(writer_engine, self.signer, self.settings)
        events = [event_envelope("profiles", "profile.viewed",
                                 {"record": {"type": "profile", "id": f"p-{n}"}, "owner": {"organisation_id": "org-a"},
                                  "fields": {"n": {"before": n, "after": n + 1}}}, PAT, f"req-{n}")
                  for n in range(count)]
        try:
            for start in range(0, count, batch):
                writer.append([ingest.entry_from_event(event) for event in events[start:start + batch]])
        finally:
            writer_engine.dispose()

    def verify(self) -> dict:
        return verification.verify(self.owner, self.trusted, self.settings)

    def tamper(self, *statements, **params) -> None:
        """As the superuser, with the append-only triggers off (session_replication_role = replica)."""
        with self.owner.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                conn.execute(text(statement), params)


@pytest.fixture
def audit_chain(database_server, database_prefix, tmp_path):
    made = []

    def make(count=30) -> Chain:
        built = Chain(database_server, database_prefix, tmp_path / f"checkpoints-{len(made)}")
        built.write(count)
        made.append(built)
        return built

    yield make
    for built in made:
        built.owner.dispose()


def test_an_untouched_chain_verifies_with_its_checkpoints(audit_chain):
    result = audit_chain(30).verify()
    assert result["ok"], result
    assert result["entries"] == result["head_seq"] == 30
    assert result["checkpoints_verified"] >= 3 and "first_bad_seq" not in result


def test_the_service_role_may_only_read_and_append(audit_chain):
    built = audit_chain(3)
    writer = create_engine(built.url)
    run_as_writer(writer)
    try:
        with writer.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == WRITER_ROLE
            assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 3
        for statement in ("UPDATE audit_entries SET reason = 'x' WHERE seq = 1",
                          "DELETE FROM audit_entries WHERE seq = 1",
                          "TRUNCATE audit_entries",
                          "UPDATE audit_checkpoints SET hash = 'x'",
                          "DELETE FROM audit_checkpoints",
                          "DELETE FROM audit_chain_head",
                          "SET session_replication_role = replica"):
            with writer.connect() as conn:
                with pytest.raises(Exception) as refused:
                    conn.execute(text(statement))
                assert "permission denied" in str(refused.value), statement
    finally:
        writer.dispose()


def test_the_triggers_refuse_the_owner_as_well(audit_chain):
    built = audit_chain(12)
    for statement in ("UPDATE audit_entries SET reason = 'x' WHERE seq = 1",
                      "DELETE FROM audit_entries WHERE seq = 1",
                      "TRUNCATE audit_entries",
                      "DELETE FROM audit_checkpoints",
                      "TRUNCATE audit_checkpoints",
                      "DELETE FROM audit_chain_head",
                      "UPDATE audit_chain_head SET seq = 1"):
        with built.owner.connect() as conn:
            with pytest.raises(Exception) as refused:
                conn.execute(text(statement))
            conn.rollback()
            assert "append-only" in str(refused.value) or "only moves forward" in str(refused.value), statement
    assert built.verify()["ok"]


def test_the_running_service_connects_as_the_writer_role(service_config, run_services, database_prefix, tmp_path,
                                                         broker_root):
    from tests.integration.test_audit_ingest import private_vhost
    with private_vhost(broker_root, "audit-role") as amqp_uri:
        config = service_config("audit", DATABASE_NAME=f"{database_prefix}_audit_{uuid.uuid4().hex[:8]}",
                                AUDIT_SIGNING_KEY=SIGNING_KEY, AUDIT_CHECKPOINT_DIR=str(tmp_path), AMQP_URI=amqp_uri)
        runner = run_services(config, AuditService)
        _check_the_role(runner)
        runner.stop()


def _check_the_role(runner):
    [container] = runner.containers
    provider = next(dep for dep in container.dependencies if dep.attr_name == "db")
    with provider.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == WRITER_ROLE
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("DELETE FROM audit_entries"))


def _byte_flipped(value: str) -> str:
    return value[:-1] + ("x" if value[-1] != "x" else "y")


@pytest.mark.parametrize("case, expected_first_bad", [
    ("flip a byte of an actor", 12),
    ("flip a byte of the json data", 13),
    ("flip a byte of a stored hash", 14),
    ("delete an entry", 17),
    ("swap two entries", 5),
    ("delete the last entries and rewind the head", 28),
    ("rewrite the tail with fresh hashes", 22),   # the checkpoint at 21 still holds; the one at 30 does not
])
def test_tampering_as_the_superuser_is_found_and_the_first_bad_entry_named(audit_chain, case, expected_first_bad):
    built = audit_chain(30)
    if case == "flip a byte of an actor":
        built.tamper("UPDATE audit_entries SET actor_id = 'u-pau' WHERE seq = 12")
    elif case == "flip a byte of the json data":
        built.tamper("UPDATE audit_entries SET data = replace(data::text, 'p-12', 'p-13')::json WHERE seq = 13")
    elif case == "flip a byte of a stored hash":
        with built.owner.connect() as conn:
            stored = conn.execute(select(entries.c.hash).where(entries.c.seq == 14)).scalar()
        built.tamper("UPDATE audit_entries SET hash = :hash WHERE seq = 14", hash=_byte_flipped(stored))
    elif case == "delete an entry":
        built.tamper("DELETE FROM audit_entries WHERE seq = 17")
    elif case == "swap two entries":
        built.tamper("UPDATE audit_entries SET seq = 1000 WHERE seq = 5",
                     "UPDATE audit_entries SET seq = 5 WHERE seq = 8",
                     "UPDATE audit_entries SET seq = 8 WHERE seq = 1000")
    elif case == "delete the last entries and rewind the head":
        with built.owner.connect() as conn:
            hash_27 = conn.execute(select(entries.c.hash).where(entries.c.seq == 27)).scalar()
        built.tamper("DELETE FROM audit_entries WHERE seq > 27",
                     "UPDATE audit_chain_head SET seq = 27, hash = :hash", hash=hash_27)
    elif case == "rewrite the tail with fresh hashes":
        # Someone with the database but not the signing key rewrites entries 25.. and recomputes every
        # hash after them: the chain is whole again, but the checkpoint signed at 30 remembers otherwise.
        with built.owner.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(select(entries).where(entries.c.seq >= 25)
                                                               .order_by(entries.c.seq))]
            previous = conn.execute(select(entries.c.hash).where(entries.c.seq == 24)).scalar()
        rows[0]["reason"] = "nothing to see here"
        for row in rows:
            row["prev_hash"] = previous
            row["hash"] = previous = chain.entry_hash(row)
        built.tamper(*[f"UPDATE audit_entries SET reason = :reason_{n}, prev_hash = :prev_{n}, hash = :hash_{n} "
                       f"WHERE seq = :seq_{n}" for n in range(len(rows))],
                     "UPDATE audit_chain_head SET hash = :head",
                     head=previous, **{f"{key}_{n}": row[column] for n, row in enumerate(rows)
                                       for key, column in (("reason", "reason"), ("prev", "prev_hash"),
                                                           ("hash", "hash"), ("seq", "seq"))})
    result = built.verify()
    assert result["ok"] is False, result
    assert result["first_bad_seq"] == expected_first_bad, result["problems"]
    assert result["entries"] == (29 if case == "delete an entry" else 27 if "last" in case else 30)


def test_a_forged_or_foreign_checkpoint_is_found(audit_chain):
    built = audit_chain(30)
    built.tamper("UPDATE audit_checkpoints SET hash = :hash WHERE seq = (SELECT min(seq) FROM audit_checkpoints)",
                 hash="f" * 64)
    result = built.verify()
    assert result["ok"] is False
    assert any("does not verify" in problem["problem"] or "differs" in problem["problem"]
               for problem in result["problems"]), result["problems"]

    other = audit_chain(30)
    stranger = checkpoints.Signer(checkpoints.load_private_key(checkpoints.new_key_text()))
    with other.owner.begin() as conn:
        signed = checkpoints.write(conn, stranger, 30, "e" * 64)   # 30 already has one: nothing written
    assert signed is None
    with other.owner.connect() as conn:
        last = conn.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
    checkpoints.append_to_file(other.settings, {"seq": last.seq, "hash": last.hash, "at": "2030-01-01T00:00:00.000000Z",
                                                "public_key": stranger.public_key,
                                                "signature": stranger.sign(checkpoints.payload(
                                                    last.seq, last.hash, "2030-01-01T00:00:00.000000Z"))})
    result = other.verify()
    assert result["ok"] is False
    assert any("not trusted" in problem["problem"] or "differs" in problem["problem"]
               for problem in result["problems"]), result["problems"]


def test_concord_audit_verify_says_so_from_the_command_line(audit_chain):
    built = audit_chain(25)
    env = dict(os.environ, DATABASE_URL=built.config["DATABASE_URL"], DATABASE_PREFIX=built.prefix,
               AUDIT_SIGNING_KEY=SIGNING_KEY, AUDIT_CHECKPOINT_DIR=built.config["AUDIT_CHECKPOINT_DIR"])
    good = subprocess.run([str(BIN / "concord"), "audit", "verify"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert good.returncode == 0, good.stderr
    answer = json.loads(good.stdout)
    assert answer["ok"] is True and answer["entries"] == 25 and answer["checkpoints_verified"] >= 2

    built.tamper("UPDATE audit_entries SET source_ip = '10.6.6.6' WHERE seq = 9")
    bad = subprocess.run([str(BIN / "concord"), "audit", "verify"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1, bad.stderr
    answer = json.loads(bad.stdout)
    assert answer["ok"] is False and answer["first_bad_seq"] == 9
