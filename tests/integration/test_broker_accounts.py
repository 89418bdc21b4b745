"""Least-privilege broker accounts (`concord broker setup`): a component's user reaches only its own
queues and exchanges, and cannot bind a queue that would receive another component's calls."""
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Queue
from nameko.rpc import get_rpc_exchange
from nameko.runners import ServiceRunner

from concord_common import broker
from concord_common.context import SYSTEM
from services.permissions.service import PermissionsService
from services.profiles.service import ProfilesService
from tests import support

RPC_EXCHANGE = get_rpc_exchange({})          # declared as nameko declares it


@pytest.fixture(scope="module")
def accounts(broker_root, run_id, tmp_path_factory):
    """A vhost and one user per component, made by `concord broker setup` (users are per broker, so
    their names carry this run's id); all removed afterwards."""
    vhost, prefix = f"concord-test-{run_id}-acl", f"concordtest-{run_id}-"
    directory = tmp_path_factory.mktemp("broker")
    users = broker.setup(broker_root, vhost, directory, user_prefix=prefix)
    again = broker.setup(broker_root, vhost, directory, user_prefix=prefix)       # idempotent
    assert again == users
    uri = support.uri_with_vhost(broker_root, vhost)
    try:
        yield lambda component: broker.component_uri(uri, component, directory, user_prefix=prefix)
    finally:
        broker.remove_users(broker_root, users.values())
        support.delete_vhost(broker_root, vhost)


def attempt(uri, action):
    """`action(channel)` on a connection of its own (a refusal closes the channel)."""
    with Connection(uri, connect_timeout=5) as conn:
        action(conn.default_channel)


def test_another_component_cannot_bind_a_queue_to_sign_ins(accounts):
    profiles_uri = accounts("profiles")
    attempt(accounts("permissions"), lambda channel: RPC_EXCHANGE(channel).declare())
    own_reply_queue = f"rpc.reply-profiles-{uuid.uuid4()}"       # a queue it may have, with a binding it may not
    with pytest.raises(AccessRefused):
        attempt(profiles_uri, lambda channel: Queue(own_reply_queue, exchange=RPC_EXCHANGE, auto_delete=True,
                                                    routing_key="permissions.authenticate")(channel).declare())
    with pytest.raises(AccessRefused):
        attempt(profiles_uri, lambda channel: Queue("snoop", exchange=RPC_EXCHANGE, auto_delete=True,
                                                    routing_key="#")(channel).declare())
    with pytest.raises(AccessRefused):     # and it cannot read the permissions service's queue
        attempt(profiles_uri, lambda channel: channel.basic_get("rpc-permissions"))
    # The permissions service's own user may bind its own calls.
    attempt(accounts("permissions"), lambda channel: Queue(
        f"rpc.reply-permissions-{uuid.uuid4()}", exchange=RPC_EXCHANGE, auto_delete=True,
        routing_key="permissions.*")(channel).declare())


def test_services_run_on_their_own_accounts(accounts, service_config):
    runners = []
    try:
        for name, cls in (("permissions", PermissionsService), ("profiles", ProfilesService)):
            runner = ServiceRunner(service_config(name, AMQP_URI=accounts(name)))
            runner.add_service(cls)
            runner.start()
            runners.append(runner)
        with support.rpc_as({"AMQP_URI": accounts("operator")}, SYSTEM) as operator:
            assert operator.permissions.ping()["service"] == "permissions"
    finally:
        for runner in runners:
            runner.stop()


def test_the_monitor_user_reads_no_queue(accounts):
    """`concord-monitor` (queue depths for KEDA over the management API) has the monitoring tag and no right
    to consume, publish or declare anything."""
    monitor_uri = accounts("monitor")
    assert "concordtest-" in monitor_uri and "-monitor:" in monitor_uri
    with pytest.raises(AccessRefused):
        attempt(monitor_uri, lambda channel: channel.basic_get("rpc-profiles"))
    with pytest.raises(AccessRefused):
        attempt(monitor_uri, lambda channel: Queue("monitor-snoop", exchange=RPC_EXCHANGE, auto_delete=True,
                                                   routing_key="#")(channel).declare())
