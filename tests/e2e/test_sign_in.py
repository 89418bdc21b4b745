"""Sign-in through the gateway: tokens, immediate revocation across replicas, CSRF, scopes, MFA."""
import re

import pytest
import requests

from concord_common.settings import SERVICE_NAMES
from tests.e2e.directory import PASSWORD, Api, Directory, bootstrap_admin, next_code, sign_in


@pytest.fixture
def two_gateways(gateway_url, service_config, run_services):
    """The whole system with two gateway replicas (each with its own principal cache)."""
    from gateway.service import GatewayService
    from tests import support
    first = gateway_url(*SERVICE_NAMES)
    port = support.free_port()
    run_services(service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"), GatewayService)
    return first, f"http://127.0.0.1:{port}"


@pytest.fixture
def world(two_gateways, service_config):
    url, other = two_gateways
    admin = bootstrap_admin(url, service_config("permissions"))
    return {"url": url, "other": other, "admin": admin, "dir": Directory(url, admin)}


def test_every_api_route_needs_a_valid_token(world):
    url = world["url"]
    for method, path in [("GET", "/api/v1/me"), ("POST", "/api/v1/profiles"), ("GET", "/api/v1/organisations"),
                         ("GET", "/api/v1/profiles/00000000-0000-0000-0000-000000000000")]:
        for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
            response = requests.request(method, url + path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_password_and_unknown_user_get_the_same_answer(world):
    d = world["dir"]
    user = d.user("amy", [(d.hub, "practitioner")])
    wrong = requests.post(world["url"] + "/api/v1/sessions", json={"username": user["username"], "password": "x" * 14})
    unknown = requests.post(world["url"] + "/api/v1/sessions", json={"username": "nobody-" + d.suffix,
                                                                      "password": "x" * 14})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_sign_out_ends_the_token_at_once_on_every_replica(world):
    d = world["dir"]
    user = d.user("ben", [(d.hub, "practitioner")])
    api = sign_in(world["url"], user["username"])
    elsewhere = Api(world["other"], api.token)
    assert api.ok(api.get("/api/v1/me"))["username"] == user["username"]
    assert elsewhere.get("/api/v1/me").status_code == 200          # now cached on both replicas
    assert api.delete("/api/v1/sessions/current").status_code == 204
    assert api.get("/api/v1/me").status_code == 401
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_a_removed_member_loses_access_on_the_very_next_request(world):
    d, admin = world["dir"], world["admin"]
    user = d.user("cat", [(d.hub, "practitioner"), (d.npt, "practitioner")])
    api = sign_in(world["url"], user["username"])
    elsewhere = Api(world["other"], api.token)
    assert len(elsewhere.ok(elsewhere.get("/api/v1/me"))["teams"]) == 2

    assert admin.delete(f"/api/v1/teams/{d.npt['id']}/members/{user['id']}").status_code == 204
    assert [team["id"] for team in elsewhere.ok(elsewhere.get("/api/v1/me"))["teams"]] == [d.hub["id"]]

    assert admin.delete(f"/api/v1/teams/{d.hub['id']}/members/{user['id']}").status_code == 204
    assert elsewhere.get("/api/v1/me").status_code == 401            # last team gone: signed out


def test_disabling_a_user_ends_every_session_at_once(world):
    d, admin = world["dir"], world["admin"]
    user = d.user("dan", [(d.hub, "practitioner")])
    sessions = [sign_in(world["url"], user["username"]) for _ in range(2)]
    for api in sessions:
        assert Api(world["other"], api.token).get("/api/v1/me").status_code == 200
    assert admin.post(f"/api/v1/users/{user['id']}/disable").status_code == 204
    for api in sessions:
        assert Api(world["other"], api.token).get("/api/v1/me").status_code == 401
    again = requests.post(world["url"] + "/api/v1/sessions", json={"username": user["username"], "password": PASSWORD})
    assert again.status_code == 401


def test_repeated_failures_lock_the_account_with_retry_after(world):
    d = world["dir"]
    user = d.user("eve", [(d.hub, "practitioner")])
    answers = [requests.post(world["url"] + "/api/v1/sessions",
                             json={"username": user["username"], "password": "wrong-password-here"}).status_code
               for _ in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    locked = requests.post(world["url"] + "/api/v1/sessions", json={"username": user["username"], "password": PASSWORD})
    assert locked.status_code == 429                                   # even with the right password
    assert int(locked.headers["Retry-After"]) > 0


def test_partner_client_tokens_are_limited_to_their_scopes(world):
    d, admin, url = world["dir"], world["admin"], world["url"]
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": "Force records system",
                                                          "organisation_id": d.org["id"],
                                                          "scopes": ["profiles:read"]}), 201)
    token = requests.post(url + "/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"], "scope": "profiles:read"})
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "profiles:read" and body["expires_in"] > 0
    partner = Api(url, body["access_token"])
    assert partner.get("/api/v1/profiles/00000000-0000-0000-0000-000000000000").status_code == 404
    assert partner.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B"}).status_code == 403
    assert partner.get("/api/v1/audit/records/profiles/00000000-0000-0000-0000-000000000000").status_code == 403
    assert partner.get("/api/v1/organisations").status_code == 403
    assert partner.ok(partner.get("/api/v1/me"))["client_id"] == client["client_id"]

    wider = requests.post(url + "/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"], "scope": "profiles:read profiles:write"})
    assert wider.status_code in (400, 422)
    wrong = requests.post(url + "/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "nope"})
    assert wrong.status_code == 401


def test_mfa_is_enforced_where_the_organisation_requires_it(world):
    admin, url = world["admin"], world["url"]
    strict = Directory(url, admin, require_mfa=True)
    user = strict.user("fay", [(strict.hub, "practitioner")])
    first = sign_in(url, user["username"])
    assert first.ok(first.get("/api/v1/me"))["username"] == user["username"]
    blocked = first.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B"})
    assert blocked.status_code == 403
    secret = first.ok(first.post("/api/v1/me/mfa"), 201)["secret"]
    assert first.post("/api/v1/me/mfa/confirm", {"otp": "000000"}).status_code in (400, 422)
    first.ok(first.post("/api/v1/me/mfa/confirm", {"otp": next_code(secret)}))

    without = requests.post(url + "/api/v1/sessions", json={"username": user["username"], "password": PASSWORD})
    assert without.status_code == 401 and without.json()["type"].endswith("mfa-required")
    wrong = requests.post(url + "/api/v1/sessions", json={"username": user["username"], "password": PASSWORD,
                                                           "otp": "123456"})
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("mfa-required")
    api = sign_in(url, user["username"], otp_secret=secret)
    assert api.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B"}).status_code == 201


def csrf_field(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_web_sign_in_uses_a_safe_cookie_and_refuses_forms_without_csrf(world):
    d, url = world["dir"], world["url"]
    user = d.user("gus", [(d.hub, "practitioner")])
    browser = requests.Session()
    assert browser.get(url + "/", allow_redirects=False).headers["Location"].endswith("/sign-in")
    form = browser.get(url + "/sign-in")
    assert form.status_code == 200 and "Sign in to Concord" in form.text
    token = csrf_field(form.text)

    forged = requests.post(url + "/sign-in", data={"username": user["username"], "password": PASSWORD},
                           allow_redirects=False)
    assert forged.status_code == 403 and "concord_session" not in forged.headers.get("Set-Cookie", "")
    wrong_token = browser.post(url + "/sign-in", data={"username": user["username"], "password": PASSWORD,
                                                       "csrf_token": "x" + token}, allow_redirects=False)
    assert wrong_token.status_code == 403

    bad = browser.post(url + "/sign-in", data={"username": user["username"], "password": "not-the-password",
                                               "csrf_token": token}, allow_redirects=False)
    assert bad.status_code == 401 and "The username or password is incorrect" in bad.text
    token = csrf_field(bad.text)
    signed_in = browser.post(url + "/sign-in", data={"username": user["username"], "password": PASSWORD,
                                                     "csrf_token": token}, allow_redirects=False)
    assert signed_in.status_code == 303
    cookie = signed_in.headers["Set-Cookie"]
    assert "concord_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    home = browser.get(url + "/")
    assert home.status_code == 200 and "Signed in as Gus" in home.text
    session_csrf = csrf_field(home.text)
    # The session cookie alone must not be enough to change anything.
    assert browser.post(url + "/sign-out", data={}).status_code == 403
    assert browser.post(url + "/api/v1/profiles", json={"kind": "person", "given_name": "A",
                                                        "family_name": "B"}).status_code == 403
    assert browser.get(url + "/").status_code == 200                   # still signed in
    out = browser.post(url + "/sign-out", data={"csrf_token": session_csrf}, allow_redirects=False)
    assert out.status_code == 303
    assert browser.get(url + "/", allow_redirects=False).status_code == 303
