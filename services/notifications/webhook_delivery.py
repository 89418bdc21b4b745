"""Sending webhook deliveries: claim due rows, re-check access, sign, POST, record the outcome. No nameko here
(the loop that drives it is webhook_sender.py).

* Claiming is one short transaction: subscriptions with due deliveries are locked FOR UPDATE SKIP LOCKED (so
  replicas share the work and never claim for the same subscription at once), and at most PER_SUBSCRIPTION of a
  subscription's deliveries are ever leased at a time, cluster-wide: a dead receiver holds that many sending
  slots, never all of them. A lease (lease_until) replaces a lock held across the HTTP call: no transaction or
  connection is open while a receiver is slow, and a replica that dies mid-send leaves a lease that expires, so
  the delivery is tried again (at least once; receivers de-duplicate on the event id).
* Access is asked of the owning service at send time (visible_to_organisation), never remembered.
* A non-2xx answer, a timeout or a refused address is retried with exponential backoff and jitter until the
  retry window (24 h from the event, or from a redelivery) is over; then the delivery is dead-lettered
  (`failed`), visible to the subscriber, who may redeliver it.
"""
import hashlib
import hmac
import json
import logging
import random
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import certifi
import eventlet
import urllib3
from sqlalchemy import text
from sqlalchemy.orm import Session

from concord_common import clock, record_types
from services.notifications import webhook_urls

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Concord-Signature"
USER_AGENT = "Concord-Webhooks/1"
RESPONSE_BYTES_READ = 4096


@dataclass(frozen=True)
class Settings:
    allow_private: bool = False
    allow_http: bool = False
    connect_timeout: float = 3.0
    timeout: float = 10.0                    # the whole request, connect to last byte
    retry_base: float = 10.0                 # first retry after about this long; doubling
    retry_max: float = 3600.0                # no wait longer than this
    retry_window: float = 86400.0            # then dead-lettered
    per_subscription: int = 4                # deliveries of one subscription in flight at once, cluster-wide
    concurrency: int = 50                    # deliveries in flight in one replica
    ca_file: str | None = None               # trust these CAs instead of certifi's (private PKI, tests)

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        def number(name, default):
            value = config.get(name)
            return float(value) if value not in (None, "") else default
        return cls(allow_private=webhook_urls.flag(config.get("WEBHOOKS_ALLOW_PRIVATE")),
                   allow_http=webhook_urls.flag(config.get("WEBHOOKS_ALLOW_HTTP")),
                   connect_timeout=number("WEBHOOKS_CONNECT_TIMEOUT", cls.connect_timeout),
                   timeout=number("WEBHOOKS_TIMEOUT_SECONDS", cls.timeout),
                   retry_base=number("WEBHOOKS_RETRY_BASE_SECONDS", cls.retry_base),
                   retry_max=number("WEBHOOKS_RETRY_MAX_SECONDS", cls.retry_max),
                   retry_window=number("WEBHOOKS_RETRY_WINDOW_SECONDS", cls.retry_window),
                   per_subscription=int(number("WEBHOOKS_PER_SUBSCRIPTION", cls.per_subscription)),
                   concurrency=int(number("WEBHOOKS_CONCURRENCY", cls.concurrency)),
                   ca_file=config.get("WEBHOOKS_CA_FILE") or None)

    @property
    def lease(self) -> float:
        return self.timeout * 2 + 5


# -- signing ------------------------------------------------------------------------------------------------------
def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (the secret's UTF-8 bytes are the key)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# -- backoff ------------------------------------------------------------------------------------------------------
def retry_delay(attempts: int, settings: Settings, rand=random.random) -> float:
    """Seconds before the next try after `attempts` failed ones: base·2^(attempts-1), capped, with "equal jitter"
    (between half and all of it), so receivers that failed together are not retried together."""
    ceiling = min(settings.retry_max, settings.retry_base * (2 ** max(0, attempts - 1)))
    return ceiling / 2 + rand() * ceiling / 2


def schedule(window_started_at: datetime, now: datetime, attempts: int, settings: Settings,
             rand=random.random) -> datetime | None:
    """When to try again after `attempts` failures, or None: the retry window is over (dead-letter it)."""
    at = now + timedelta(seconds=retry_delay(attempts, settings, rand))
    return at if at <= window_started_at + timedelta(seconds=settings.retry_window) else None


# -- claiming -----------------------------------------------------------------------------------------------------
@dataclass
class Claimed:
    id: str
    subscription_id: str
    organisation_id: str
    url: str
    secret_sealed: str
    event_id: str
    record_type: str
    record_id: str
    payload: dict
    attempts: int
    window_started_at: datetime
    lease_until: datetime


_DUE = ("d.status = 'pending' AND d.next_attempt_at <= now() "
        "AND (d.lease_until IS NULL OR d.lease_until <= now())")
_CLAIM = text(f"""
WITH subs AS (
    SELECT s.id FROM webhook_subscriptions s
    WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.subscription_id = s.id AND {_DUE})
    ORDER BY random() LIMIT :max_subscriptions
    FOR UPDATE OF s SKIP LOCKED
), picked AS (
    SELECT p.id FROM subs CROSS JOIN LATERAL (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.subscription_id = subs.id AND {_DUE}
        ORDER BY d.next_attempt_at
        LIMIT GREATEST(0, :per_subscription - (
            SELECT count(*) FROM webhook_deliveries i
            WHERE i.subscription_id = subs.id AND i.status = 'pending' AND i.lease_until > now()))
    ) p
    LIMIT :limit
)
UPDATE webhook_deliveries w SET lease_until = now() + make_interval(secs => :lease)
FROM picked, webhook_subscriptions s
WHERE w.id = picked.id AND s.id = w.subscription_id
RETURNING w.id, w.subscription_id, s.organisation_id, s.url, s.secret_sealed, w.event_id, w.record_type,
          w.record_id, w.payload, w.attempts, w.window_started_at, w.lease_until
""")


def claim(engine, settings: Settings, limit: int) -> list[Claimed]:
    """Lease up to `limit` due deliveries (at most `per_subscription` in flight per subscription)."""
    if limit <= 0:
        return []
    with Session(engine) as session, session.begin():
        rows = session.execute(_CLAIM, {"max_subscriptions": max(1, limit), "per_subscription":
                                        settings.per_subscription, "limit": limit, "lease": settings.lease}).all()
    return [Claimed(str(row[0]), str(row[1]), *row[2:]) for row in rows]


# -- the outcome --------------------------------------------------------------------------------------------------
def _settle(engine, delivery: Claimed, values: dict) -> bool:
    """Record the outcome if the lease is still ours (a redelivery or an expired lease may have moved on)."""
    sets = ", ".join(f"{key} = :{key}" for key in values)
    with Session(engine) as session, session.begin():
        done = session.execute(text(f"UPDATE webhook_deliveries SET {sets}, lease_until = NULL "
                                    f"WHERE id = :id AND lease_until = :lease_until"),
                               {**values, "id": delivery.id, "lease_until": delivery.lease_until})
        return done.rowcount == 1


def _now(engine) -> datetime:
    return clock.now()          # (one round trip fewer per delivery than asking the database)


def delivered(engine, delivery: Claimed, status_code: int) -> bool:
    now = _now(engine)
    return _settle(engine, delivery, {"status": "delivered", "attempts": delivery.attempts + 1,
                                      "last_attempt_at": now, "last_status_code": status_code,
                                      "last_error": None, "finished_at": now})


def attempt_failed(engine, delivery: Claimed, settings: Settings, status_code: int | None, error: str) -> bool:
    now = _now(engine)
    attempts = delivery.attempts + 1
    next_at = schedule(delivery.window_started_at, now, attempts, settings)
    values = {"attempts": attempts, "last_attempt_at": now, "last_status_code": status_code,
              "last_error": error[:500]}
    if next_at is None:
        values.update(status="failed", finished_at=now)
        log.warning("webhook delivery %s dead-lettered after %s attempts: %s", delivery.id, attempts, error,
                    extra={"fields": {"delivery_id": delivery.id, "subscription_id": delivery.subscription_id}})
    else:
        values["next_attempt_at"] = next_at
    return _settle(engine, delivery, values)


def skipped(engine, delivery: Claimed, why: str) -> bool:
    now = _now(engine)
    return _settle(engine, delivery, {"status": "skipped", "last_error": why, "finished_at": now})


def postponed(engine, delivery: Claimed, settings: Settings, why: str) -> bool:
    """Not tried (the access check could not be made): later, without counting an attempt."""
    now = _now(engine)
    return _settle(engine, delivery, {"next_attempt_at": now + timedelta(seconds=settings.retry_base),
                                      "last_error": why[:500]})


# -- access at send time ------------------------------------------------------------------------------------------
def visible_now(deliveries: list[Claimed], ask) -> tuple[set, list]:
    """({delivery ids the organisation may view the record of now}, [deliveries whose check failed]).

    `ask(service, organisation_id, records)` is the owning service's visible_to_organisation: one call per
    (service, organisation) in the batch."""
    groups: dict[tuple, list[Claimed]] = {}
    for delivery in deliveries:
        owner = record_types.by_name(delivery.record_type)
        groups.setdefault((owner.service if owner else None, delivery.organisation_id), []).append(delivery)
    visible, unchecked = set(), []
    for (service, organisation_id), group in groups.items():
        if service is None:
            continue                    # a record type nobody owns (any more): nobody may see it
        try:
            answer = ask(service, organisation_id, [{"type": d.record_type, "id": d.record_id} for d in group])
        except Exception as exc:
            log.warning("webhook access check with %s failed: %s", service, exc)
            unchecked.extend(group)
            continue
        seen = {(item["type"], str(item["id"])) for item in answer.get("visible") or ()}
        visible.update(d.id for d in group if (d.record_type, d.record_id) in seen)
    return visible, unchecked


# -- the HTTP request ---------------------------------------------------------------------------------------------
_POOLS: "OrderedDict[tuple, urllib3.HTTPConnectionPool]" = OrderedDict()
MAX_POOLS = 256


def _pool(target: webhook_urls.Target, settings: Settings):
    address = target.addresses[0]
    key = (target.scheme, address, target.port, target.host, settings.ca_file)
    pool = _POOLS.get(key)
    if pool is None:
        timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.timeout)
        if target.scheme == "https":
            is_ip = target.host == address
            pool = urllib3.HTTPSConnectionPool(
                address, target.port, timeout=timeout, maxsize=max(1, settings.concurrency), block=False,
                retries=False, ssl_context=_tls_context(settings.ca_file), server_hostname=None if is_ip else
                target.host, assert_hostname=target.host)
        else:
            pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout,
                                              maxsize=max(1, settings.concurrency), block=False, retries=False)
        _POOLS[key] = pool
        while len(_POOLS) > MAX_POOLS:
            _POOLS.popitem(last=False)[1].close()
    _POOLS.move_to_end(key)
    return pool


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates verified against certifi's CAs (or WEBHOOKS_CA_FILE's). Made from the ssl module as it is now
    (green under eventlet), not by urllib3, which may hold the class from before eventlet patched it. The name is
    matched by urllib3 against the URL's host, as the connection goes to the vetted address."""
    context = ssl.create_default_context(cafile=ca_file or certifi.where())
    context.check_hostname = False              # urllib3 matches assert_hostname itself (verify_mode stays required)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    seconds: float


def post(url: str, payload: dict, secret: str, settings: Settings, now: float | None = None) -> Outcome:
    """POST the signed payload to `url`, checked again now (and sent to the very address checked)."""
    started = time.monotonic()
    try:
        target = webhook_urls.check(url, settings.allow_private, settings.allow_http)
    except webhook_urls.UrlRefused as refused:
        return Outcome(False, None, str(refused), 0.0)
    body = body_bytes(payload)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Host": target.host_header,
               SIGNATURE_HEADER: signature(secret, body, int(now if now is not None else time.time())),
               "Concord-Event-Id": payload["id"], "Concord-Event-Type": payload["type"]}
    response = None
    try:
        with eventlet.Timeout(settings.timeout):
            response = _pool(target, settings).urlopen("POST", target.path, body=body, headers=headers,
                                                       retries=False, redirect=False, preload_content=False)
            response.read(RESPONSE_BYTES_READ)      # a little of the answer, never all of an endless one
        status = response.status
        ok = 200 <= status < 300
        return Outcome(ok, status, None if ok else f"The receiver answered {status}.", time.monotonic() - started)
    except eventlet.Timeout:
        return Outcome(False, None, f"No answer within {settings.timeout:g} s.", time.monotonic() - started)
    except Exception as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500], time.monotonic() - started)
    finally:
        if response is not None:
            try:
                response.close()
                response.release_conn()
            except Exception:
                pass


def send(engine, delivery: Claimed, sealer, settings: Settings) -> Outcome:
    """One attempt of one claimed delivery, its outcome recorded."""
    try:
        secret = sealer.open(delivery.secret_sealed, delivery.subscription_id)
    except Exception as exc:
        outcome = Outcome(False, None, f"The signing secret could not be opened: {type(exc).__name__}.", 0.0)
    else:
        outcome = post(delivery.url, delivery.payload, secret, settings)
    if outcome.ok:
        delivered(engine, delivery, outcome.status_code)
    else:
        attempt_failed(engine, delivery, settings, outcome.status_code, outcome.error)
    return outcome


def pending_counts(conn) -> dict:
    rows = conn.execute(text("SELECT status, count(*) FROM webhook_deliveries WHERE status IN ('pending', 'failed') "
                             "GROUP BY status")).all()
    found = {"pending": 0, "failed": 0}
    found.update(dict(rows))
    return found
