"""A service whose database cannot be reached answers 503 (ServiceUnavailable, retried by event handlers and
answered with Retry-After by the gateway), not a 500: concord_common.service.ServiceBase with a real engine
pointed at a port where no PostgreSQL listens."""
import socket
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from concord_common.context import Caller
from concord_common.db import make_engine, unit_of_work
from concord_common.errors import ServiceUnavailable
from concord_common.events import PERMANENT_ERRORS
from concord_common.service import ServiceBase


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]           # closed again when the block ends: nothing listens there


class Unreachable:
    """What a worker sees as `self.db`, on an engine whose server is gone."""

    def __init__(self):
        self.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/concord", pool_size=1)

    def unit_of_work(self):
        return unit_of_work(self.engine, "profiles", Caller(kind="system"), "request-1")

    @contextmanager
    def read(self):
        with self.engine.connect() as conn:
            yield conn


class Service(ServiceBase):
    name = "profiles"
    context = type("Context", (), {"caller": Caller(kind="system")})()

    def __init__(self):
        self.db = Unreachable()

    @staticmethod
    def _origin():
        return None


def test_a_write_or_a_read_without_its_database_is_a_503_to_retry():
    service = Service()
    with pytest.raises(ServiceUnavailable) as refused:
        service.write(lambda uow: uow.session.execute(text("SELECT 1")))
    assert refused.value.status == 503 and "database" in str(refused.value)
    assert "127.0.0.1" not in str(refused.value)                      # no connection detail for the caller
    with pytest.raises(ServiceUnavailable):
        service.read(lambda conn, caller: conn.execute(text("SELECT 1")))
    assert not isinstance(refused.value, PERMANENT_ERRORS)            # an event handler retries it
