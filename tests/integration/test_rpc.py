"""RPC between services: deadlines, unavailable services, caller context in calls, events and logs."""
import logging
import time
import uuid

import eventlet
import pytest
import requests
from sqlalchemy import create_engine, select

from concord_common import logs
from concord_common.context import Caller
from concord_common.service import rpc
from services.audit.models import AuditEntry
from services.audit.service import AuditService
from services.profiles.service import ProfilesService
from tests import support


class SlowProfiles:
    """Stands in for a profiles service that has hung."""
    name = "profiles"

    @rpc
    def ping(self):
        return {"service": "profiles"}

    @rpc
    def get_profile(self, profile_id):
        eventlet.sleep(5)
        return {"id": profile_id}


def start_gateway(service_config, run_services, **overrides):
    """The gateway and the real permissions service; returns (url, a signed-in Api)."""
    from gateway.service import GatewayService
    from services.permissions.service import PermissionsService
    from tests.e2e.directory import bootstrap_admin
    run_services(service_config("permissions"), PermissionsService)
    port = support.free_port()
    run_services(service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **overrides), GatewayService)
    url = f"http://127.0.0.1:{port}"
    return url, bootstrap_admin(url, service_config("permissions"))


def test_a_service_that_does_not_answer_in_time_gets_a_504_not_a_hang(service_config, run_services):
    run_services(service_config("profiles"), SlowProfiles)
    url, api = start_gateway(service_config, run_services, RPC_TIMEOUT=1)
    started = time.monotonic()
    response = api.get(f"/api/v1/profiles/{uuid.uuid4()}")
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "profiles" in response.json()["detail"]
    assert elapsed < 4, "the gateway must give up at its deadline, not wait for the service"
    assert requests.get(f"{url}/healthz").status_code == 200       # and it still serves


def test_a_service_that_is_down_gets_503_and_readyz_names_it(service_config, run_services):
    profiles = run_services(service_config("profiles"), ProfilesService)
    url, api = start_gateway(service_config, run_services)
    assert api.get(f"/api/v1/profiles/{uuid.uuid4()}").status_code == 404   # profiles answers

    ready = requests.get(f"{url}/readyz")
    assert ready.status_code == 503
    missing = set(ready.json()["errors"])
    assert missing == {"cases", "audit", "notifications"}
    assert "cases" in ready.json()["detail"]

    profiles.stop()
    time.sleep(2.2)     # the gateway caches "has consumers" for 2 s
    down = api.get(f"/api/v1/profiles/{uuid.uuid4()}")
    assert down.status_code == 503
    assert down.json()["type"].endswith("service-unavailable")
    assert "profiles" in requests.get(f"{url}/readyz").json()["errors"]


@pytest.fixture
def json_log_lines():
    """Log lines as the JSON formatter writes them, captured from this process."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logs.JsonFormatter("test"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


def test_caller_context_travels_with_rpc_and_events_into_logs(service_config, run_services, json_log_lines):
    profiles_config = service_config("profiles")
    audit_config = service_config("audit")
    run_services(profiles_config, ProfilesService)
    run_services(audit_config, AuditService)
    caller = Caller(kind="user", id="u-42", organisation_id="org-7", teams=({"id": "team-3", "role": "spoc"},),
                    roles=("org_admin",))
    request_id = "ctx-" + uuid.uuid4().hex
    with support.rpc_as(profiles_config, caller, request_id=request_id, timeout=10) as cluster:
        profile = cluster.profiles.create_profile({"kind": "person", "given_name": "A", "family_name": "B"})

    engine = create_engine(support.database_url_for(audit_config))
    try:
        def entry():
            with engine.connect() as conn:
                return conn.execute(select(AuditEntry).where(AuditEntry.record_id == profile["id"])).first()
        audited = support.wait_for(entry, message="audit entry")
    finally:
        engine.dispose()
    assert audited.request_id == request_id
    assert audited.actor == {"kind": "user", "id": "u-42", "organisation_id": "org-7", "teams": ["team-3"]}

    import json
    created_lines = [json.loads(line) for line in json_log_lines if '"profile created"' in line]
    assert created_lines, json_log_lines
    assert created_lines[0]["request_id"] == request_id
    assert created_lines[0]["caller"]["id"] == "u-42"


def test_malformed_rpc_payload_gets_a_clear_error(service_config, run_services):
    from concord_common.errors import MalformedRequest, ValidationFailed
    from nameko.exceptions import IncorrectSignature
    config = service_config("profiles")
    run_services(config, ProfilesService)
    with support.rpc_as(config, timeout=10) as cluster:
        with pytest.raises(MalformedRequest):
            cluster.profiles.create_profile(["not", "an", "object"])
        with pytest.raises(ValidationFailed) as invalid:
            cluster.profiles.create_profile({"kind": "person", "given_name": 5})
        assert set(invalid.value.errors) == {"given_name", "family_name"}
        with pytest.raises(IncorrectSignature):
            cluster.profiles.create_profile()
