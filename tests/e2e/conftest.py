import pytest

from concord_common.settings import SERVICE_NAMES
from concord_common.runner import service_class
from tests import support


@pytest.fixture
def gateway_url(service_config, run_services):
    """start(*services): the gateway plus the named real services in this process; returns its URL."""
    def start(*services, **gateway_overrides):
        port = support.free_port()
        gateway_config = service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **gateway_overrides)
        for name in services:
            run_services(service_config(name), service_class(name))
        run_services(gateway_config, service_class("gateway"))
        return f"http://127.0.0.1:{port}"
    return start


@pytest.fixture
def system(gateway_url):
    """The whole system (five services and the gateway) in this process."""
    return gateway_url(*SERVICE_NAMES)


@pytest.fixture
def practitioner(system, service_config):
    """A signed-in practitioner (API token) on the whole system; `.admin` is a system admin."""
    from tests.e2e.directory import Directory, bootstrap_admin, sign_in
    admin = bootstrap_admin(system, service_config("permissions"))
    directory = Directory(system, admin)
    user = directory.user("pat", [(directory.hub, "practitioner")])
    api = sign_in(system, user["username"])
    api.admin, api.directory, api.user = admin, directory, user
    return api
