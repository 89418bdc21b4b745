"""Prometheus metrics every process exposes on its ops port (OPS_PORT: /healthz and /metrics).

The ops port is for monitoring, never for the public: it binds to an internal address only (loopback, a
private or link-local network). The gateway's public /metrics needs METRICS_TOKEN (gateway/routes/ops.py).
"""
import ipaddress
import socket

from prometheus_client import Counter, Histogram

# OPS_HOST=hostname: the address this machine's own name resolves to (in a container, its address on the
# compose network, which other containers reach and the host's public interfaces do not).
OWN_HOSTNAME = "hostname"


def ops_listen_address(host: str | None, port: int) -> tuple[str, int]:
    """Where the ops port listens; SystemExit for an address the public could reach (or every address)."""
    name = (host or "127.0.0.1").strip()
    if name == OWN_HOSTNAME:
        name = socket.gethostname()
    try:
        address = ipaddress.ip_address(socket.getaddrinfo(name, port, proto=socket.IPPROTO_TCP)[0][4][0])
    except (OSError, ValueError) as exc:
        raise SystemExit(f"OPS_HOST={host!r} does not resolve: {exc}") from None
    if address.is_unspecified or not (address.is_loopback or address.is_private or address.is_link_local):
        raise SystemExit(f"OPS_HOST={host!r} ({address}) is not an internal address: the ops port serves "
                         "/metrics and must not be public. Use 127.0.0.1, a private address, or `hostname`.")
    return str(address), port


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
WORKER_SECONDS = Histogram(
    "concord_worker_seconds", "Time spent handling one RPC call, event or HTTP request",
    ["component", "entrypoint", "outcome"], buckets=LATENCY_BUCKETS)
EVENTS_PUBLISHED = Counter("concord_events_published_total", "Events relayed from the outbox", ["event_type"])
EVENTS_UNROUTABLE = Counter("concord_events_unroutable_total", "Events no queue was bound to", ["event_type"])
EVENTS_RETRIED = Counter("concord_events_retried_total", "Failed event deliveries scheduled again", ["queue"])
EVENTS_DEAD_LETTERED = Counter("concord_events_dead_lettered_total", "Events moved to a dead-letter queue", ["queue"])
RPC_CALL_SECONDS = Histogram(
    "concord_rpc_call_seconds", "An RPC call as its caller sees it: publish, the service's work, the reply",
    ["service", "method", "outcome"], buckets=LATENCY_BUCKETS)
RPC_CLIENT_ERRORS = Counter("concord_rpc_client_errors_total", "RPC calls that timed out or found no service",
                            ["service", "reason"])
