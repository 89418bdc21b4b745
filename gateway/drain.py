"""A gateway process that stops without dropping a request (docs/deployment.md, "Rolling restarts").

On SIGTERM (concord_common.runner calls `drain` on every extension that has one, before nameko stops the
service) the web server:

1. stops accepting. Replicas share the port with SO_REUSEPORT, and Linux resets connections still waiting in
   a closed listener's accept queue (unless net.ipv4.tcp_migrate_req is set), so it first takes every
   connection already queued, without yielding, and only then closes the socket: new connections go to the
   other replicas from that moment;
2. answers every further request with `Connection: close`, so kept-alive clients reconnect elsewhere;
3. waits until the requests in flight are answered and the connections are closed, at most
   GATEWAY_DRAIN_SECONDS (default 10); connections still idle then are closed.

nameko's own stop (kill the accept loop, close the socket, wait for workers, kill what is left) would
reset the queued connections and cut kept-alive ones mid-request.
"""
import logging
import socket
import time

import eventlet
from eventlet import greenio
from eventlet.wsgi import STATE_IDLE

log = logging.getLogger(__name__)

DEFAULT_DRAIN_SECONDS = 10.0


class DrainingServerMixin:
    """For a nameko WebServer subclass: counts its connections and drains them on `drain()`."""

    _connections = None
    _draining = False

    def process_request(self, sock, address):
        if self._connections is None:
            self._connections = {}
        state = [address, sock, STATE_IDLE]          # eventlet sets [2] to "request" while one is read/answered
        self._connections[id(state)] = state
        try:
            self._serv.process_request(state)
        except OSError as exc:
            if "raw readinto() returned invalid length" not in str(exc):    # nameko's own exception
                raise
        finally:
            self._connections.pop(id(state), None)

    def drain(self) -> None:
        if self._draining or self._sock is None:
            return
        self._draining = True
        timeout = float(self.container.config.get("GATEWAY_DRAIN_SECONDS") or DEFAULT_DRAIN_SECONDS)
        started = time.monotonic()
        self._is_accepting = False
        self._serv.keepalive = False                 # every answer from now on closes its connection
        if self._gt is not None:
            self._gt.kill()                          # the accept loop (blocked in accept)
        taken = self._take_queued_connections()
        connections = self._connections or {}
        deadline = started + timeout
        while connections and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        left = list(connections.values())
        for state in left:
            try:
                state[1].shutdown(socket.SHUT_RDWR)  # an idle kept-alive connection: its reader sees EOF
            except OSError:
                pass
        log.info("gateway drained", extra={"fields": {
            "seconds": round(time.monotonic() - started, 3), "queued_taken": taken,
            "closed_idle": sum(1 for state in left if state[2] == STATE_IDLE),
            "cut_in_flight": sum(1 for state in left if state[2] != STATE_IDLE)}})

    def _take_queued_connections(self) -> int:
        """Accept what the kernel has queued for this listener, then close it, with no yield in between."""
        listener = self._sock.fd                     # the plain socket under eventlet's GreenSocket
        listener.setblocking(False)
        taken = 0
        while True:
            try:
                conn, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            green = greenio.GreenSocket(conn)
            green.settimeout(self._serv.socket_timeout)
            self.container.spawn_managed_thread(lambda s=green, a=address: self.process_request(s, a))
            taken += 1
        self._sock.close()
        return taken
