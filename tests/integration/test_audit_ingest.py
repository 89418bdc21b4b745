"""The audit service ingests events into a hash chain: columns, batches, checkpoints, bad input.

Each test gets an audit database of its own (the chain is per database); the
module has a RabbitMQ vhost of its own (its dead letters and stray events stay
out of other tests' queues). Events are published as any outbox relay would.
"""
import base64
import json
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select

from concord_common import operations
from concord_common.context import Caller
from concord_common.db import event_envelope
from concord_common.events import dead_letter_queue_name
from concord_common.outbox import EventPublisher
from services.audit import checkpoints, verification
from services.audit.models import AuditEntry, Checkpoint
from services.audit.service import AuditService
from concord_common import trust
from tests import support

SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()
PAT = Caller(kind="user", id="u-pat", organisation_id="org-a", teams=({"id": "team-hub", "role": "practitioner"},))
PROFILES_QUEUE = "evt-profiles-#--audit.ingest_profiles"


def make_event(event_type="profile.viewed", data=None, caller=PAT, source=None, at=None, request_id="req-1"):
    envelope = event_envelope(source or event_type.split(".")[0] + "s", event_type, data or {}, caller, request_id)
    if at is not None:
        envelope["occurred_at"] = at.isoformat()
    return envelope


def publish(amqp_uri, events, source=None):
    publisher = support.SignedPublisher(amqp_uri)
    try:
        for event in events:
            publisher.publish(f"{source or event['source']}.events", event.get("type") or "x.y", event, {})
    finally:
        publisher.close()


class AuditDb:
    """An audit service on a database of its own, and the owner's engine on that database."""

    def __init__(self, config):
        self.config = config
        self.engine = create_engine(support.database_url_for(config))
        self.settings = checkpoints.Settings.from_config(config)
        self.trusted = checkpoints.trusted_keys(config)

    def count(self, event_ids=None) -> int:
        statement = select(func.count()).select_from(AuditEntry)
        if event_ids is not None:
            statement = statement.where(AuditEntry.event_id.in_(list(event_ids)))
        with self.engine.connect() as conn:
            return conn.execute(statement).scalar()

    def entry(self, event_id):
        with self.engine.connect() as conn:
            return conn.execute(select(AuditEntry.__table__).where(AuditEntry.event_id == event_id)).first()

    def wait_for(self, event_ids, timeout=30):
        event_ids = list(event_ids)
        support.wait_for(lambda: self.count(event_ids) == len(event_ids), timeout=timeout,
                         message=f"{len(event_ids)} audit entries")

    def verify(self) -> dict:
        return verification.verify(self.engine, self.trusted, self.settings)


@contextmanager
def private_vhost(broker_root, name: str):
    """amqp URI of a vhost made for the caller, removed afterwards."""
    vhost = f"concord-{name}-{uuid.uuid4().hex[:8]}"
    if not support.create_vhost(broker_root, vhost):
        pytest.skip("cannot create a RabbitMQ vhost")
    try:
        yield support.uri_with_vhost(broker_root, vhost)
    finally:
        support.delete_vhost(broker_root, vhost)


@pytest.fixture(scope="module")
def amqp_uri(broker_root):
    """This module's own vhost (it shadows the session-wide one)."""
    with private_vhost(broker_root, "audit-ingest") as uri:
        yield uri


def audit_config(service_config, database_prefix, tmp_path, amqp_uri, **overrides):
    settings = {"DATABASE_NAME": f"{database_prefix}_audit_{uuid.uuid4().hex[:8]}", "AUDIT_SIGNING_KEY": SIGNING_KEY,
                "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"), "AMQP_URI": amqp_uri, **overrides}
    return service_config("audit", **settings)


@pytest.fixture
def start_audit(service_config, run_services, database_prefix, tmp_path, amqp_uri):
    """start(**config) -> AuditDb: an audit service on a fresh database (and this module's vhost)."""
    started = []

    def start(**overrides):
        config = audit_config(service_config, database_prefix, tmp_path, amqp_uri, **overrides)
        run_services(config, AuditService)
        audit = AuditDb(config)
        started.append(audit)
        return audit

    yield start
    for audit in started:
        audit.engine.dispose()


def test_events_become_entries_with_every_column_mapped(start_audit, amqp_uri):
    audit = start_audit()
    anonymous = Caller()
    owner = {"organisation_id": "org-a", "team_id": "team-hub"}
    events = {
        "login": make_event("user.login", {"record": {"type": "user", "id": "u-pat"}, "source_ip": "10.0.0.7",
                                           "reason": None}, caller=anonymous, source="permissions"),
        "failed": make_event("user.login_failed", {"record": {"type": "user", "id": "u-pat"},
                                                   "source_ip": "10.0.0.8", "reason": "wrong_password"},
                             caller=anonymous, source="permissions"),
        "viewed": make_event("profile.viewed", {"record": {"type": "profile", "id": "p-1"}, "owner": owner}),
        "updated": make_event("profile.updated", {"record": {"type": "profile", "id": "p-1"}, "owner": owner,
                                                  "fields": {"family_name": {"before": "Lee", "after": "Li"}},
                                                  "reason": "typo"}),
        "searched": make_event("profile.searched", {"terms": {"family_name": "Lee"}}),
        "broke": make_event("profile.break_glass", {"record": {"type": "profile", "id": "p-2"}, "owner": owner,
                                                    "justification": "child at immediate risk"}),
        "denied": make_event("case.viewed", {"record": {"type": "case", "id": "c-1"}, "outcome": "denied"},
                             source="cases"),
        "page": make_event("notification.read", {"page_view": True}, source="notifications"),
    }
    publish(amqp_uri, events.values())
    audit.wait_for(event["id"] for event in events.values())

    login = audit.entry(events["login"]["id"])
    assert (login.action, login.actor_id, login.source_ip, login.outcome) == ("login", "u-pat", "10.0.0.7", "success")
    assert login.actor["kind"] == "anonymous"           # as it came; actor_id says who signed in
    failed = audit.entry(events["failed"]["id"])
    assert (failed.outcome, failed.reason) == ("failure", "wrong_password")
    viewed = audit.entry(events["viewed"]["id"])
    assert (viewed.record_type, viewed.record_id, viewed.record_owner_organisation_id) == ("profile", "p-1", "org-a")
    assert viewed.actor == {"kind": "user", "id": "u-pat", "organisation_id": "org-a", "teams": ["team-hub"]}
    assert (viewed.actor_id, viewed.actor_organisation_id, viewed.page_view) == ("u-pat", "org-a", True)
    assert viewed.request_id == "req-1"
    assert viewed.at == datetime.fromisoformat(events["viewed"]["occurred_at"])     # microseconds kept
    updated = audit.entry(events["updated"]["id"])
    assert updated.fields == {"family_name": {"before": "Lee", "after": "Li"}}
    assert (updated.reason, updated.page_view) == ("typo", False)
    searched = audit.entry(events["searched"]["id"])
    assert searched.data["terms"] == {"family_name": "Lee"} and searched.record_type is None and searched.page_view
    assert audit.entry(events["broke"]["id"]).reason == "child at immediate risk"
    assert audit.entry(events["denied"]["id"]).outcome == "denied"
    assert audit.entry(events["page"]["id"]).page_view is True

    result = audit.verify()
    assert result["ok"], result
    assert result["entries"] == result["head_seq"] == audit.count()


def test_signals_between_services_are_not_audited(start_audit, amqp_uri):
    audit = start_audit()
    signal = make_event("principal.invalidated", {"user_ids": ["u-1"]}, source="permissions")
    marker = make_event("user.logout", {"record": {"type": "user", "id": "u-1"}}, source="permissions")
    publish(amqp_uri, [signal, marker])
    audit.wait_for([marker["id"]])
    assert audit.count([signal["id"]]) == 0


def test_many_events_are_batched_gapless_and_each_recorded_once(start_audit, amqp_uri):
    audit = start_audit(AUDIT_CHECKPOINT_EVERY=100)
    events = [make_event(data={"record": {"type": "profile", "id": f"p-{n}"}}) for n in range(600)]
    publish(amqp_uri, events + events[:50])                  # 50 redelivered
    audit.wait_for(event["id"] for event in events)
    with audit.engine.connect() as conn:
        seqs = conn.execute(select(AuditEntry.seq).order_by(AuditEntry.seq)).scalars().all()
    assert seqs == list(range(1, len(seqs) + 1))
    assert audit.count(event["id"] for event in events) == 600
    result = audit.verify()
    assert result["ok"], result
    assert result["checkpoints_verified"] >= 5


def test_checkpoints_are_signed_into_the_table_and_a_file(start_audit, amqp_uri):
    audit = start_audit(AUDIT_CHECKPOINT_EVERY=5, AUDIT_CHECKPOINT_SECONDS=0.3)
    first = [make_event() for _ in range(7)]
    publish(amqp_uri, first)
    audit.wait_for(event["id"] for event in first)

    def table():
        with audit.engine.connect() as conn:
            return conn.execute(select(Checkpoint.__table__).order_by(Checkpoint.seq)).all()
    # The chain crossed 5: a checkpoint at the head of that batch.
    support.wait_for(lambda: table() and table()[-1].seq == 7, message="the checkpoint at the mark")
    second = [make_event() for _ in range(2)]
    publish(amqp_uri, second)
    audit.wait_for(event["id"] for event in second)
    # Not at a mark: the timer signs the head soon after.
    support.wait_for(lambda: table()[-1].seq == 9, message="a timed checkpoint")
    rows = table()
    lines = [json.loads(line) for line in audit.settings.file.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [row.seq for row in rows]
    for line in lines:
        assert line["public_key"] in audit.trusted
        assert checkpoints.signature_valid(line["public_key"], checkpoints.payload(line["seq"], line["hash"],
                                                                                    line["at"]), line["signature"])
        with audit.engine.connect() as conn:
            assert conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == line["seq"])).scalar() == line["hash"]
    result = audit.verify()
    assert result["ok"] and result["checkpoints_verified"] == len(rows) >= 2, result


@pytest.mark.parametrize("missing, field", [("caller", "caller"), ("occurred_at", "occurred_at"), ("type", "type")])
def test_an_event_without_actor_time_or_action_is_dead_lettered_with_the_reason(start_audit, amqp_uri, missing,
                                                                                 field):
    audit = start_audit()
    bad = make_event(data={"record": {"type": "profile", "id": "p-bad"}})
    del bad[missing]
    dlq = dead_letter_queue_name(PROFILES_QUEUE)
    before = support.queue_depth(amqp_uri, dlq) or 0
    publish(amqp_uri, [bad], source="profiles")
    marker = make_event()
    publish(amqp_uri, [marker])
    audit.wait_for([marker["id"]])
    support.wait_for(lambda: (support.queue_depth(amqp_uri, dlq) or 0) == before + 1, message="dead letter")
    parked = [item for item in operations.peek_dead_letters(amqp_uri, PROFILES_QUEUE, 200)
              if item["message_id"] == bad["id"]]
    assert parked and parked[0]["attempts"] == 1
    assert "ValidationFailed" in parked[0]["error"] and field in parked[0]["error"]
    assert audit.count([bad["id"]]) == 0


def test_data_that_cannot_be_json_is_dead_lettered_not_stored_half_empty(start_audit, amqp_uri):
    audit = start_audit()
    dlq = dead_letter_queue_name(PROFILES_QUEUE)
    before = support.queue_depth(amqp_uri, dlq) or 0
    bad = make_event()
    publisher = EventPublisher(amqp_uri)
    # NaN is not JSON; kombu's json writes it anyway, as a careless producer might.
    body = json.dumps({**bad, "data": {"score": float("nan")}})
    signed = trust.event_assertion(support.keyring("profiles"), None, "profiles.events", json.loads(body))
    producer = publisher._ensure_producer()
    producer.publish(body, exchange="profiles.events", routing_key="profile.viewed", message_id=bad["id"],
                     content_type="application/json", content_encoding="utf-8", headers={"nameko.caller": signed})
    publisher.close()
    support.wait_for(lambda: (support.queue_depth(amqp_uri, dlq) or 0) == before + 1, message="dead letter")
    assert audit.count([bad["id"]]) == 0


def test_times_keep_microseconds_in_utc(start_audit, amqp_uri):
    audit = start_audit()
    moment = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=timezone(timedelta(hours=1)))
    event = make_event(at=moment)
    publish(amqp_uri, [event])
    audit.wait_for([event["id"]])
    assert audit.entry(event["id"]).at == moment
