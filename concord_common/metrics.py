"""Prometheus metrics every process exposes (gateway on /metrics, services on their ops port)."""
from prometheus_client import Counter, Histogram

WORKER_SECONDS = Histogram(
    "concord_worker_seconds", "Time spent handling one RPC call, event or HTTP request",
    ["component", "entrypoint", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter("concord_events_published_total", "Events relayed from the outbox", ["event_type"])
EVENTS_UNROUTABLE = Counter("concord_events_unroutable_total", "Events no queue was bound to", ["event_type"])
EVENTS_RETRIED = Counter("concord_events_retried_total", "Failed event deliveries scheduled again", ["queue"])
EVENTS_DEAD_LETTERED = Counter("concord_events_dead_lettered_total", "Events moved to a dead-letter queue", ["queue"])
RPC_CLIENT_ERRORS = Counter("concord_rpc_client_errors_total", "RPC calls that timed out or found no service",
                            ["service", "reason"])
