"""The first vertical slice end to end: HTTP -> gateway -> profiles -> its database -> event -> audit."""
import re
import uuid
from pathlib import Path

import pytest
import requests

from tests import support

PERSON = {"kind": "person", "given_name": "Jordan", "family_name": "Avery", "date_of_birth": "2010-04-17"}


def problem_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"].endswith(body["type"].rsplit("/", 1)[1])
    assert {"type", "title", "status", "detail"} <= set(body)
    assert "Traceback" not in response.text
    return body


def test_create_read_and_audit_a_profile(system, practitioner):
    created = requests.post(f"{system}/api/v1/profiles", json=PERSON,
                            headers={"X-Request-Id": "e2e-slice-0001", **practitioner.headers()})
    assert created.status_code == 201, created.text
    profile = created.json()
    assert created.headers["Location"] == f"/api/v1/profiles/{profile['id']}"
    assert created.headers["X-Request-Id"] == "e2e-slice-0001"
    assert profile["display_name"] == "Jordan Avery" and profile["version"] == 1

    assert isinstance(profile.pop("possible_duplicates"), list)      # the create answer alone carries them
    read = practitioner.get(f"/api/v1/profiles/{profile['id']}")
    assert read.status_code == 200 and read.json() == profile

    def audited():
        body = practitioner.get(f"/api/v1/audit/records/profiles/{profile['id']}").json()
        return [item for item in body["items"] if item["action"] == "created"]
    [entry] = support.wait_for(audited, message="the audit entry")
    assert entry["action"] == "created"
    assert entry["record"] == {"type": "profile", "id": profile["id"]}
    assert entry["request_id"] == "e2e-slice-0001"
    assert entry["actor"]["id"] == practitioner.user["id"]
    assert entry["actor"]["organisation_id"] == practitioner.directory.org["id"]


def test_health_readiness_and_metrics(system):
    assert requests.get(f"{system}/healthz").json()["status"] == "ok"
    ready = requests.get(f"{system}/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"]) == {"profiles", "cases", "permissions", "audit", "notifications"}
    # Not public: Prometheus scrapes the ops port, or /metrics with METRICS_TOKEN (tests/e2e/test_gateway_edge.py).
    assert requests.get(f"{system}/metrics").status_code == 404


def test_bad_input_gets_a_clear_problem_and_writes_nothing(system, practitioner):
    cases = [
        (b"not json", 400, None),
        (b"[1, 2]", 400, None),
        (b"", 400, None),
        (b'{"kind": "person"}', 422, {"given_name", "family_name"}),
        (b'{"kind": "alien", "given_name": "A", "family_name": "B"}', 422, {"kind"}),
        (b'{"kind": "person", "given_name": "A", "family_name": "B", "date_of_birth": "2999-01-01"}', 422,
         {"date_of_birth"}),
        (b'{"kind": "person", "given_name": "A", "family_name": "B", "date_of_birth": "31/12/1990"}', 422,
         {"date_of_birth"}),
        (b'{"kind": "person", "given_name": "A", "family_name": "B", "shoe_size": 9}', 422, {"shoe_size"}),
    ]
    for body, status, fields in cases:
        response = requests.post(f"{system}/api/v1/profiles", data=body,
                                 headers={"Content-Type": "application/json", **practitioner.headers()})
        problem = problem_of(response, status)
        if fields:
            assert set(problem["errors"]) == fields, (body, problem)


def test_unknown_and_malformed_ids_and_routes_answer_the_same_404(system, practitioner):
    bodies = {practitioner.get(f"/api/v1/profiles/{uuid.uuid4()}").text,
              practitioner.get("/api/v1/profiles/not-a-uuid").text,
              practitioner.get(f"/api/v1/audit/records/widgets/{uuid.uuid4()}").text,
              practitioner.get("/api/v1/no-such-thing").text,
              requests.get(f"{system}/api/v1/no-such-thing").text}
    assert len(bodies) == 1
    problem_of(practitioner.get(f"/api/v1/profiles/{uuid.uuid4()}"), 404)


def test_every_font_and_image_the_stylesheet_asks_for_is_served(system):
    if not (Path(__file__).resolve().parents[2] / "gateway/static/concord.css").exists():
        pytest.skip("Concord's stylesheet is not built (make install needs npm)")
    css = requests.get(f"{system}/assets/concord.css", timeout=10)
    assert css.status_code == 200
    wanted = sorted(set(re.findall(r"url\(\"?(/assets/[^)\"']+)\"?\)", css.text)))
    assert not any("/fonts/" in url for url in wanted), "Concord uses the system's fonts (not on GOV.UK)"
    assert {url: requests.get(system + url, timeout=10).status_code for url in wanted} == {url: 200 for url in wanted}
