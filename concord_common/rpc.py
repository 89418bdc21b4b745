"""RPC between services with a deadline, and a fast "is anybody there?" check.

nameko's RpcProxy waits for ever. `ServiceRpc.call` waits `timeout` seconds
and then raises ServiceTimeout (the gateway answers 504); the request message
carries the same expiry, so a service that comes back later does not act on a
request whose caller has given up. A service with no consumer on its queue is
reported as ServiceUnavailable (503) at once instead of waiting, and so is a
broker that cannot be reached: the gateway answers 503 with Retry-After, never 500.

Every consumer (RPC, events, replies) reconnects to a broker that comes back
within RECONNECT_INTERVAL_MAX seconds (kombu's default backs off to 30 s).
"""
import logging
import socket
import time
from contextlib import contextmanager

import amqp.exceptions
import eventlet
import kombu.exceptions
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.amqp.publish import Publisher
from nameko.messaging import QueueConsumer
from nameko.rpc import MethodProxy, ReplyListener

from concord_common import context as ctx
from concord_common import metrics, trust
from concord_common.errors import ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

CONSUMER_CHECK_TTL = 2.0
RECONNECT_INTERVAL_MAX = 1.0
# A request is tried at most twice, 0.2 s apart (the second on a fresh connection if the pooled one died with a
# broker restart); then the caller is told 503 rather than kept waiting (nameko's defaults wait ~9 s).
PROMPT_RETRY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}
BROKER_ERRORS = (OSError, socket.timeout, kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
                 amqp.exceptions.RecoverableConnectionError)


def broker_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The message broker cannot be reached; try again in a few seconds.")


@contextmanager
def _establish_connection_promptly(consumer):
    """kombu's ConsumerMixin.establish_connection, retrying every RECONNECT_INTERVAL_MAX s at most."""
    with consumer.create_connection() as conn:
        conn.ensure_connection(consumer.on_connection_error, consumer.connect_max_retries,
                               interval_start=0.2, interval_step=0.4, interval_max=RECONNECT_INTERVAL_MAX)
        yield conn


# nameko's one QueueConsumer class serves every RPC, event and reply consumer of a process.
QueueConsumer.establish_connection = _establish_connection_promptly


class _PromptPublisher(Publisher):
    transport_options = dict(PROMPT_RETRY)          # connecting; `retry_policy` is for publishing
    retry_policy = PROMPT_RETRY


class _PromptMethodProxy(MethodProxy):
    publisher_cls = _PromptPublisher


def rpc_queue_name(service: str) -> str:
    return f"rpc-{service}"


def count_consumers(amqp_uri: str, service: str) -> int:
    """Consumers on the service's RPC queue (0 if the queue does not exist); ServiceUnavailable when the
    broker cannot be reached. Once, on a connection of its own (`concord restart`, the benches); a service
    keeps a ConsumerCounter."""
    counter = ConsumerCounter(amqp_uri)
    try:
        return counter.count(service)
    finally:
        counter.close()


class ConsumerCounter:
    """Consumers on a service's RPC queue, on one kept connection: a process asks every CONSUMER_CHECK_TTL
    seconds for each service it calls, and a connection opened and closed each time cost the broker and the caller
    more than the calls did at low rates (docs/capacity.md). A connection that failed, or a check that took over
    CHECK_SECONDS, is dropped and the check made once more on a fresh one; if that cannot reach the broker either,
    it raises ServiceUnavailable."""

    CHECK_SECONDS = 2.0

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._connection = self._channel = None
        self._lock = Semaphore()

    def count(self, service: str) -> int:
        with self._lock:
            for attempt in (1, 2):
                deadline = eventlet.Timeout(self.CHECK_SECONDS)
                try:
                    return self._count(service)
                except eventlet.Timeout as exc:
                    if exc is not deadline:
                        raise                           # the caller's own deadline, not ours
                    self.close()
                except BROKER_ERRORS:
                    self.close()
                finally:
                    deadline.cancel()
                if attempt == 2:
                    raise broker_unavailable()

    def _count(self, service: str) -> int:
        if self._connection is None:
            connection = Connection(self.amqp_uri, connect_timeout=self.CHECK_SECONDS)
            connection.ensure_connection(max_retries=1, interval_start=0.1, interval_step=0.1, interval_max=0.1)
            self._connection = connection
        if self._channel is None:
            self._channel = self._connection.channel()
        try:
            _, _, consumers = self._channel.queue_declare(rpc_queue_name(service), passive=True)
            return consumers
        except amqp.exceptions.NotFound:        # no such queue, so nobody consumes it; the broker closed the channel
            self._channel = None
            return 0

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                pass


class SignedContext:
    """The worker's context as one call sends it: the caller signed for that call's service and method.
    (A view, not a change to the worker's data, which other green threads of the worker share.)"""

    def __init__(self, worker_ctx, assertion: str):
        self._worker_ctx = worker_ctx
        self._assertion = assertion

    @property
    def context_data(self) -> dict:
        data = self._worker_ctx.context_data
        data[ctx.CALLER_KEY] = self._assertion
        return data

    def __getattr__(self, name):
        return getattr(self._worker_ctx, name)


class RpcClient:
    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    @property
    def config(self) -> dict:
        return self._provider.container.config

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        """The method of `service`, asked as this worker's caller."""
        return self._call(self._worker_ctx.data.get(ctx.CALLER_KEY), service, method, args, kwargs, timeout)

    def call_as_system(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        """The method of `service`, asked by this service acting as itself (signed with its own key; the
        receiver accepts that only where the method names this service among its system callers)."""
        return self._call(ctx.SYSTEM.to_json(), service, method, args, kwargs, timeout)

    def _call(self, caller_json, service: str, method: str, args, kwargs, timeout: float | None):
        timeout = timeout or self._provider.timeout
        if not self._provider.has_consumers(service):
            metrics.RPC_CLIENT_ERRORS.labels(service, "unavailable").inc()
            raise ServiceUnavailable(f"The {service} service is not running.")
        data = self._worker_ctx.data
        assertion = trust.rpc_assertion(self._provider.keyring, caller_json, service, method,
                                        data.get(ctx.REQUEST_ID_KEY), timeout)
        proxy = _PromptMethodProxy(SignedContext(self._worker_ctx, assertion), service, method,
                                   self._provider.reply_listener, expiration=timeout)
        try:
            reply = proxy.call_async(*args, **kwargs)
        except UnknownService:
            metrics.RPC_CLIENT_ERRORS.labels(service, "unavailable").inc()
            raise ServiceUnavailable(f"The {service} service is not running.")
        except BROKER_ERRORS:
            self._provider.forget_consumers()
            metrics.RPC_CLIENT_ERRORS.labels(service, "broker").inc()
            raise broker_unavailable() from None
        started, outcome = time.perf_counter(), "ok"
        try:
            with eventlet.Timeout(timeout):
                return reply.result()
        except eventlet.Timeout:
            outcome = "timeout"
            self._provider.forget(reply)
            metrics.RPC_CLIENT_ERRORS.labels(service, "timeout").inc()
            log.warning("rpc %s.%s timed out after %ss", service, method, timeout)
            raise ServiceTimeout(f"The {service} service did not answer within {timeout:g} seconds.")
        except Exception as exc:             # the service's answer was an error (NotFound, Forbidden…)
            outcome = type(exc).__name__
            raise
        finally:
            metrics.RPC_CALL_SECONDS.labels(service, method, outcome).observe(time.perf_counter() - started)


class ExclusiveReplyListener(ReplyListener):
    """nameko's reply listener, on an exclusive queue: it lives and dies with the connection, so when a broker
    node is lost the reconnecting consumer declares a new one on a live node. (nameko's is durable: declaring
    it again fails while its node is down, and the service hears no replies until the node is back.) A reply
    in flight at that moment is lost; its caller times out, as it would anyway."""

    def setup(self):
        super().setup()
        self.queue.durable, self.queue.exclusive, self.queue.auto_delete = False, True, True
        self.queue.queue_arguments = {}


class ServiceRpc(DependencyProvider):
    """`self.remote.call("profiles", "get_profile", profile_id)` with a deadline.

    Also usable inside another dependency provider (`remote = ServiceRpc()` on its class):
    nameko then binds it as that provider's sub-extension, with no attribute name.
    """

    reply_listener = ExclusiveReplyListener()

    def __init__(self, timeout: float | None = None):
        self._timeout = timeout
        self._consumers_seen: dict[str, float] = {}

    def bind(self, container, attr_name=None):
        return super().bind(container, attr_name)

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.timeout = float(self._timeout or config.get("RPC_TIMEOUT", 10))
        self.keyring = trust.keyring_for(config, self.container.service_name)
        self.consumer_counter = ConsumerCounter(self.amqp_uri)

    def stop(self):
        self.consumer_counter.close()
        super().stop()

    def has_consumers(self, service: str) -> bool:
        """Cached for a moment so the check costs a broker round trip at most every 2 s."""
        seen = self._consumers_seen.get(service)
        now = time.monotonic()
        if seen is not None and now - seen < CONSUMER_CHECK_TTL:
            return True
        try:
            consumers = self.consumer_counter.count(service)
        except ServiceUnavailable:
            metrics.RPC_CLIENT_ERRORS.labels(service, "broker").inc()
            raise
        if consumers > 0:
            self._consumers_seen[service] = now
            return True
        self._consumers_seen.pop(service, None)
        return False

    def forget_consumers(self) -> None:
        """After a broker failure: check again before the next call rather than trust the cache."""
        self._consumers_seen.clear()

    def forget(self, reply) -> None:
        """Drop the pending reply of a call we gave up on (its request expires unanswered)."""
        pending = self.reply_listener._reply_events
        for correlation_id, event in list(pending.items()):
            if event is reply.reply_event:
                pending.pop(correlation_id, None)

    def get_dependency(self, worker_ctx):
        return RpcClient(self, worker_ctx)
