"""Structured JSON logs; every line names the request id and the caller."""
import json
import logging
import os
import socket
import sys
from datetime import datetime, timezone

from concord_common import context

INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str):
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        caller = context.current_caller()
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component,
            "instance": INSTANCE,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": context.current_request_id(),
            "caller": caller.summary() if caller else None,
        }
        if record.exc_info and record.getMessage().startswith("(expected)"):
            # A 4xx answer (not found, invalid input) is routine: one line, no traceback.
            record.exc_info = None
            entry["level"] = "info"
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(component: str, level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("amqp", "kombu", "nameko", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
