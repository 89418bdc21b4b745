"""Schemathesis over the partner OpenAPI document (issue 11 item 9): no input makes the gateway answer 5xx.

Every operation, a bounded number of generated requests each (FUZZ_EXAMPLES, default 8), sent once as a
signed-in practitioner and once as a partner system's client token. Server errors are collected, not raised
at the first, so one run names them all.
"""
import os
import uuid

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests import support  # noqa: E402
from tests.e2e.directory import Directory, bootstrap_admin, sign_in  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# Ending our own session would leave the rest of the run signed out (answers 401, not errors: nothing missed).
SKIPPED = {("DELETE", "/api/v1/sessions/current")}
PARTNER_SCOPES = ["profiles:read", "profiles:write", "audit:read", "cases:read", "cases:write"]


@pytest.fixture(scope="module")
def fuzzed(amqp_uri, database_server, database_prefix):
    with support.whole_system(amqp_uri, database_server, f"{database_prefix}_fuzz") as (url, perms):
        admin = bootstrap_admin(url, perms)
        directory = Directory(url, admin)
        user = directory.user("pat", [(directory.hub, "practitioner")])
        practitioner = sign_in(url, user["username"])
        client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"Partner {uuid.uuid4().hex[:6]}",
                                                              "organisation_id": directory.org["id"],
                                                              "scopes": PARTNER_SCOPES}), 201)
        token = requests.post(url + "/api/v1/oauth/token", timeout=15, json={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]})
        assert token.status_code == 200, token.text
        practitioner.ok(practitioner.post("/api/v1/profiles", {"kind": "person", "given_name": "Fuzz",
                                                                "family_name": "Target"}), 201)
        yield {"url": url, "callers": {"practitioner": practitioner.headers(),
                                       "partner": {"Authorization": f"Bearer {token.json()['access_token']}"}}}


def test_no_generated_request_gets_a_server_error(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed["url"] + "/api/v1/openapi.json")
    schema.config.base_url = fuzzed["url"]
    failures, calls, operations = [], 0, 0
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def exercise(case):
            nonlocal calls
            for caller, headers in fuzzed["callers"].items():
                response = case.call(base_url=fuzzed["url"], session=session,
                                     headers={**(case.headers or {}), **headers}, timeout=30)
                calls += 1
                if response.status_code >= 500:
                    failures.append((caller, case.method, case.formatted_path, response.status_code,
                                     response.text[:300]))

        exercise()
    print(f"{operations} operations, {calls} requests, {len(failures)} server errors")
    assert operations >= 40
    assert not failures, "\n".join(map(str, failures[:20]))
