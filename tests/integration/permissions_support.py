"""Shared fixtures and helpers for the permissions tests (imported by test_permissions_*.py).

One permissions service runs per test module (starting one costs seconds and
there are many cases); every test makes its own names, so they share its
database safely.
"""
import uuid
from contextlib import contextmanager

import pytest
from kombu import Connection, Queue
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, func, select

from concord_common import clock
from concord_common.context import SYSTEM, Caller
from concord_common.outbox import event_exchange
from services.permissions import models
from services.permissions.service import PermissionsService
from gateway.auth import caller_from_principal
from tests import support

PASSWORD = "blue-kettle-morning-42"
EVENTS = "permissions.events"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# The Caller the gateway puts in the RPC context for a resolved token.
caller_of = caller_from_principal


class Directory:
    """RPC access to the running permissions service as any caller, plus its database."""

    def __init__(self, config):
        self.config = config
        self.engine = create_engine(support.database_url_for(config))
        self._proxies = {}

    def as_(self, caller: Caller | None = None):
        key = caller.to_json() if caller else None
        if key not in self._proxies:
            proxy = support.rpc_as(self.config, caller, request_id=uuid.uuid4().hex, timeout=20)
            self._proxies[key] = (proxy, proxy.start())
        return self._proxies[key][1].permissions

    @property
    def system(self):
        return self.as_(SYSTEM)

    @property
    def anonymous(self):
        return self.as_(None)

    # -- building blocks -------------------------------------------------------
    def organisation(self, require_mfa=False, **fields) -> dict:
        return self.system.create_organisation({"name": unique("Org"), "type": "council", "area": "Testshire",
                                                "require_mfa": require_mfa, **fields})

    def team(self, organisation: dict) -> dict:
        return self.system.create_team(organisation["id"], {"name": unique("Team")})

    def user(self, organisation: dict, teams=(), roles=(), username=None) -> dict:
        return self.system.create_user({
            "username": username or unique("user"), "display_name": "Test Person", "email": "t@example.org",
            "password": PASSWORD, "organisation_id": organisation["id"],
            "teams": [{"team_id": team["id"], "role": role} for team, role in teams], "roles": list(roles)})

    def sign_in(self, username: str, password: str = PASSWORD, **kwargs) -> dict:
        return self.anonymous.authenticate(username, password, **kwargs)

    def caller(self, username: str) -> Caller:
        return caller_of(self.anonymous.resolve_token(self.sign_in(username)["token"]))

    def count(self, model) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model)).scalar()

    def counts(self) -> dict:
        return {model.__tablename__: self.count(model) for model in (
            models.Organisation, models.Team, models.User, models.Membership, models.ApiClient,
            models.UserSession)}

    def close(self):
        for proxy, _ in self._proxies.values():
            proxy.stop()
        self.engine.dispose()


@contextmanager
def running_permissions(amqp_uri, database_server, database_prefix, **overrides):
    config = support.config_for("permissions", amqp_uri, database_server, database_prefix, **overrides)
    # Somewhere for every event to go: one published to nowhere is (rightly) an error.
    sink = Queue(unique("test-permissions-sink"), exchange=event_exchange(EVENTS), routing_key="#",
                 auto_delete=False)
    with Connection(amqp_uri) as conn:
        sink(conn.channel()).declare()
    runner = ServiceRunner(config)
    runner.add_service(PermissionsService)
    runner.start()
    directory = Directory(config)
    try:
        yield directory
    finally:
        directory.close()
        runner.stop()
        with Connection(amqp_uri) as conn:
            sink(conn.channel()).delete()


@pytest.fixture(scope="module")
def directory(amqp_uri, database_server, database_prefix):
    with running_permissions(amqp_uri, database_server, database_prefix) as running:
        yield running


@pytest.fixture
def moved_clock():
    """`concord_common.clock.advance` for a test; time is put back afterwards."""
    yield clock.advance
    clock.reset()
