from pathlib import Path

import eventlet
import pytest

from concord_common import migrate
from concord_common.db import make_engine
from concord_common.outbox import OutboxRelay
from tests import support

MESSAGING_ONLY_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "cases" / "migrations"


@pytest.fixture
def outbox_db(service_config):
    """An engine on a fresh database that has the outbox tables (source: `testsrc`)."""
    config = service_config("cases")
    config["DATABASE_NAME"] = config["DATABASE_NAME"].replace("_cases", "_outboxtest")
    url = support.database_url_for(config)
    migrate.upgrade(url, MESSAGING_ONLY_MIGRATIONS)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE outbox, processed_messages")
    yield engine
    engine.dispose()


@pytest.fixture
def relay(outbox_db, amqp_uri):
    """start() runs an outbox relay in a green thread, as a service replica would."""
    relays = []

    def start():
        relay = OutboxRelay(outbox_db, amqp_uri, poll_interval=0.1, keyring=support.keyring("testsrc"))
        relay.start(eventlet.spawn)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.stop()
