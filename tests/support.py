"""Helpers for tests: vhosts, databases, ports, waiting, and containers as a last resort."""
import json
import random
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from concord_common import trust
from concord_common.context import Caller
from concord_common.settings import component_config_path, load_config
from services.profiles.identifiers import nhs_check_digit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ops_port_base(services: int = 6, replicas: int = 10) -> int:
    """A base B such that B + 100k + n (the ops ports `concord up` assigns: five services, the gateway) are free.

    Below Linux's ephemeral range (32768…): there any outgoing connection on the machine may take a replica's
    port while the replica restarts, and the new process cannot listen on it."""
    import random
    for _ in range(50):
        base = random.randrange(20000, 32768 - 100 * services, 100)
        ports = [base + 100 * k + n for k in range(services) for n in range(replicas)]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free block of ops ports")


def wait_for(check, timeout=15.0, interval=0.05, message="condition"):
    """Poll `check()` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# -- RabbitMQ ------------------------------------------------------------------
def amqp_reachable(uri: str) -> bool:
    from kombu import Connection
    try:
        with Connection(uri, connect_timeout=3) as conn:
            conn.connect()
        return True
    except Exception:
        return False


def uri_with_vhost(uri: str, vhost: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


def _management(uri: str):
    parts = urlsplit(uri)
    return f"http://{parts.hostname}:15672/api", (parts.username or "guest", parts.password or "guest")


def create_vhost(uri: str, vhost: str) -> bool:
    user = urlsplit(uri).username or "guest"
    ctl = shutil.which("rabbitmqctl")
    if ctl and urlsplit(uri).hostname in ("127.0.0.1", "localhost"):
        added = subprocess.run([ctl, "-q", "add_vhost", vhost], capture_output=True)
        if added.returncode == 0:
            subprocess.run([ctl, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True,
                           capture_output=True)
            return True
    base, auth = _management(uri)
    try:
        requests.put(f"{base}/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=5).raise_for_status()
        requests.put(f"{base}/permissions/{quote(vhost, safe='')}/{user}", auth=auth, timeout=5,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        return True
    except requests.RequestException:
        return False


def delete_vhost(uri: str, vhost: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl and urlsplit(uri).hostname in ("127.0.0.1", "localhost"):
        if subprocess.run([ctl, "-q", "delete_vhost", vhost], capture_output=True).returncode == 0:
            return
    base, auth = _management(uri)
    try:
        requests.delete(f"{base}/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=5)
    except requests.RequestException:
        pass


def queue_depth(uri: str, queue: str) -> int | None:
    """Messages ready in `queue`, or None if it does not exist."""
    from kombu import Connection
    with Connection(uri) as conn:
        channel = conn.channel()
        try:
            _, messages, _ = channel.queue_declare(queue, passive=True)
            return messages
        except Exception:
            return None


# -- PostgreSQL ----------------------------------------------------------------
def postgres_reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def drop_databases(server_url: str, prefix: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": prefix + "%"}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# -- signed callers: one key per component for the whole test run ------------------------------
TEST_KEYS = {component: trust.new_private_key_text() for component in (*trust.COMPONENTS, "testsrc")}
TRUSTED_KEYS = ",".join(f"{component}:{trust.public_key_text(trust.private_key(key))}"
                        for component, key in TEST_KEYS.items())


def keyring(issuer: str) -> trust.Keyring:
    return trust.Keyring(issuer, TEST_KEYS[issuer], trust.parse_trusted(TRUSTED_KEYS))


def key_env(issuer: str = trust.OPERATOR) -> dict:
    """The environment a `concord` subprocess signs with (as the operators' CLI by default)."""
    return {"CONCORD_SIGNING_KEY": TEST_KEYS[issuer], "CONCORD_TRUSTED_KEYS": TRUSTED_KEYS}


def rpc_as(config: dict, caller: Caller | None = None, issuer: str | None = None, timeout: float = 20, **kwargs):
    """A signed ClusterRpcProxy: as the operators' CLI for the system, else as the gateway would sign."""
    from concord_common.signed_rpc import signed_rpc
    issuer = issuer or (trust.OPERATOR if caller is not None and caller.kind == "system" else trust.GATEWAY)
    return signed_rpc(config, keyring(issuer), caller, timeout=timeout, **kwargs)


class SignedPublisher:
    """Publishes events as their source services would: each signed with its source's key (by exchange)."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._publishers = {}

    def publish(self, exchange: str, event_type: str, envelope: dict, headers: dict) -> None:
        from concord_common.outbox import EventPublisher
        source = exchange.removesuffix(".events")
        if source not in self._publishers:
            self._publishers[source] = EventPublisher(self.amqp_uri, keyring(source))
        self._publishers[source].publish(exchange, event_type, envelope, headers)

    def close(self) -> None:
        for publisher in self._publishers.values():
            publisher.close()


def config_for(component, amqp_uri, database_server, prefix, **overrides) -> dict:
    config = load_config(component_config_path(component))
    config["SIGNING_KEY"] = TEST_KEYS[component]
    config["TRUSTED_KEYS"] = TRUSTED_KEYS
    config["AMQP_URI"] = amqp_uri
    config["DATABASE_URL"] = database_server
    if component != "gateway":
        config["DATABASE_NAME"] = f"{prefix}_{component}"
    config["EVENT_RETRY_DELAYS"] = [0.2, 0.4]
    config["OUTBOX_POLL_INTERVAL"] = 0.2
    config.update(overrides)
    return config


def database_url_for(config: dict) -> str:
    from concord_common.db import database_url
    return database_url(config)


# -- containers (only where a Docker engine runs) ------------------------------
class _Started:
    def __init__(self, container, **attrs):
        self.container = container
        self.__dict__.update(attrs)

    def stop(self):
        self.container.stop()


def start_rabbitmq_container():
    from testcontainers.rabbitmq import RabbitMqContainer
    container = RabbitMqContainer("rabbitmq:3.13-management").start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
    return _Started(container, uri=f"amqp://guest:guest@{host}:{port}/")


def start_postgres_container():
    from testcontainers.postgres import PostgresContainer
    container = PostgresContainer("postgres:15", driver="psycopg").start()
    return _Started(container, url=container.get_connection_url())


def json_lines(text_block: str) -> list[dict]:
    return [json.loads(line) for line in text_block.splitlines() if line.startswith("{")]


def url_database(url: str) -> str:
    return make_url(url).database


def new_nhs_number() -> str:
    """A valid NHS number (modulus 11) that no other test uses: a run's tests share its databases."""
    while True:
        first_nine = f"{random.randrange(10 ** 8, 10 ** 9)}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


def unique_surname() -> str:
    """A surname no other test's profiles look or sound like (a run's tests share its databases, and
    search and duplicate matching are fuzzy): random consonants, so its double metaphone is its own.
    Hex suffixes do not do: metaphone ignores digits, so 'Lee3fa2b1' sounds like 'Lee9fb0a2'."""
    consonants, vowels = "BDFGJKLMNPRSTVZ", "aeiou"     # no H, W: metaphone drops them
    return "".join(random.choice(consonants if i == 0 else consonants.lower()) + random.choice(vowels)
                   for i in range(4)) + random.choice("nrstlk")


@contextmanager
def whole_system(amqp_uri, database_server, prefix, overrides: dict | None = None):
    """The five services and the gateway in this process, on databases `<prefix>_*`, for a module's tests;
    yields (gateway URL, the permissions service's config). `overrides`: {component: {setting: value}}."""
    import eventlet
    from nameko.runners import ServiceRunner

    from concord_common.runner import service_class
    from concord_common.settings import SERVICE_NAMES
    overrides = overrides or {}
    port = free_port()
    configs = {name: config_for(name, amqp_uri, database_server, prefix, **overrides.get(name, {}))
               for name in SERVICE_NAMES}
    configs["gateway"] = config_for("gateway", amqp_uri, database_server, prefix,
                                    WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **overrides.get("gateway", {}))
    runners = []
    try:
        for name, config in configs.items():        # the gateway last: the services answer by then
            runner = ServiceRunner(config)
            runner.add_service(service_class(name))
            runner.start()
            runners.append(runner)
        yield f"http://127.0.0.1:{port}", configs["permissions"]
    finally:
        list(eventlet.GreenPool().imap(lambda r: r.stop(), runners))
