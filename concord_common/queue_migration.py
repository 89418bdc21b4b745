"""`concord broker quorum-queues`: turn a broker's classic event and RPC queues into quorum queues, keeping
every message.

RabbitMQ fixes a queue's type when it is declared, and a service declaring a quorum queue where a classic one
of the same name exists is refused (PRECONDITION_FAILED). A deployment that ran with classic queues (before
QUORUM_QUEUES, or with it off) runs this once, with the services stopped: for each classic event, retry,
dead-letter or RPC queue, its messages move to a holding quorum queue, the classic queue is deleted and
declared again as quorum with the same bindings, and the messages move back. Every move publishes with confirms before it
acks, so a failure part-way leaves each message in one queue or the other (run again to finish).
"""
import re

from kombu import Connection, Exchange, Queue

from concord_common import broker
from concord_common.events import QUORUM, QUORUM_RETRY

EVENT_QUEUE = re.compile(r"^(evt-.+--[a-z_]+\.[a-z_0-9]+(\.retry\.\d+ms|\.dlq)?|rpc-[a-z_]+)$")
HOLDING_SUFFIX = ".to-quorum"


def arguments_for(name: str, classic_arguments: dict) -> dict:
    """The arguments the code declares the queue with (concord_common.events), as quorum."""
    if ".retry." in name:
        keep = {key: classic_arguments[key] for key in ("x-message-ttl", "x-dead-letter-exchange",
                                                        "x-dead-letter-routing-key") if key in classic_arguments}
        return {**keep, **QUORUM_RETRY}
    return dict(QUORUM)


def migrate(admin_uri: str, vhost: str | None = None, report=print) -> list[str]:
    """Migrate every classic event queue of the vhost; returns their names. Refuses while a queue has consumers."""
    ctl = broker._Ctl(admin_uri)
    vhost = vhost or broker.vhost_of(admin_uri)
    classic = [queue for queue in ctl.queues(vhost)
               if queue["type"] == "classic" and EVENT_QUEUE.match(queue["name"])]
    busy = [queue["name"] for queue in classic if queue["consumers"]]
    if busy:
        raise SystemExit(f"stop the services first: {', '.join(busy[:5])} still have consumers")
    uri = _with_vhost(admin_uri, vhost)
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        for queue in classic:
            name, holding = queue["name"], queue["name"] + HOLDING_SUFFIX
            bindings = ctl.bindings(vhost, name)
            moved = _move(conn, name, holding)
            channel = conn.channel()
            channel.queue_delete(name, if_empty=True)
            new = Queue(name, exchange=Exchange(""), routing_key=name, durable=True,
                        queue_arguments=arguments_for(name, queue["arguments"]))
            new(channel).declare()
            for exchange, routing_key in bindings:
                channel.queue_bind(name, exchange, routing_key)
            channel.close()
            _move(conn, holding, name)
            _delete_if_empty(conn, holding)
            report(f"{name}: quorum ({moved} message(s) kept, {len(bindings)} binding(s))")
    return [queue["name"] for queue in classic]


def _move(conn, source: str, target: str) -> int:
    """Every message of `source` into `target` (a quorum queue, declared if missing), with confirms."""
    channel = conn.channel()
    if target.endswith(HOLDING_SUFFIX):
        Queue(target, exchange=Exchange(""), routing_key=target, durable=True,
              queue_arguments=dict(QUORUM))(channel).declare()
    producer = conn.Producer(channel=channel)
    moved = 0
    while True:
        message = channel.basic_get(source, no_ack=False)
        if message is None:
            break
        producer.publish(message.body, exchange="", routing_key=target, headers=message.headers,
                         content_type=message.content_type, content_encoding=message.content_encoding,
                         message_id=message.properties.get("message_id"), delivery_mode=2, mandatory=True)
        channel.basic_ack(message.delivery_tag)
        moved += 1
    channel.close()
    return moved


def _delete_if_empty(conn, queue: str) -> None:
    """Quorum queues refuse `if_empty`: look, then delete (nothing publishes to a holding queue)."""
    channel = conn.channel()
    if channel.queue_declare(queue, passive=True)[1] == 0:
        channel.queue_delete(queue)
    channel.close()


def _with_vhost(uri: str, vhost: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, parts.fragment))
