"""Test fixtures: a real RabbitMQ vhost and real PostgreSQL databases per test run.

The broker and database come from AMQP_URI / DATABASE_URL, else localhost,
else testcontainers (where a Docker engine runs). Each run gets its own vhost
and database-name prefix, removed afterwards: the machine's broker and server
are shared with anything else running.
"""
import eventlet


def keep_execnet_on_real_threads():
    """pytest-xdist's controller and workers talk through execnet, whose receiving side runs on a real
    thread. Once eventlet has patched threading, the locks, events and queues execnet (and xdist's event
    queue) make would be green, and a green one set from a real thread never wakes the main thread: every
    worker hangs at "bringing up nodes". They get the unpatched ones instead. Nothing here without xdist."""
    try:
        import execnet.gateway_base as gateway_base
        import xdist.dsession
    except ImportError:
        return
    from eventlet import patcher
    threading, thread, time, queue = (patcher.original(name) for name in ("threading", "_thread", "time", "queue"))
    model = gateway_base.ThreadExecModel          # and MainThreadOnlyExecModel, which xdist uses
    model.queue = property(lambda self: queue)
    model.get_ident = lambda self: thread.get_ident()
    model.sleep = lambda self, delay: time.sleep(delay)
    model.start = lambda self, func, args=(): thread.start_new_thread(func, args)
    model.Lock = model.RLock = lambda self: threading.RLock()
    model.Event = lambda self: threading.Event()
    xdist.dsession.Queue = queue.Queue


keep_execnet_on_real_threads()
eventlet.monkey_patch()  # noqa: E402  (before anything imports socket or threading)

import concord_common  # noqa: E402,F401  (green psycopg waits)

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from tests import support  # noqa: E402

# Every xdist worker runs whole systems of its own (five services, in this process or supervised) against
# the one PostgreSQL server, whose max_connections (100 here) pools of 10 + 10 per service would exhaust.
# The environment, or a test's own DB_POOL_SIZE, still wins.
os.environ.setdefault("DB_POOL_SIZE", "5")


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
