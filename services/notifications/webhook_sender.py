"""The nameko edge of webhook sending: a timer in every replica that claims due deliveries and hands each to a
green pool of its own, so the timer's worker never waits on a receiver (webhook_delivery.py does the work)."""
import logging

import eventlet
from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from sqlalchemy import text
from sqlalchemy.orm import Session

from concord_common.errors import ServiceUnavailable
from services.notifications import webhook_delivery
from services.notifications.webhook_secrets import Sealer

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 0.5
PURGE_EVERY_TICKS = 2000


class DeliveryTimer(Timer):
    """nameko's timer every WEBHOOKS_POLL_SECONDS (config), or not at all where WEBHOOKS_SENDER is off."""

    def __init__(self, **kwargs):
        super().__init__(interval=DEFAULT_POLL_SECONDS, eager=True, **kwargs)

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("WEBHOOKS_POLL_SECONDS") or DEFAULT_POLL_SECONDS)
        self.enabled = str(config.get("WEBHOOKS_SENDER", True)).lower() not in ("0", "false", "no", "off")

    def start(self):
        if self.enabled:
            super().start()

    def stop(self):
        if self.gt is not None:
            super().stop()

    def kill(self):
        if self.gt is not None:
            super().kill()


delivery_timer = DeliveryTimer.decorator


class WebhookSender(DependencyProvider):
    """Per replica: the sealing keys, the settings and the pool of deliveries in flight."""

    def setup(self):
        config = self.container.config
        self.settings = webhook_delivery.Settings.from_config(config)
        self._sealer = None
        self.pool = eventlet.GreenPool(max(1, self.settings.concurrency))
        self.keep_days = int(config.get("WEBHOOKS_KEEP_DAYS") or 30)
        self.ticks = 0

    @property
    def sealer(self) -> Sealer:
        """Loaded on first use, not at start: a replica without its sealing key still serves everything else (and
        says why webhooks fail: subscribing answers an error, deliveries wait with the reason as last_error)."""
        if self._sealer is None:
            try:
                self._sealer = Sealer.from_config(self.container.config)
            except Exception as exc:
                log.error("webhooks have no sealing key: %s", exc)
                raise ServiceUnavailable("Webhooks are not set up on this server: it has no key to seal their "
                                         "secrets with (WEBHOOKS_SEALING_KEYS, docs/webhooks.md).") from None
        return self._sealer

    def stop(self):
        """Let deliveries in flight finish (they are short: the timeout bounds them); any cut off keep their
        lease, which expires, and are tried again by whichever replica is left."""
        with eventlet.Timeout(self.settings.timeout + 1, False):
            self.pool.waitall()

    def kill(self):
        pass

    def get_dependency(self, worker_ctx):
        return self

    def tick(self, engine, remote) -> int:
        self.ticks += 1
        if self.ticks % PURGE_EVERY_TICKS == 1:
            self.purge(engine)
        claimed = webhook_delivery.claim(engine, self.settings, self.pool.free())
        if not claimed:
            return 0

        def ask(service, organisation_id, records):
            return remote.call_as_system(service, "visible_to_organisation", organisation_id, records)
        try:
            sealer = self.sealer
        except ServiceUnavailable as missing:
            for delivery in claimed:
                webhook_delivery.postponed(engine, delivery, self.settings, missing.detail)
            return len(claimed)
        visible, unchecked = webhook_delivery.visible_now(claimed, ask)
        unchecked_ids = {d.id for d in unchecked}
        for delivery in claimed:
            if delivery.id in unchecked_ids:
                webhook_delivery.postponed(engine, delivery, self.settings, "The access check could not be made.")
            elif delivery.id not in visible:
                webhook_delivery.skipped(engine, delivery, "The organisation may not view this record now.")
            else:
                self.pool.spawn_n(self._send, engine, delivery, sealer)
        return len(claimed)

    def _send(self, engine, delivery, sealer):
        try:
            webhook_delivery.send(engine, delivery, sealer, self.settings)
        except Exception:           # the database went away: the lease expires and the delivery is tried again
            log.exception("webhook delivery %s could not be recorded", delivery.id)

    def purge(self, engine) -> None:
        try:
            with Session(engine) as session, session.begin():
                session.execute(text("DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'skipped') "
                                     "AND finished_at < now() - make_interval(days => :days)"),
                                {"days": self.keep_days})
        except Exception:
            log.exception("old webhook deliveries could not be purged")


def gauges(conn):
    """concord_webhook_deliveries{status="pending"|"failed"} at scrape time (concord_common.ops_metrics)."""
    for status, count in webhook_delivery.pending_counts(conn).items():
        yield "concord_webhook_deliveries", [status], count
