"""Run one component (a service or the gateway) as one process.

`concord serve profiles` is what supervisord starts N times per service. The
process exits on SIGTERM after finishing the work in hand.
"""
import importlib
import logging
import os
import signal

import eventlet
import eventlet.wsgi

from concord_common import logs, metrics
from concord_common.settings import SERVICE_NAMES, component_config_path, load_config

log = logging.getLogger(__name__)


def service_class(component: str):
    if component == "gateway":
        return importlib.import_module("gateway.service").GatewayService
    if component not in SERVICE_NAMES:
        raise SystemExit(f"unknown component {component!r}; one of: gateway, {', '.join(SERVICE_NAMES)}")
    module = importlib.import_module(f"services.{component}.service")
    return getattr(module, component.capitalize() + "Service")


def ops_app(environ, start_response):
    """Per-process health and Prometheus metrics on the ops port (internal addresses only)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    if environ.get("PATH_INFO") == "/metrics":
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok", "instance": "%s"}' % logs.INSTANCE.encode()]


def drain_then_stop(runner) -> None:
    """Extensions that hold connections of their own (the gateway's web server: gateway/drain.py) let them
    finish first, while the rest of the service still works; then nameko stops (workers finish, consumers
    are cancelled, unacked messages go back to the queue for the other replicas)."""
    if getattr(runner, "_draining", False):
        return                               # a second signal while draining: the first stop goes on
    runner._draining = True
    drains = [ext.drain for container in runner.containers for ext in container.extensions if hasattr(ext, "drain")]
    for waiter in [eventlet.spawn(drain) for drain in drains]:
        try:
            waiter.wait()
        except Exception:
            log.exception("draining failed; stopping anyway")
    runner.stop()


def serve(component: str) -> None:
    from nameko.runners import ServiceRunner

    logs.configure(component)
    from concord_common.broker import component_uri
    config = load_config(component_config_path(component))
    config["AMQP_URI"] = component_uri(config["AMQP_URI"], component)     # its own broker user, if set up
    runner = ServiceRunner(config)
    runner.add_service(service_class(component))

    def shutdown(signum, frame):
        log.info("stopping %s on signal %s", component, signum)
        eventlet.spawn_n(drain_then_stop, runner)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    ops_port = int(os.environ.get("OPS_PORT", "0") or 0)
    ops_address = metrics.ops_listen_address(os.environ.get("OPS_HOST"), ops_port) if ops_port else None
    runner.start()
    if ops_address:
        listener = eventlet.listen(ops_address)
        eventlet.spawn_n(eventlet.wsgi.server, listener, ops_app, log_output=False)
    log.info("%s started", component, extra={"fields": {"ops_port": ops_port or None}})
    runner.wait()
    log.info("%s stopped", component)
    # Everything has stopped (workers answered, acks sent, consumers and pools closed). Leave now: the
    # interpreter's own shutdown was seen to take another 5-11 s, with broker connections still open, and a
    # request the broker had handed this process in that time waited for it (a caller's 504 in a rolling restart).
    logging.shutdown()
    os._exit(0)
