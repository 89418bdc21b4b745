"""Webhook subscriptions through the gateway: who may do what to which organisation's webhooks (a matrix), and bad
input (http, private, unresolvable URLs; unknown event types) answered 422 naming the field, nothing written.
WEBHOOKS_ALLOW_PRIVATE is off here, as in production."""
import uuid

import pytest
import requests

from tests import support
from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.support import unique_surname, wait_for

PUBLIC_URL = "https://93.184.215.14/hooks/concord"       # a public address (nothing listens: deliveries just fail)
SEALING = "ktest:" + __import__("base64").b64encode(b"k" * 32).decode()


def client_api(url, admin, organisation_id, scopes):
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                         "organisation_id": organisation_id, "scopes": scopes}), 201)
    token = requests.post(url + "/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    return Api(url, token)


@pytest.fixture(scope="module")
def system_module(request):
    settings = {"WEBHOOKS_SEALING_KEYS": SEALING, "WEBHOOKS_CONNECT_TIMEOUT": 0.5, "WEBHOOKS_TIMEOUT_SECONDS": 1,
                "WEBHOOKS_POLL_SECONDS": 0.2}
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_webhooks",
                              {"notifications": settings}) as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    root = bootstrap_admin(url, config)
    own, other = Directory(url, root), Directory(url, root)
    own_admin = own.user("oa", [(own.hub, "supervisor")], roles=["org_admin"])
    other_admin = other.user("xa", [(other.hub, "supervisor")], roles=["org_admin"])
    practitioner = own.user("pr", [(own.hub, "practitioner")])
    apis = {
        "org admin": sign_in(url, own_admin["username"]),
        "client with webhooks:manage": client_api(url, root, own.org["id"], ["webhooks:manage"]),
        "client without the scope": client_api(url, root, own.org["id"], ["profiles:read", "profiles:write"]),
        "other org's admin": sign_in(url, other_admin["username"]),
        "other org's client with scope": client_api(url, root, other.org["id"], ["webhooks:manage"]),
        "plain practitioner": sign_in(url, practitioner["username"]),
    }
    owner = apis["org admin"]
    hooks = {"own": owner.ok(owner.post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["profile.created"]}), 201)}
    foreign = apis["other org's admin"]
    hooks["other"] = foreign.ok(foreign.post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["profile.created"]}),
                                201)
    # A delivery to redeliver: the practitioner creates a profile their organisation leads.
    subject = apis["plain practitioner"].ok(apis["plain practitioner"].post("/api/v1/profiles", {
        "kind": "person", "given_name": "Hook", "family_name": unique_surname()}), 201)
    delivery = wait_for(lambda: (owner.get(f"/api/v1/webhooks/{hooks['own']['id']}/deliveries").json()["items"]
                                 or [None])[0], timeout=20, message="the delivery row")
    return {"url": url, "root": root, "apis": apis, "hooks": hooks, "delivery": delivery, "subject": subject}


WHO = ["org admin", "client with webhooks:manage", "client without the scope", "other org's admin",
       "other org's client with scope", "plain practitioner"]
# operation: expected status for each of WHO, on the own organisation's webhook
EXPECTED = {                 # admin client  noscope otheradm otherclient practitioner
    "list":                   (200,  200,    403,    200,     200,        403),
    "event types":            (200,  200,    403,    200,     200,        403),
    "get":                    (200,  200,    403,    404,     404,        403),
    "deliveries":             (200,  200,    403,    404,     404,        403),
    "redeliver":              (202,  202,    403,    404,     404,        403),
    "delete":                 (204,  204,    403,    404,     404,        403),
    "create":                 (201,  201,    403,    201,     201,        403),
}


def operate(api, operation, world, hook_id):
    delivery_id = world["delivery"]["id"]
    if operation == "list":
        return api.get("/api/v1/webhooks")
    if operation == "event types":
        return api.get("/api/v1/webhooks/event-types")
    if operation == "get":
        return api.get(f"/api/v1/webhooks/{hook_id}")
    if operation == "deliveries":
        return api.get(f"/api/v1/webhooks/{hook_id}/deliveries")
    if operation == "redeliver":
        return api.post(f"/api/v1/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver")
    if operation == "delete":
        return api.delete(f"/api/v1/webhooks/{hook_id}")
    return api.post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["case.closed"]})


@pytest.mark.parametrize("operation", list(EXPECTED))
@pytest.mark.parametrize("who", WHO)
def test_who_may_do_what_to_which_organisations_webhooks(world, who, operation):
    api, owner = world["apis"][who], world["apis"]["org admin"]
    hook_id = world["hooks"]["own"]["id"]
    if operation == "delete":               # each deletes a webhook of its own, made for the purpose
        hook_id = owner.ok(owner.post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["case.created"]}), 201)["id"]
    expected = EXPECTED[operation][WHO.index(who)]
    response = operate(api, operation, world, hook_id)
    assert response.status_code == expected, (who, operation, response.text)
    if expected == 404:                     # another organisation's webhook: the same 404 as a random id
        assert response.content == operate(api, operation, world, str(uuid.uuid4())).content
    if operation == "list" and expected == 200:
        listed = {item["id"] for item in response.json()["items"]}
        mine = who in WHO[:2]
        assert (world["hooks"]["own"]["id"] in listed) is mine and (world["hooks"]["other"]["id"] in listed) is not mine
        assert all("secret" not in item for item in response.json()["items"])
    if operation == "get" and expected == 200:
        assert "secret" not in response.json() and response.json()["url"] == PUBLIC_URL
    if operation == "deliveries" and expected == 200:
        [item] = response.json()["items"]
        assert item["type"] == "profile.created" and item["record"]["id"] == world["subject"]["id"]
    if operation == "delete" and expected == 204:
        assert owner.get(f"/api/v1/webhooks/{hook_id}").status_code == 404
    elif operation == "delete":
        assert owner.get(f"/api/v1/webhooks/{hook_id}").status_code == 200
    if operation == "create" and expected == 201:
        made = response.json()
        assert made["secret"].startswith("whsec_") and response.headers["Location"] == f"/api/v1/webhooks/{made['id']}"


def test_event_types_are_listed(world):
    types = world["apis"]["org admin"].ok(world["apis"]["org admin"].get("/api/v1/webhooks/event-types"))["items"]
    names = {item["type"] for item in types}
    assert {"profile.created", "profile.updated", "case.created", "case.updated", "case.closed", "action.created",
            "action.overdue"} <= names


@pytest.mark.parametrize("body, field, words", [
    ({"url": "http://93.184.215.14/hook", "events": ["profile.created"]}, "url", "https"),
    ({"url": "https://10.20.30.40/hook", "events": ["profile.created"]}, "url", "private"),
    ({"url": "https://127.0.0.1:8443/hook", "events": ["profile.created"]}, "url", "loopback"),
    ({"url": "https://localhost/hook", "events": ["profile.created"]}, "url", "loopback"),
    ({"url": "https://169.254.169.254/latest", "events": ["profile.created"]}, "url", "link-local"),
    ({"url": "https://no-such-receiver.invalid/hook", "events": ["profile.created"]}, "url", "resolved"),
    ({"url": "not a url", "events": ["profile.created"]}, "url", "https"),
    ({"url": PUBLIC_URL, "events": ["profile.created", "profile.exploded"]}, "events", "profile.exploded"),
    ({"url": PUBLIC_URL, "events": []}, "events", ""),
    ({"url": PUBLIC_URL, "events": "profile.created"}, "events", ""),
    ({"url": PUBLIC_URL}, "events", ""),
])
def test_bad_subscriptions_are_422_naming_the_field_and_nothing_is_written(world, body, field, words):
    api = world["apis"]["client with webhooks:manage"]
    before = api.ok(api.get("/api/v1/webhooks"))["items"]
    response = api.post("/api/v1/webhooks", body)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert field in errors and words in " ".join(errors[field])
    assert api.ok(api.get("/api/v1/webhooks"))["items"] == before


def test_a_body_that_is_not_json_is_400(world):
    api = world["apis"]["org admin"]
    response = requests.post(world["url"] + "/api/v1/webhooks", data="{nope", timeout=15,
                             headers={**api.headers(), "Content-Type": "application/json"})
    assert response.status_code == 400
