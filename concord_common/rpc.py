"""RPC between services with a deadline, and a fast "is anybody there?" check.

nameko's RpcProxy waits for ever. `ServiceRpc.call` waits `timeout` seconds
and then raises ServiceTimeout (the gateway answers 504); the request message
carries the same expiry, so a service that comes back later does not act on a
request whose caller has given up. A service with no consumer on its queue is
reported as ServiceUnavailable (503) at once instead of waiting.
"""
import logging
import time

import eventlet
from kombu import Connection
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import MethodProxy, ReplyListener

from concord_common import metrics
from concord_common.errors import ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

CONSUMER_CHECK_TTL = 2.0


def rpc_queue_name(service: str) -> str:
    return f"rpc-{service}"


def count_consumers(amqp_uri: str, service: str) -> int:
    """Consumers on the service's RPC queue (0 if the queue does not exist)."""
    with Connection(amqp_uri, connect_timeout=2) as conn:
        channel = conn.channel()
        try:
            _, _, consumers = channel.queue_declare(rpc_queue_name(service), passive=True)
            return consumers
        except Exception:
            return 0
        finally:
            try:
                channel.close()
            except Exception:
                pass


class RpcClient:
    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    @property
    def config(self) -> dict:
        return self._provider.container.config

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        timeout = timeout or self._provider.timeout
        if not self._provider.has_consumers(service):
            metrics.RPC_CLIENT_ERRORS.labels(service, "unavailable").inc()
            raise ServiceUnavailable(f"The {service} service is not running.")
        proxy = MethodProxy(self._worker_ctx, service, method, self._provider.reply_listener,
                            expiration=timeout)
        try:
            reply = proxy.call_async(*args, **kwargs)
        except UnknownService:
            metrics.RPC_CLIENT_ERRORS.labels(service, "unavailable").inc()
            raise ServiceUnavailable(f"The {service} service is not running.")
        try:
            with eventlet.Timeout(timeout):
                return reply.result()
        except eventlet.Timeout:
            self._provider.forget(reply)
            metrics.RPC_CLIENT_ERRORS.labels(service, "timeout").inc()
            log.warning("rpc %s.%s timed out after %ss", service, method, timeout)
            raise ServiceTimeout(f"The {service} service did not answer within {timeout:g} seconds.")


class ServiceRpc(DependencyProvider):
    """`self.rpc.call("profiles", "get_profile", profile_id)` with a deadline."""

    reply_listener = ReplyListener()

    def __init__(self, timeout: float | None = None):
        self._timeout = timeout
        self._consumers_seen: dict[str, float] = {}

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.timeout = float(self._timeout or config.get("RPC_TIMEOUT", 10))

    def has_consumers(self, service: str) -> bool:
        """Cached for a moment so the check costs a broker round trip at most every 2 s."""
        seen = self._consumers_seen.get(service)
        now = time.monotonic()
        if seen is not None and now - seen < CONSUMER_CHECK_TTL:
            return True
        if count_consumers(self.amqp_uri, service) > 0:
            self._consumers_seen[service] = now
            return True
        self._consumers_seen.pop(service, None)
        return False

    def forget(self, reply) -> None:
        """Drop the pending reply of a call we gave up on (its request expires unanswered)."""
        pending = self.reply_listener._reply_events
        for correlation_id, event in list(pending.items()):
            if event is reply.reply_event:
                pending.pop(correlation_id, None)

    def get_dependency(self, worker_ctx):
        return RpcClient(self, worker_ctx)
