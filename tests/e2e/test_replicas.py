"""The whole system as `make run` starts it: 2 supervised processes per component.

Work spreads over both replicas; a replica killed mid-traffic loses no request
the caller retried, and supervisord starts it again.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from concord_common import demo, trust
from concord_common.signed_rpc import signed_rpc
from tests import support

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def supervised(tmp_path_factory, amqp_uri, database_server, database_prefix):
    var = tmp_path_factory.mktemp("var")
    port = support.free_port()
    env = dict(os.environ, CONCORD_VAR=str(var), AMQP_URI=amqp_uri, DATABASE_URL=database_server,
               DATABASE_PREFIX=f"{database_prefix}_sup", GATEWAY_ADDRESS=f"127.0.0.1:{port}",
               OPS_PORT_BASE=str(support.free_ops_port_base()),
               REPLICAS="2", GATEWAY_REPLICAS="2", RPC_TIMEOUT="10")

    def concord(*args, check=True):
        return subprocess.run([str(BIN / "concord"), *args], env=env, capture_output=True, text=True, check=check)

    concord("up")
    url = f"http://127.0.0.1:{port}"
    try:
        if concord("wait-ready", "--url", url, "--timeout", "120", check=False).returncode != 0:
            logs = {p.name: p.read_text()[-2000:] for p in (var / "log").glob("*.log")}
            pytest.fail(f"the system did not become ready: {logs}")
        seeded = concord("seed", "--url", url, check=False)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        session = requests.post(f"{url}/api/v1/sessions", json={"username": demo.DEMO_SIGN_IN,
                                                                "password": demo.DEMO_PASSWORD})
        assert session.status_code == 201, session.text
        yield {"url": url, "env": env, "concord": concord, "var": var,
               "auth": {"Authorization": "Bearer " + session.json()["token"]}}
    finally:
        concord("down", check=False)


def supervised_pid(system, name) -> int:
    out = subprocess.run([str(BIN / "supervisorctl"), "-c", str(system["var"] / "supervisord.conf"), "pid", name],
                         capture_output=True, text=True).stdout.strip()
    return int(out) if out.isdigit() else 0


def with_retries(send, tries=5):
    """What a well-behaved client does: retry on a dropped connection or a 502/503."""
    last = None
    for _ in range(tries):
        try:
            response = send()
            if response.status_code not in (502, 503):
                return response
            last = response
        except requests.ConnectionError as exc:
            last = exc
    raise AssertionError(f"gave up after {tries} tries: {last}")


def test_gateway_requests_spread_over_both_replicas(supervised):
    instances = {requests.get(f"{supervised['url']}/healthz", headers={"Connection": "close"})
                 .headers["X-Concord-Instance"] for _ in range(60)}
    assert len(instances) == 2


def test_service_calls_spread_over_both_replicas(supervised):
    config = {"AMQP_URI": supervised["env"]["AMQP_URI"]}
    keyring = trust.keyring_for({"KEYS_DIR": str(supervised["var"] / "keys")}, trust.GATEWAY)   # `concord up` made it
    with signed_rpc(config, keyring, timeout=10) as cluster:
        replies = [cluster.profiles.ping.call_async() for _ in range(60)]
        instances = {reply.result()["instance"] for reply in replies}
    assert len(instances) == 2


@pytest.mark.parametrize("victim", ["gateway:gateway-0", "profiles:profiles-1"])
def test_killing_a_replica_loses_no_retried_request(supervised, victim):
    url = supervised["url"]
    pid = supervised_pid(supervised, victim)
    assert pid
    created = []
    for n in range(80):
        if n == 20:
            os.kill(pid, signal.SIGKILL)
        body = {"kind": "person", "given_name": f"Kill{n}", "family_name": "Test"}
        response = with_retries(lambda: requests.post(f"{url}/api/v1/profiles", json=body, timeout=15,
                                                      headers={"Connection": "close", **supervised["auth"]}))
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    for profile_id in created:
        assert with_retries(lambda: requests.get(f"{url}/api/v1/profiles/{profile_id}", timeout=15,
                                                 headers=supervised["auth"])).status_code == 200
    restarted = support.wait_for(lambda: supervised_pid(supervised, victim), timeout=30,
                                 message="supervisord to restart the replica")
    assert restarted != pid
