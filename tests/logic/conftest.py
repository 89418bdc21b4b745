"""Logic tests: the profiles service's domain functions against a real PostgreSQL database, as a
`Caller`, with no broker and no nameko processes (so a change to search is checked in seconds).

The database is this run's `<prefix>_logic_profiles` (one per xdist worker: each has its own prefix),
created and migrated once, and emptied before each test. `uow(caller)` opens a unit of work as the
service adapter does; the permissions service's answers come from `world.Directory`, in memory.
"""
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from concord_common import migrate
from concord_common.context import new_request_id
from concord_common.db import make_engine, unit_of_work
from tests import support
from tests.logic import world

PROFILES_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "profiles" / "migrations"
CASES_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "cases" / "migrations"
KEPT = ("alembic_version", "nicknames")          # what the migrations fill: not test data
CASES_KEPT = ("alembic_version", "case_types", "risk_templates")
NOTIFICATIONS_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifications" / "migrations"


@pytest.fixture(scope="session")
def profiles_engine(database_server, database_prefix):
    """An engine on this run's migrated profiles database for logic tests (no RabbitMQ needed)."""
    config = {"DATABASE_URL": database_server, "DATABASE_NAME": f"{database_prefix}_logic_profiles"}
    url = support.database_url_for(config)
    migrate.upgrade(url, PROFILES_MIGRATIONS)
    engine = make_engine(url, pool_size=2)
    tables = MetaData()
    tables.reflect(engine)
    engine.test_tables = [table for table in reversed(tables.sorted_tables) if table.name not in KEPT]
    yield engine
    engine.dispose()


@pytest.fixture
def profiles_db(profiles_engine):
    """The profiles database, emptied of the last test's records (search is fuzzy: strays would match).
    DELETE, children first: on tables this small it takes milliseconds where TRUNCATE takes half a second."""
    with profiles_engine.begin() as conn:
        for table in profiles_engine.test_tables:
            conn.execute(table.delete())
    return profiles_engine


@pytest.fixture
def uow(profiles_db):
    """uow(caller): a unit of work on the profiles database as `caller`; commits when the block ends."""
    def open_as(caller):
        return unit_of_work(profiles_db, "profiles", caller, new_request_id())
    return open_as


@pytest.fixture
def directory():
    """The permissions service's answers (teams, organisations, agreements) for the test world."""
    return world.Directory()


@pytest.fixture(scope="session")
def cases_engine(database_server, database_prefix):
    """An engine on this run's migrated cases database (`<prefix>_logic_cases`), shared by the cases modules."""
    url = support.database_url_for({"DATABASE_URL": database_server,
                                    "DATABASE_NAME": f"{database_prefix}_logic_cases"})
    migrate.upgrade(url, CASES_MIGRATIONS)
    engine = make_engine(url, pool_size=4)
    tables = MetaData()
    tables.reflect(engine)
    engine.test_tables = [table for table in reversed(tables.sorted_tables) if table.name not in CASES_KEPT]
    yield engine
    engine.dispose()


@pytest.fixture
def cases_db(cases_engine):
    """The cases database emptied of the last test's records; what its migrations seed (case types, risk
    templates) stays."""
    with cases_engine.begin() as conn:
        for table in cases_engine.test_tables:
            conn.execute(table.delete())
    return cases_engine


@pytest.fixture(scope="session")
def notifications_engine(database_server, database_prefix):
    """An engine on this run's migrated notifications database (`<prefix>_logic_notifications`): e-mail, webhooks."""
    url = support.database_url_for({"DATABASE_URL": database_server,
                                    "DATABASE_NAME": f"{database_prefix}_logic_notifications"})
    migrate.upgrade(url, NOTIFICATIONS_MIGRATIONS)
    engine = make_engine(url, pool_size=4)
    tables = MetaData()
    tables.reflect(engine)
    engine.test_tables = [t for t in reversed(tables.sorted_tables) if t.name != "alembic_version"]
    yield engine
    engine.dispose()


@pytest.fixture
def notifications_db(notifications_engine):
    """The notifications database emptied of the last test's rows."""
    with notifications_engine.begin() as conn:
        for table in notifications_engine.test_tables:
            conn.execute(table.delete())
    return notifications_engine
