"""`reliable_event_handler`: event consumption that never acks a failure away.

nameko's own event handler acks a message whose handler raised (the event is
lost) or, with requeue_on_error, requeues it at once in a hot loop. Here a
failure is re-published (with confirms, before the original is acked) to a
delay queue whose TTL dead-letters it back to the handler's queue; after the
last delay it goes to `<queue>.dlq`, with the error, where an operator sees it
and can replay it (`concord dlq list|replay`). Input that can never succeed
(ValidationFailed, MalformedRequest) goes to the dead-letter queue at once.

Handlers must be idempotent: delivery is at least once. Use
`uow.already_processed(event["id"], consumer)` inside the handler's transaction.
"""
import logging
from datetime import datetime, timezone
from functools import partial

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.events import SERVICE_POOL, EventHandler

from concord_common import context as ctx
from concord_common import metrics, refusals, trust
from concord_common.errors import MalformedRequest, Unauthenticated, ValidationFailed

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-concord-attempts"
ERROR_HEADER = "x-concord-error"
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0)
PERMANENT_ERRORS = (ValidationFailed, MalformedRequest, Unauthenticated)
DEFAULT_EXCHANGE = Exchange("")


def retry_queue_name(queue_name: str, delay: float) -> str:
    return f"{queue_name}.retry.{int(delay * 1000)}ms"


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}.dlq"


# Quorum queues (QUORUM_QUEUES, default on): an event queue, its retry queues and its dead-letter queue are
# replicated on a majority of the broker's nodes, so a node lost loses no event. RabbitMQ fixes a queue's type
# when it is declared: a broker with classic queues of these names needs `concord broker quorum-queues` once
# (docs/messaging.md). RPC queues and reply queues stay as nameko makes them (replies are exclusive).
QUORUM = {"x-queue-type": "quorum"}
# A retry queue dead-letters expired messages back to the handler's queue: at-least-once, so a node failing at
# that moment cannot drop one (RabbitMQ requires reject-publish overflow for it).
QUORUM_RETRY = {**QUORUM, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def quorum_queues(config) -> bool:
    value = config.get("QUORUM_QUEUES", True)
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off", "")


def retry_queue(queue_name: str, delay: float, quorum: bool = True) -> Queue:
    # Expired messages dead-letter through the default exchange back to the handler's queue.
    return Queue(retry_queue_name(queue_name, delay), exchange=DEFAULT_EXCHANGE,
                 routing_key=retry_queue_name(queue_name, delay), durable=True,
                 queue_arguments={"x-message-ttl": int(delay * 1000),
                                  "x-dead-letter-exchange": "",
                                  "x-dead-letter-routing-key": queue_name,
                                  **(QUORUM_RETRY if quorum else {})})


def dead_letter_queue(queue_name: str, quorum: bool = True) -> Queue:
    return Queue(dead_letter_queue_name(queue_name), exchange=DEFAULT_EXCHANGE,
                 routing_key=dead_letter_queue_name(queue_name), durable=True,
                 queue_arguments=dict(QUORUM) if quorum else None)


def settle(action, *args) -> None:
    """Acknowledge or requeue a delivery (`action`: the queue consumer's ack_message / requeue_message, or the
    handler's own handle_message_processed). If the broker connection went away meanwhile — a node killed, a
    network cut — the socket's own error (ConnectionResetError, BrokenPipeError) is not an error here: the broker
    puts an unacknowledged delivery back on its queue when its connection goes, and every consumer takes an event
    once (processed_messages), so it is delivered again and handled once. nameko catches amqp's ConnectionError
    there, not the socket's, which would end the worker's thread and with it the whole service container."""
    try:
        action(*args)
    except OSError as exc:
        log.warning("could not settle a delivery: the broker connection is gone (%s); the broker delivers it again",
                    exc)


class VerifiedEventHandler(EventHandler):
    """An event handler that believes an event only if its source service signed it (concord_common.trust).

    The check runs before a worker exists; a refused event is audited and handed to `refuse`.
    """
    verifies_caller = True

    def setup(self):
        super().setup()
        self.keyring = trust.keyring_for(self.container.config, self.container.service_name)

    def handle_message(self, body, message):
        context_data = self.unpack_message_headers(message)
        try:
            caller, request_id = trust.verify_event(self.keyring, context_data.get(ctx.CALLER_KEY),
                                                    self.source_service, body)
        except trust.Refused as refused:
            refusals.report(self.container.config, self.keyring, self.container.service_name, self.method_name,
                            refused, context_data)
            self.refuse(message, Unauthenticated(f"The event's signature was refused: {refused.reason}."))
            return
        context_data[ctx.CALLER_KEY] = caller.to_json()
        context_data[ctx.REQUEST_ID_KEY] = request_id or context_data.get(ctx.REQUEST_ID_KEY)
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (body,), {}, context_data=context_data, handle_result=handle_result)
        except ContainerBeingKilled:
            settle(self.queue_consumer.requeue_message, message)

    def refuse(self, message, error):
        settle(self.queue_consumer.ack_message, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        settle(super().handle_message_processed, message, result, exc_info)


class ReliableEventHandler(VerifiedEventHandler):

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    def setup(self):
        super().setup()
        config = self.container.config
        quorum = quorum_queues(config)
        if quorum:      # the queue nameko made here is declared when the consumer starts: it is quorum by then
            self.queue.queue_arguments = dict(QUORUM)
        self.retry_delays = tuple(float(d) for d in config.get("EVENT_RETRY_DELAYS") or DEFAULT_RETRY_DELAYS)
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
        self.retry_queues = [retry_queue(self.queue.name, delay, quorum) for delay in self.retry_delays]
        self.dead_letter_queue = dead_letter_queue(self.queue.name, quorum)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            settle(self.queue_consumer.ack_message, message)
            return
        try:
            self._reroute_failure(message, exc_info[1])
        except Exception:
            # Could not park it safely: give it back to the queue rather than lose it.
            log.exception("could not re-route a failed event; requeueing it")
            settle(self.queue_consumer.requeue_message, message)
            return
        settle(self.queue_consumer.ack_message, message)

    def refuse(self, message, error):
        """A forged or unreadable event goes to the dead-letter queue at once, where an operator sees it."""
        self.handle_message_processed(message, exc_info=(type(error), error, None))

    def _reroute_failure(self, message, error):
        queue_name = self.queue.name
        headers = dict(message.headers or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        headers[ATTEMPTS_HEADER] = attempts
        headers[ERROR_HEADER] = f"{type(error).__name__}: {error}"[:1000]
        permanent = isinstance(error, PERMANENT_ERRORS)
        if not permanent and attempts <= len(self.retry_delays):
            target = self.retry_queues[attempts - 1]
            metrics.EVENTS_RETRIED.labels(queue_name).inc()
            log.warning("event handler %s failed (attempt %s), retrying in %ss: %s", queue_name, attempts,
                        self.retry_delays[attempts - 1], headers[ERROR_HEADER])
        else:
            target = self.dead_letter_queue
            headers["x-concord-dead-lettered-at"] = datetime.now(timezone.utc).isoformat()
            headers["x-concord-original-queue"] = queue_name
            metrics.EVENTS_DEAD_LETTERED.labels(queue_name).inc()
            log.error("event handler %s gave up after %s attempt(s); dead-lettered to %s: %s",
                      queue_name, attempts, target.name, headers[ERROR_HEADER])
        self.publisher.publish(
            message.payload, exchange=DEFAULT_EXCHANGE, routing_key=target.name, declare=[target],
            headers=headers, message_id=message.properties.get("message_id"), serializer="json")


reliable_event_handler = ReliableEventHandler.decorator
verified_event_handler = VerifiedEventHandler.decorator
