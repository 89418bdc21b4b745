"""The gateway's web server drains on SIGTERM (gateway/drain.py): in flight finishes, nothing new is accepted,
kept-alive connections are told to close, idle ones are closed at the deadline."""
import http.client
import socket
import time

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer

from gateway.drain import DrainingServerMixin
from tests import support


class DrainingServer(DrainingServerMixin, WebServer):
    pass


class Handler(HttpRequestHandler):
    server = DrainingServer()


class Slow:
    name = "slow"

    @Handler.decorator("GET", "/slow")
    def slow(self, request):
        eventlet.sleep(0.5)
        return "done"

    @Handler.decorator("GET", "/fast")
    def fast(self, request):
        return "fast"


@pytest.fixture
def server():
    port = support.free_port()
    container = ServiceContainer(Slow, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "GATEWAY_DRAIN_SECONDS": "1"})
    container.start()
    web = next(ext for ext in container.subextensions if isinstance(ext, DrainingServer))
    try:
        yield port, web
    finally:
        container.stop()


def get(connection, path):
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read(), response.getheader("Connection")


def test_in_flight_finishes_new_connections_go_elsewhere_and_idle_ones_close(server):
    port, web = server
    busy = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert get(idle, "/fast")[0] == 200                      # kept alive, then idle
    in_flight = eventlet.spawn(get, busy, "/slow")
    eventlet.sleep(0.1)
    started = time.monotonic()
    draining = eventlet.spawn(web.drain)
    eventlet.sleep(0.05)
    with pytest.raises(ConnectionRefusedError):              # no longer listening: the kernel sends it elsewhere
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert in_flight.wait() == (200, b"done", "close")       # answered, and told not to come back
    draining.wait()
    assert 0.9 <= time.monotonic() - started < 2              # the idle connection held it to the deadline
    with pytest.raises((http.client.HTTPException, OSError)):
        get(idle, "/fast")                                   # closed by the drain


def test_a_drain_with_nothing_open_is_immediate(server):
    port, web = server
    started = time.monotonic()
    web.drain()
    assert time.monotonic() - started < 0.5
