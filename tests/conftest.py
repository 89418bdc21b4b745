"""Test fixtures: a real RabbitMQ vhost and real PostgreSQL databases per test run.

The broker and database come from AMQP_URI / DATABASE_URL, else localhost,
else testcontainers (where a Docker engine runs). Each run gets its own vhost
and database-name prefix, removed afterwards: the machine's broker and server
are shared with anything else running.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (before anything imports socket or threading)

import concord_common  # noqa: E402,F401  (green psycopg waits)

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from tests import support  # noqa: E402


@pytest.fixture(scope="session")
def run_id():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def broker_root():
    """amqp URI of a reachable broker's default vhost."""
    uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    if support.amqp_reachable(uri):
        yield uri
        return
    container = support.start_rabbitmq_container()
    try:
        yield container.uri
    finally:
        container.stop()


@pytest.fixture(scope="session")
def amqp_uri(broker_root, run_id):
    """A vhost of our own for this test run."""
    vhost = f"concord-test-{run_id}"
    if not support.create_vhost(broker_root, vhost):
        pytest.skip("cannot create a RabbitMQ vhost (rabbitmqctl or the management API is needed)")
    try:
        yield support.uri_with_vhost(broker_root, vhost)
    finally:
        support.delete_vhost(broker_root, vhost)


@pytest.fixture(scope="session")
def database_server():
    """SQLAlchemy URL of a reachable PostgreSQL server (its `postgres` database)."""
    url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    if support.postgres_reachable(url):
        yield url
        return
    container = support.start_postgres_container()
    try:
        yield container.url
    finally:
        container.stop()


@pytest.fixture(scope="session")
def database_prefix(database_server, run_id):
    prefix = f"concordtest_{run_id}"
    try:
        yield prefix
    finally:
        support.drop_databases(database_server, prefix)


@pytest.fixture
def service_config(amqp_uri, database_server, database_prefix):
    """config_for("profiles", KEY=value, …): a component's real config, pointed at the test broker and DB."""
    def config_for(component, **overrides):
        return support.config_for(component, amqp_uri, database_server, database_prefix, **overrides)
    return config_for


@pytest.fixture
def run_services():
    """run_services(config, ServiceClass, …): start nameko containers in this process; stopped afterwards."""
    runners = []

    def start(config, *classes):
        from nameko.runners import ServiceRunner
        runner = ServiceRunner(config)
        for cls in classes:
            runner.add_service(cls)
        runner.start()
        runners.append(runner)
        return runner

    yield start

    def stop(runner):
        try:
            runner.stop()
        except Exception:
            runner.kill()
    # Each container takes ~2 s to drain its consumers; stop them side by side.
    list(eventlet.GreenPool().imap(stop, runners))
