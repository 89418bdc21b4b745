"""Is anybody there? (concord_common/rpc.py: ConsumerCounter) on the real broker: one kept connection, a queue
nobody declared, a connection the broker dropped, a broker that cannot be reached."""
import socket

import pytest
from kombu import Connection, Consumer, Queue

from concord_common.errors import ServiceUnavailable
from concord_common.rpc import ConsumerCounter, rpc_queue_name
from tests import support


def test_counts_consumers_on_one_kept_connection_and_survives_what_the_broker_does(amqp_uri):
    counter = ConsumerCounter(amqp_uri)
    try:
        assert counter.count("nobody-declared-this") == 0          # no queue: the broker closes the channel …
        queue = Queue(rpc_queue_name("counted"), durable=False, auto_delete=True)
        with Connection(amqp_uri) as conn, Consumer(conn.channel(), [queue], callbacks=[lambda *_: None]):
            kept = counter._connection
            assert counter.count("counted") == 1                   # … and the next check opens another
            assert counter.count("nobody-declared-this") == 0 and counter.count("counted") == 1
            assert counter._connection is kept                      # every check on the same connection
            kept.connection.transport.sock.shutdown(socket.SHUT_RDWR)   # the connection dies under it
            assert counter.count("counted") == 1                    # checked again on a fresh one
            assert counter._connection is not kept
    finally:
        counter.close()


def test_a_broker_that_cannot_be_reached_is_service_unavailable():
    counter = ConsumerCounter(f"amqp://guest:guest@127.0.0.1:{support.free_port()}//")
    with pytest.raises(ServiceUnavailable):
        counter.count("profiles")
