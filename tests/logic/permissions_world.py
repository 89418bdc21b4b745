"""The permissions service's logic on a real PostgreSQL database, with no broker and no nameko: the
directory, sign-in and MFA functions called as the service adapter calls them.

The database is this run's `<prefix>_logic_permissions`, migrated once; every test makes its own
names, so nothing needs emptying. Import the fixtures into a test module:
`from tests.logic.permissions_world import permissions, PASSWORD  # noqa: F401`.
"""
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from concord_common import migrate
from concord_common.context import SYSTEM, new_request_id
from concord_common.db import make_engine, unit_of_work
from concord_common.messaging_tables import outbox
from gateway.auth import caller_from_principal
from services.permissions import auth, logic
from services.permissions.auth import Outcome
from services.permissions.settings import Settings
from tests import support

PERMISSIONS_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "permissions" / "migrations"
PASSWORD = "blue-kettle-morning-42"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Permissions:
    """Units of work on the permissions database as any caller, and a directory built through the logic."""

    def __init__(self, engine, settings: Settings = Settings()):
        self.engine, self.settings = engine, settings

    def uow(self, caller):
        return unit_of_work(self.engine, "permissions", caller, new_request_id())

    def run(self, caller, fn, *args):
        """fn(uow, *args) committed as the adapter would; an Outcome's error is raised after the commit.
        Returns (answer, committed events)."""
        with self.uow(caller) as work:
            answer = fn(work, *args)
        if isinstance(answer, Outcome):
            answer = answer.result()
        return answer, work.committed_events

    def read(self, caller, fn, *args):
        with self.uow(caller) as work:
            return fn(work.session, caller, *args)

    # -- building blocks (as the system) ---------------------------------------------
    def organisation(self, require_mfa=False) -> dict:
        return self.run(SYSTEM, logic.create_organisation, {"name": unique("Org"), "type": "council",
                                                            "area": "Testshire", "require_mfa": require_mfa})[0]

    def team(self, organisation: dict) -> dict:
        return self.run(SYSTEM, logic.create_team, organisation["id"], {"name": unique("Team")})[0]

    def user(self, organisation: dict, teams=(), roles=()) -> dict:
        return self.run(SYSTEM, logic.create_user, self.settings, {
            "username": unique("user"), "display_name": "Test Person", "email": "t@example.org",
            "password": PASSWORD, "organisation_id": organisation["id"],
            "teams": [{"team_id": team["id"], "role": role} for team, role in teams], "roles": list(roles)})[0]

    # -- sign-in ---------------------------------------------------------------------
    def sign_in(self, username: str, password: str = PASSWORD, otp=None, kind="api") -> dict:
        return self.run(None, auth.authenticate, self.settings, username, password, otp, None, kind)[0]

    def resolve(self, token: str) -> dict:
        return self.run(None, auth.resolve_token, self.settings, token)[0]

    def caller(self, token: str):
        """The Caller the gateway puts in the RPC context for this token."""
        return caller_from_principal(self.resolve(token))

    def signed_in(self, username: str, **kwargs):
        """(token, Caller) of a new session."""
        token = self.sign_in(username, **kwargs)["token"]
        return token, self.caller(token)

    def events(self, event_type: str, record_id: str) -> list[dict]:
        """Committed events of a type about one record, oldest first (from the outbox)."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(outbox.c.envelope).where(
                outbox.c.event_type == event_type,
                outbox.c.envelope["data"]["record"]["id"].astext == record_id).order_by(outbox.c.seq)).scalars())


@pytest.fixture(scope="session")
def permissions_engine(database_server, database_prefix):
    config = {"DATABASE_URL": database_server, "DATABASE_NAME": f"{database_prefix}_logic_permissions"}
    url = support.database_url_for(config)
    migrate.upgrade(url, PERMISSIONS_MIGRATIONS)
    engine = make_engine(url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def permissions(permissions_engine):
    return Permissions(permissions_engine)
