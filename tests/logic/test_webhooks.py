"""Webhook logic against a real PostgreSQL (no broker): signing, the backoff schedule, URL checks, the event table,
fan-out, claiming by two workers at once, sealing, who manages subscriptions, and the owning service's answer to
"may this organisation view these records now?"."""
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import select, text

from concord_common.access import records
from concord_common.context import SYSTEM, Caller, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Forbidden, NotFound, ValidationFailed
from services.notifications import webhook_delivery, webhook_urls, webhooks
from services.notifications.webhook_delivery import Settings, retry_delay, schedule, signature
from services.notifications.webhook_models import WebhookDelivery
from services.notifications.webhook_secrets import Sealer, new_key_text, new_secret, parse_keys
from tests.logic import world
from tests.webhook_receivers import reference_receiver_module

ORG = str(uuid.uuid4())
ADMIN = Caller(kind="user", id="u-admin", organisation_id=ORG, roles=("org_admin",))
CLIENT = Caller(kind="client", id="c-1", organisation_id=ORG, scopes=("webhooks:manage",))
SEALER = Sealer(parse_keys(new_key_text()))
LOCAL = {"WEBHOOKS_ALLOW_PRIVATE": True}


@pytest.fixture
def db(notifications_db):
    return notifications_db


def work(engine, caller=SYSTEM):
    return unit_of_work(engine, "notifications", caller, new_request_id())


def read(engine, fn, caller, *args):
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        return fn(session, caller, *args)


def subscribe(engine, caller=ADMIN, events=("profile.created",), url="https://127.0.0.1:9/hook"):
    with work(engine, caller) as uow:
        return webhooks.subscribe(uow, {"url": url, "events": list(events)}, SEALER, LOCAL)


def internal_event(event_type="profile.created", source="profiles", record_id=None, **data):
    record_type = "case" if source == "cases" else event_type.split(".")[0]
    return {"id": str(uuid.uuid4()), "type": event_type, "source": source,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "data": {"record": {"type": record_type, "id": record_id or str(uuid.uuid4())},
                     "owner": {"organisation_id": ORG, "team_id": "t"}, **data}}


# -- signing ------------------------------------------------------------------------------------------------------
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_and_the_reference_receiver_accepts_only_it():
    body = webhook_delivery.body_bytes({"id": "e1", "type": "profile.created", "occurred_at": "x", "data": {}})
    header = signature("whsec_abc", body, 1_700_000_000)
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    verify = reference_receiver_module().verify
    assert verify(b"whsec_abc", header, body, now=1_700_000_000 + 299)
    assert not verify(b"whsec_abc", header, body, now=1_700_000_000 + 301)         # too old: a replay
    assert not verify(b"whsec_abd", header, body, now=1_700_000_000)               # another secret
    assert not verify(b"whsec_abc", header, body + b" ", now=1_700_000_000)        # another body
    assert not verify(b"whsec_abc", header.replace("t=1700000000", "t=1700000001"), body, now=1_700_000_000)
    assert not verify(b"whsec_abc", "", body) and not verify(b"whsec_abc", "t=x,v1=y", body)


def test_secrets_are_sealed_to_their_subscription_and_open_with_an_older_key_during_a_rotation():
    secret, old = new_secret(), new_key_text()
    sealed = Sealer(parse_keys(old)).seal(secret, "sub-1")
    assert secret not in sealed and secret.startswith("whsec_")
    rotated = Sealer(parse_keys(new_key_text() + "\n" + old))
    assert rotated.open(sealed, "sub-1") == secret
    with pytest.raises(Exception):
        rotated.open(sealed, "sub-2")            # moved to another subscription: refused
    with pytest.raises(ValueError):
        Sealer(parse_keys(new_key_text())).open(sealed, "sub-1")


# -- backoff ------------------------------------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_is_capped_and_stops_at_the_end_of_the_window():
    settings = Settings(retry_base=10, retry_max=3600, retry_window=86400)
    assert [retry_delay(n, settings, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert [retry_delay(n, settings, rand=lambda: 0.0) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_delay(30, settings, rand=lambda: 1.0) == 3600
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # Retried for the whole day, then no more: the worst case tries about 31 times.
    at, attempts = start, 0
    while True:
        attempts += 1
        following = schedule(start, at, attempts, settings, rand=lambda: 1.0)
        if following is None:
            break
        at = following
    assert timedelta(hours=23) <= at - start <= timedelta(hours=24) and 25 <= attempts <= 40
    assert schedule(start, start + timedelta(hours=23, minutes=59), 8, settings, rand=lambda: 1.0) is None
    assert schedule(start, start + timedelta(hours=23), 8, settings, rand=lambda: 1.0) is not None


# -- URLs ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, words", [
    ("http://93.184.215.14/hook", "must use https"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://localhost:8443/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://100.64.0.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://0.0.0.0/hook", "private"),
    ("https://nothing-here.invalid/hook", "could not be resolved"),
    ("https://user:pw@93.184.215.14/hook", "user name or password"),
    ("ftp://93.184.215.14/hook", "https://"),
    ("https:///nohost", "https://"),
])
def test_urls_that_are_not_https_or_not_public_are_refused(url, words):
    with pytest.raises(webhook_urls.UrlRefused) as refused:
        webhook_urls.check(url)
    assert words in str(refused.value)


def test_a_public_address_passes_and_the_settings_let_local_receivers_through():
    target = webhook_urls.check("https://93.184.215.14:8443/in?x=1")
    assert (target.host, target.port, target.path, target.addresses) == ("93.184.215.14", 8443, "/in?x=1",
                                                                          ("93.184.215.14",))
    assert target.host_header == "93.184.215.14:8443"
    assert webhook_urls.check("https://127.0.0.1/hook", allow_private=True).addresses == ("127.0.0.1",)
    assert webhook_urls.check("http://localhost/hook", allow_private=True, allow_http=True).scheme == "http"


# -- the event table ------------------------------------------------------------------------------------------------
def test_every_internal_event_maps_to_a_listed_public_type_with_minimal_data():
    for (source, internal), mapping in webhooks.INTERNAL.items():
        data = {"reminder": "overdue", "fields": {"given_name": {"before": "A", "after": "B"}},
                "profile": {"given_name": "Secret"}, "action": {"id": "a1", "title": "Visit", "due": "2026-01-02",
                                                                "status": "open", "detail": "private"}}
        event = internal_event(internal, source, **data)
        body = webhooks.public_event(event)
        assert body["type"] == mapping.public and body["type"] in webhooks.PUBLIC_TYPES
        assert set(body) == {"id", "type", "occurred_at", "data"} and body["occurred_at"] == event["occurred_at"]
        record = body["data"]["record"]
        assert record["id"] == event["data"]["record"]["id"] and record["path"].startswith("/api/v1/")
        flat = json.dumps(body)
        assert "Secret" not in flat and "private" not in flat and "Visit" not in flat and '"B"' not in flat
        assert webhooks.public_event(event)["id"] == body["id"]                 # stable: derived, not drawn
    assert webhooks.public_event(internal_event("case.action_reminder_sent", "cases", reminder="due_soon")) is None
    assert webhooks.public_event(internal_event("profile.viewed")) is None
    assert webhooks.public_event(internal_event("case.closed", "cases"))["data"]["record"]["path"].startswith(
        "/api/v1/cases/")


def test_fan_out_writes_one_pending_delivery_per_wanting_subscription_once_per_event(db):
    wants = subscribe(db, events=("profile.created", "case.closed"))
    subscribe(db, CLIENT, events=("case.closed",))
    event = internal_event()
    for _ in range(2):                                   # the broker may deliver an event twice
        with work(db) as uow:
            webhooks.fan_out(uow, event)
    with db.connect() as conn:
        rows = conn.execute(select(WebhookDelivery)).all()
    assert [(r.subscription_id, r.status, r.event_type, r.record_type) for r in rows] == [
        (wants["id"], "pending", "profile.created", "profile")]
    assert rows[0].payload == webhooks.public_event(event)


# -- who manages ----------------------------------------------------------------------------------------------------
def test_only_org_admins_and_scoped_clients_manage_and_only_their_own_organisations(db):
    made = subscribe(db)
    assert made["secret"].startswith("whsec_")
    assert "secret" not in read(db, webhooks.get_subscription, ADMIN, made["id"])
    with db.connect() as conn:
        sealed = conn.execute(text("SELECT secret_sealed FROM webhook_subscriptions")).scalar()
    assert made["secret"] not in sealed and SEALER.open(sealed, made["id"]) == made["secret"]
    other_admin = Caller(kind="user", id="u-x", organisation_id=str(uuid.uuid4()), roles=("org_admin",))
    for stranger in (other_admin, Caller(kind="client", id="c-x", organisation_id=str(uuid.uuid4()),
                                         scopes=("webhooks:manage",))):
        with pytest.raises(NotFound):
            read(db, webhooks.get_subscription, stranger, made["id"])
        assert read(db, webhooks.list_subscriptions, stranger)["items"] == []
    for refused in (Caller(kind="user", id="u-p", organisation_id=ORG, teams=({"id": "t", "role": "supervisor"},)),
                    Caller(kind="client", id="c-2", organisation_id=ORG, scopes=("profiles:read",)), SYSTEM,
                    Caller()):
        with pytest.raises(Forbidden):
            read(db, webhooks.list_subscriptions, refused)
    assert [item["id"] for item in read(db, webhooks.list_subscriptions, CLIENT)["items"]] == [made["id"]]


@pytest.mark.parametrize("payload, field", [
    ({"url": "https://127.0.0.1/h", "events": ["profile.made"]}, "events"),
    ({"url": "https://127.0.0.1/h", "events": []}, "events"),
    ({"url": "https://127.0.0.1/h"}, "events"),
    ({"url": "http://127.0.0.1/h", "events": ["profile.created"]}, "url"),
    ({"events": ["profile.created"]}, "url"),
])
def test_bad_subscriptions_name_the_field_and_write_nothing(db, payload, field):
    with pytest.raises(ValidationFailed) as failed:
        with work(db, ADMIN) as uow:
            webhooks.subscribe(uow, payload, SEALER, LOCAL)
    assert field in failed.value.errors
    assert read(db, webhooks.list_subscriptions, ADMIN)["items"] == []


# -- claiming -------------------------------------------------------------------------------------------------------
def _deliveries(db, subscription_id, count):
    for _ in range(count):
        with work(db) as uow:
            webhooks.fan_out(uow, internal_event())


def test_two_workers_claiming_at_once_share_the_work_and_never_exceed_the_per_subscription_bound(db):
    first, second = subscribe(db), subscribe(db, CLIENT)
    _deliveries(db, None, 10)                             # ten events, wanted by both subscriptions: 20 rows
    settings = Settings(per_subscription=3)
    claims = list(eventlet.GreenPool(2).imap(lambda _: webhook_delivery.claim(db, settings, 50), range(2)))
    ids = [d.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids))                      # nobody claimed what another did
    by_subscription = {}
    for claim in claims:
        for delivery in claim:
            by_subscription[delivery.subscription_id] = by_subscription.get(delivery.subscription_id, 0) + 1
    assert by_subscription == {first["id"]: 3, second["id"]: 3}
    assert webhook_delivery.claim(db, settings, 50) == []            # leased: nothing more until one finishes
    # Either worker may have claimed all six (the other found them locked): finish any one of them.
    finished = next(delivery for claim in claims for delivery in claim)
    webhook_delivery.delivered(db, finished, 204)
    again = webhook_delivery.claim(db, settings, 50)
    assert len(again) == 1 and again[0].subscription_id == finished.subscription_id


def test_an_expired_lease_is_claimed_again_and_a_late_outcome_of_the_old_lease_is_ignored(db):
    subscribe(db)
    _deliveries(db, None, 1)
    settings = Settings(per_subscription=1)
    [stale] = webhook_delivery.claim(db, settings, 10)
    with db.begin() as conn:
        conn.execute(text("UPDATE webhook_deliveries SET lease_until = now() - interval '1 second'"))
    [fresh] = webhook_delivery.claim(db, settings, 10)
    assert fresh.id == stale.id
    assert not webhook_delivery.delivered(db, stale, 204)            # the replica that lost its lease
    assert webhook_delivery.delivered(db, fresh, 204)


def test_failures_back_off_then_dead_letter_and_a_redelivery_starts_a_fresh_window(db):
    made = subscribe(db)
    _deliveries(db, None, 1)
    settings = Settings(retry_base=0.01, retry_max=0.02, retry_window=600)
    [delivery] = webhook_delivery.claim(db, settings, 10)
    webhook_delivery.attempt_failed(db, delivery, settings, 500, "The receiver answered 500.")
    listed = read(db, webhooks.list_deliveries, ADMIN, made["id"])["items"][0]
    assert (listed["status"], listed["attempts"], listed["last_status_code"]) == ("pending", 1, 500)
    with db.begin() as conn:
        conn.execute(text("UPDATE webhook_deliveries SET window_started_at = now() - interval '1 hour', "
                          "next_attempt_at = now()"))
    [delivery] = webhook_delivery.claim(db, settings, 10)
    webhook_delivery.attempt_failed(db, delivery, settings, None, "No answer within 10 s.")
    listed = read(db, webhooks.list_deliveries, ADMIN, made["id"])["items"][0]
    assert (listed["status"], listed["attempts"], listed["last_error"]) == ("failed", 2, "No answer within 10 s.")
    assert read(db, webhooks.get_subscription, ADMIN, made["id"])["failed"] == 1
    with work(db, CLIENT) as uow:
        again = webhooks.redeliver(uow, made["id"], listed["id"])
    assert again["status"] == "pending" and again["event_id"] == listed["event_id"]
    [delivery] = webhook_delivery.claim(db, settings, 10)
    assert delivery.payload["id"] == listed["event_id"]


def test_a_skipped_delivery_is_not_listed_nor_redeliverable(db):
    made = subscribe(db)
    _deliveries(db, None, 1)
    [delivery] = webhook_delivery.claim(db, Settings(), 10)
    webhook_delivery.skipped(db, delivery, "The organisation may not view this record now.")
    assert read(db, webhooks.list_deliveries, ADMIN, made["id"])["items"] == []
    with pytest.raises(NotFound):
        with work(db, ADMIN) as uow:
            webhooks.redeliver(uow, made["id"], delivery.id)
    with db.connect() as conn:
        assert conn.execute(text("SELECT status FROM webhook_deliveries")).scalar() == "skipped"


def test_access_is_asked_once_per_service_and_organisation_and_a_failed_check_postpones(db):
    subscribe(db, events=("profile.created", "case.closed"))
    with work(db) as uow:
        webhooks.fan_out(uow, internal_event())
        webhooks.fan_out(uow, internal_event())
        webhooks.fan_out(uow, internal_event("case.closed", "cases"))
    claimed = webhook_delivery.claim(db, Settings(per_subscription=10), 10)
    asked = []

    def ask(service, organisation_id, refs):
        asked.append((service, organisation_id, len(refs)))
        if service == "cases":
            raise RuntimeError("cases is down")
        return {"visible": [refs[0]]}
    visible, unchecked = webhook_delivery.visible_now(claimed, ask)
    assert sorted(asked) == [("cases", ORG, 1), ("profiles", ORG, 2)]
    assert len(visible) == 1 and [d.record_type for d in unchecked] == ["case"]


# -- the owning service's answer ---------------------------------------------------------------------------------
def test_visible_to_organisation_is_what_the_organisation_leads_or_is_granted_now_and_for_the_system_only(uow):
    kinds = {"profile": world.PROFILE_KIND, "family": world.FAMILY_KIND}
    with uow(world.LEAD) as w:
        led = world.person(w.session, "Ada", "Led")
        team_shared = world.person(w.session, "Bo", "Teamshared")
        org_shared = world.person(w.session, "Cy", "Orgshared")
        w.session.flush()
        world.grant(w.session, team_shared.id, "team", world.TEAM_C1, "view")
        revocable = world.grant(w.session, org_shared.id, "organisation", world.ORG_C, "view")
    refs = [{"type": "profile", "id": p.id} for p in (led, team_shared, org_shared)] + [
        {"type": "profile", "id": str(uuid.uuid4())}, {"type": "case", "id": led.id}, {"type": "profile", "id": "x"}]

    def visible(organisation):
        with uow(SYSTEM) as w:
            answer = records.visible_to_organisation(w.session, SYSTEM, kinds, organisation, refs)
        return {item["id"] for item in answer["visible"]}
    assert visible(world.ORG_A) == {led.id, team_shared.id, org_shared.id}
    assert visible(world.ORG_C) == {org_shared.id}          # a grant to one of its teams is not the organisation's
    assert visible(world.ORG_D) == set()
    from concord_common import clock
    from concord_common.access.store import grants
    with uow(SYSTEM) as w:
        w.session.execute(grants.update().where(grants.c.id == revocable).values(revoked_at=clock.now()))
    assert visible(world.ORG_C) == set()
    for caller in (world.LEAD, world.client(world.ORG_A, "profiles:read"), Caller()):
        with pytest.raises(Forbidden):
            with uow(caller) as w:
                records.visible_to_organisation(w.session, caller, kinds, world.ORG_A, refs)


def test_a_subscription_another_worker_is_claiming_for_is_skipped_not_waited_for(db):
    first, second = subscribe(db), subscribe(db, CLIENT)
    _deliveries(db, None, 2)
    with db.connect() as other:                          # another replica, mid-claim for the first subscription
        other.execute(text("SELECT id FROM webhook_subscriptions WHERE id = :id FOR UPDATE"), {"id": first["id"]})
        claimed = webhook_delivery.claim(db, Settings(per_subscription=5), 10)
        assert {d.subscription_id for d in claimed} == {second["id"]} and len(claimed) == 2
        other.rollback()
    assert {d.subscription_id for d in webhook_delivery.claim(db, Settings(per_subscription=5), 10)} == {first["id"]}


def test_the_ops_gauges_count_pending_and_dead_lettered_deliveries(db):
    from services.notifications.webhook_sender import gauges
    subscribe(db)
    _deliveries(db, None, 3)
    [first, *_] = webhook_delivery.claim(db, Settings(per_subscription=1), 10)
    settings = Settings(retry_window=0)
    webhook_delivery.attempt_failed(db, first, settings, 503, "The receiver answered 503.")
    with db.connect() as conn:
        assert sorted(gauges(conn)) == [("concord_webhook_deliveries", ["failed"], 1),
                                        ("concord_webhook_deliveries", ["pending"], 2)]


def test_each_delivery_checks_the_address_again_and_goes_only_to_the_one_checked():
    """A URL accepted once is checked again at every send: a name now resolving to a loopback address (DNS
    rebinding) gets no request at all; a trusted receiver gets one, on the vetted address, named in Host."""
    from tests.webhook_receivers import Certificates, Receiver
    certificates = Certificates()
    receiver = Receiver(certificates, "ok")
    try:
        body = {"id": "e1", "type": "profile.created", "occurred_at": "now", "data": {"record": {}}}
        url = receiver.url.replace("127.0.0.1", "localhost")
        refused = webhook_delivery.post(url, body, "whsec_x", Settings(ca_file=str(certificates.ca_file)))
        assert not refused.ok and "loopback" in refused.error and receiver.received == []
        untrusted = webhook_delivery.post(url, body, "whsec_x", Settings(allow_private=True))
        assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.error and receiver.received == []
        trusted = Settings(allow_private=True, ca_file=str(certificates.ca_file))
        sent = webhook_delivery.post(url, body, "whsec_x", trusted, now=1_700_000_000)
        assert sent.ok and sent.status_code == 204
        [(_, headers, received, _)] = receiver.received
        assert received == body and headers["Host"] == url.split("/")[2]
        assert headers["Concord-Signature"] == signature("whsec_x", webhook_delivery.body_bytes(body), 1_700_000_000)
    finally:
        receiver.close()
