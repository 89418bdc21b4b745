"""The gateway's edge, end to end (issue 11 items 8 and 9): proxies, response headers, metrics, bad input.

One system for the module, its gateway behind "one trusted proxy" (TRUST_FORWARDED_FOR=true, as before
TRUSTED_PROXIES existed) with a METRICS_TOKEN.
"""
import json
import socket
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
PERSON = {"kind": "person", "given_name": "Jordan", "family_name": "Avery", "date_of_birth": "2010-04-17"}


@pytest.fixture(scope="module")
def edge(amqp_uri, database_server, database_prefix):
    overrides = {"gateway": {"TRUST_FORWARDED_FOR": True, "METRICS_TOKEN": METRICS_TOKEN}}
    with support.whole_system(amqp_uri, database_server, f"{database_prefix}_edge", overrides) as (url, perms):
        admin = bootstrap_admin(url, perms)
        directory = Directory(url, admin)
        user = directory.user("pat", [(directory.hub, "practitioner")])
        yield {"url": url, "api": sign_in(url, user["username"]), "permissions": perms}


def post_raw(edge, path, raw: str):
    return requests.post(edge["url"] + path, data=raw.encode(), timeout=15,
                         headers={"Content-Type": "application/json", **edge["api"].headers()})


def problem_of(response, status):
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def test_sign_in_records_the_address_the_proxy_saw_not_the_one_the_client_wrote(edge):
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    refused = requests.post(edge["url"] + "/api/v1/sessions", json={"username": username, "password": "wrong"},
                            headers={"X-Forwarded-For": "10.66.66.66, 198.51.100.7"}, timeout=15)
    assert refused.status_code == 401
    engine = create_engine(support.database_url_for(edge["permissions"]))
    try:
        with engine.connect() as conn:
            recorded = conn.execute(text("SELECT source_ip FROM login_failures WHERE username_lower = :name"),
                                    {"name": username}).scalars().all()
    finally:
        engine.dispose()
    assert recorded == ["198.51.100.7"]


def test_api_answers_are_not_stored_or_sniffed(edge):
    api = edge["api"]
    for response in (api.get("/api/v1/me"), api.get(f"/api/v1/profiles/{uuid.uuid4()}"),
                     requests.get(edge["url"] + "/api/v1/me", timeout=10), requests.get(edge["url"] + "/healthz")):
        assert response.headers["Cache-Control"] == "no-store", response.url
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert "Strict-Transport-Security" not in response.headers      # plain http, nobody vouching for TLS
    document = requests.get(edge["url"] + "/api/v1/openapi.json", timeout=10)
    assert document.headers["Cache-Control"].startswith("public, max-age=")      # keeps its own caching
    assert document.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_when_a_trusted_proxy_says_https(edge):
    behind_tls = requests.get(edge["url"] + "/api/v1/me",
                              headers={"X-Forwarded-Proto": "https", **edge["api"].headers()})
    assert behind_tls.status_code == 200
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=")


def test_metrics_are_not_public(edge):
    assert requests.get(edge["url"] + "/metrics", timeout=10).status_code == 404
    assert requests.get(edge["url"] + "/metrics", headers={"Authorization": "Bearer guess"}).status_code == 404
    unicode_guess = {"Authorization": "Bearer caf\u00e9".encode()}
    assert requests.get(edge["url"] + "/metrics", headers=unicode_guess).status_code == 404
    scraped = requests.get(edge["url"] + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "concord_worker_seconds" in scraped.text


@pytest.mark.parametrize("body, field", [
    ({**PERSON, "given_name": "Jo\u0000rdan"}, "given_name"),
    ({**PERSON, "family_name": "\ud800"}, "family_name"),
])
def test_nul_and_lone_surrogates_are_422_naming_the_field(edge, body, field):
    raw = json.dumps(body)           # ensure_ascii: "\u0000" and "\ud800" travel as JSON escapes
    response = post_raw(edge, "/api/v1/profiles", raw)
    assert field in problem_of(response, 422)["errors"]


def test_nul_in_a_query_or_path_is_refused(edge):
    assert "q" in problem_of(edge["api"].get("/api/v1/profiles?q=ab%00cd"), 422)["errors"]
    problem_of(edge["api"].get("/api/v1/profiles/%00"), 400)
    problem_of(edge["api"].get("/api/v1/audit/organisations/x%0Ay/export?format=csv"), 400)


def test_json_nested_thousands_deep_is_400(edge):
    for depth in (100, 100_000):
        raw = '{"given_name": ' + "[" * depth + "]" * depth + "}"
        body = problem_of(post_raw(edge, "/api/v1/profiles", raw), 400)
        assert "nested" in body["detail"]


def _raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_oversized_headers_are_a_problem_not_a_bare_400(edge):
    answer = _raw_exchange(edge["url"], b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"431", head
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == 431
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(150))
    answer = _raw_exchange(edge["url"], b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"431" and json.loads(body)["status"] == 431


def test_a_method_no_route_has_is_a_problem(edge):
    response = requests.request("OPTIONS", edge["url"] + "/api/v1/me", timeout=10)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
