"""Gauges a service reports when Prometheus scrapes its ops port: the depth and consumers of its queues, its
outbox's size and lag, its scheduled jobs' last run and the work waiting for them, and whatever the service
adds (the audit chain's head age and last verification).

They are read at scrape time, not kept up to date by the code that changes them: a queue's depth lives in the
broker, an outbox's lag in the database. Each read is cached for CACHE_SECONDS, so a scrape every few seconds
(or several Prometheus servers) costs one passive queue declaration per queue and a few indexed queries at most
that often. Every service class has `ops = OpsMetrics()` (via ServiceBase); a read that fails leaves its
gauges out of that scrape and counts in concord_ops_scrape_errors_total, never breaking /metrics.
"""
import logging
import time
import weakref

from kombu import Connection
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
SCRAPE_ERRORS = Counter("concord_ops_scrape_errors_total", "Reads for the scrape-time gauges that failed",
                        ["service", "source"])

# name: (help, labels after `service`)
GAUGES = {
    "concord_queue_messages": ("Messages ready in a queue this service consumes (its RPC queue, its event "
                               "queues and their dead-letter queues)", ["queue"]),
    "concord_queue_consumers": ("Consumers attached to a queue this service consumes", ["queue"]),
    "concord_outbox_pending": ("Events written to the outbox and not yet published", []),
    "concord_outbox_lag_seconds": ("Age of the oldest event not yet published (0 when none)", []),
    "concord_scheduled_last_tick_timestamp_seconds": ("The last tick of a scheduled job that ran (unix time)",
                                                       ["job"]),
    "concord_scheduled_due": ("Items of work due for a scheduled job (reviews, reminders, deliveries…)", ["job"]),
    "concord_audit_head_age_seconds": ("Time since the newest entry was appended to the audit chain", []),
    "concord_audit_verified_ok": ("1 if the last verification of the audit chain found it intact, else 0", []),
    "concord_audit_verified_timestamp_seconds": ("When the audit chain was last verified (unix time)", []),
    "concord_email_pending": ("E-mails waiting to be resolved or sent (notifications' outbox)", []),
    "concord_email_failed": ("E-mails given up on after their retries (an operator should look)", []),
    "concord_email_oldest_pending_seconds": ("Age of the oldest e-mail waiting to be sent (0 when none)", []),
    "concord_webhook_deliveries": ("Webhook deliveries waiting to be (re)tried (pending) or dead-lettered (failed)",
                                   ["status"]),
}

# job name -> fn(connection) -> int: how much work is waiting for a scheduled job (registered by its module).
DUE_WORK: dict[str, object] = {}


# service name -> [fn(connection) -> iterable of (gauge name, label values, value)]: a service's own gauges,
# registered by the module that owns them (as DUE_WORK), declared in GAUGES.
SERVICE_GAUGES: dict[str, list] = {}


def service_gauges(service: str):
    """Decorator: `fn(connection)` yields gauges of `service`'s own (e.g. notifications' e-mail outbox)."""
    def register(fn):
        SERVICE_GAUGES.setdefault(service, []).append(fn)
        return fn
    return register


def due_work(job_name: str):
    """Decorator: `fn(connection) -> int` counts the work due for `job_name` (concord_scheduled_due)."""
    def register(fn):
        DUE_WORK[job_name] = fn
        return fn
    return register


class OpsMetrics(DependencyProvider):
    """Registers this service's scrape-time sources while its container runs. `extra(connection)` may yield
    (gauge name, label values, value) for gauges of the service's own (declared in GAUGES)."""

    def __init__(self, extra=None):
        self.extra = extra
        self._cache: tuple[float, list] | None = None

    def setup(self):
        _SOURCES.add(self)

    def stop(self):
        _SOURCES.discard(self)

    kill = stop

    @property
    def service(self) -> str:
        return self.container.service_name

    def queues(self) -> list[str]:
        names = {f"rpc-{self.service}"}
        for entrypoint in self.container.entrypoints:
            queue = getattr(entrypoint, "queue", None)
            if queue is not None and getattr(entrypoint, "dead_letter_queue", None) is not None:
                names.update((queue.name, entrypoint.dead_letter_queue.name))
        return sorted(names)

    def samples(self) -> list[tuple[str, list[str], float]]:
        now = time.monotonic()
        if self._cache and now - self._cache[0] < CACHE_SECONDS:
            return self._cache[1]
        found = self._read_queues() + self._read_database()
        self._cache = (now, found)
        return found

    def _read_queues(self) -> list:
        found = []
        try:
            with Connection(self.container.config["AMQP_URI"], connect_timeout=2) as conn:
                for queue in self.queues():
                    channel = conn.channel()
                    try:
                        _, messages, consumers = channel.queue_declare(queue, passive=True)
                    except Exception:        # not declared (yet): nothing to report for it
                        continue
                    finally:
                        _close_quietly(channel)
                    found += [("concord_queue_messages", [queue], messages),
                              ("concord_queue_consumers", [queue], consumers)]
        except Exception as exc:
            SCRAPE_ERRORS.labels(self.service, "broker").inc()
            log.debug("queue gauges of %s unavailable: %s", self.service, exc)
        return found

    def _read_database(self) -> list:
        engine = _engine_of(self.container)
        if engine is None:
            return []
        found = []
        try:
            with engine.connect() as conn:
                pending, lag = conn.execute(text(
                    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                    "FROM outbox WHERE published_at IS NULL")).one()
                found += [("concord_outbox_pending", [], pending), ("concord_outbox_lag_seconds", [], float(lag))]
                if conn.execute(text("SELECT to_regclass('scheduled_runs')")).scalar():
                    for job, last in conn.execute(text(
                            "SELECT job, extract(epoch FROM max(tick)) FROM scheduled_runs GROUP BY job")):
                        found.append(("concord_scheduled_last_tick_timestamp_seconds", [job], float(last)))
                for job, count in _due_counts(conn, self.service):
                    found.append(("concord_scheduled_due", [job], count))
                if self.extra:
                    found += list(self.extra(conn))
                for gauges in SERVICE_GAUGES.get(self.service, ()):
                    found += list(gauges(conn))
        except Exception as exc:
            SCRAPE_ERRORS.labels(self.service, "database").inc()
            log.debug("database gauges of %s unavailable: %s", self.service, exc)
        return found


def _due_counts(conn, service: str):
    for job, count in DUE_WORK.items():
        if job.split(".", 1)[0] == service:
            yield job, count(conn)


def _engine_of(container):
    from concord_common.db import Database
    for dependency in container.dependencies:
        if isinstance(dependency, Database):
            return dependency.engine
    return None


def _close_quietly(channel):
    try:
        channel.close()
    except Exception:
        pass


class _Collector:
    """One collector per process, over every OpsMetrics alive in it (a process may run several services in
    tests; in production it runs one)."""

    def describe(self):
        return []                       # collected fresh on every scrape; nothing to check at registration

    def collect(self):
        families = {name: GaugeMetricFamily(name, help_text, labels=["service", *labels])
                    for name, (help_text, labels) in GAUGES.items()}
        for source in list(_SOURCES):
            for name, labels, value in source.samples():
                families[name].add_metric([source.service, *labels], value)
        yield from families.values()


_SOURCES: "weakref.WeakSet[OpsMetrics]" = weakref.WeakSet()
REGISTRY.register(_Collector())
