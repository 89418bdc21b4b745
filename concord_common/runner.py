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

from concord_common import logs
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
    """Per-process health and Prometheus metrics, for services (the gateway has its own routes)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    if environ.get("PATH_INFO") == "/metrics":
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok", "instance": "%s"}' % logs.INSTANCE.encode()]


def serve(component: str) -> None:
    from nameko.runners import ServiceRunner

    logs.configure(component)
    config = load_config(component_config_path(component))
    runner = ServiceRunner(config)
    runner.add_service(service_class(component))

    def shutdown(signum, frame):
        log.info("stopping %s on signal %s", component, signum)
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    ops_port = int(os.environ.get("OPS_PORT", "0") or 0)
    if ops_port and component != "gateway":
        listener = eventlet.listen((os.environ.get("OPS_HOST", "127.0.0.1"), ops_port))
        eventlet.spawn_n(eventlet.wsgi.server, listener, ops_app, log_output=False)
    log.info("%s started", component, extra={"fields": {"ops_port": ops_port or None}})
    runner.wait()
