"""Sharing agreements, access requests and transfers through the gateway's HTTP API.

The real gateway and permissions service; the owning services are the
integration tests' stand-in (records what it is asked, fails when told), so
these hold the routes to their contract whatever state profiles and cases are
in. Requests and transfers are registered as the owning service would (over
RPC, as the person asking); `test_sharing_flows.py` starts them from the record.
"""
import uuid
from datetime import date, timedelta

import pytest
import requests
from kombu import Connection, Queue

from concord_common.errors import Conflict
from concord_common.outbox import event_exchange
from gateway.auth import caller_from_principal
from tests import support
from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.integration.test_sharing_decisions import CasesStandIn, OwnerStandIn, ProfilesStandIn

REASON = "Allocated social worker for the child; I need the police history."
NOWHERE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def world(gateway_url, service_config, run_services, amqp_uri):
    # Somewhere for permissions' events to go (audit and notifications are not running here).
    sink = Queue(f"test-sharing-routes-{uuid.uuid4().hex[:8]}", exchange=event_exchange("permissions.events"),
                 routing_key="#", auto_delete=False)
    with Connection(amqp_uri) as conn:
        sink(conn.channel()).declare()
    OwnerStandIn.reset()
    url = gateway_url("permissions")
    run_services(service_config("profiles"), ProfilesStandIn, CasesStandIn)
    permissions_config = service_config("permissions")
    admin = bootstrap_admin(url, permissions_config)
    police, council = Directory(url, admin), Directory(url, admin, name=f"Leeds Council {uuid.uuid4().hex[:6]}")
    people = {
        "lead": police.user("lead", [(police.hub, "practitioner")]),
        "police_admin": police.user("padmin", [], roles=["org_admin"]),
        "npt": police.user("npt", [(police.npt, "practitioner")]),
        "sw": council.user("sw", [(council.hub, "practitioner")]),
        "council_manager": council.user("mgr", [(council.hub, "supervisor")]),
        "stranger": council.user("stranger", [(council.npt, "practitioner")]),
    }
    apis = {who: sign_in(url, person["username"]) for who, person in people.items()}
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": "Force records", "organisation_id": police.org["id"],
                                                          "scopes": ["profiles:read", "profiles:write"]}), 201)
    token = requests.post(url + "/api/v1/oauth/token", timeout=15, json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    apis["client"] = Api(url, token)
    yield {"url": url, "admin": admin, "police": police, "council": council, "people": people, "apis": apis,
           "config": permissions_config}
    OwnerStandIn.reset()
    with Connection(amqp_uri) as conn:
        sink(conn.channel()).delete()


def as_person(world, who, method, *args):
    """Call the permissions service as a signed-in person, as an owning service does for them."""
    config = world["config"]
    with support.rpc_as(config, timeout=20) as anonymous:
        principal = anonymous.permissions.resolve_token(world["apis"][who].token)
    caller = caller_from_principal(principal)
    with support.rpc_as(config, caller, timeout=20) as rpc:
        return getattr(rpc.permissions, method)(*args)


def a_profile(world, **changes) -> dict:
    police = world["police"]
    return {"type": "profile", "id": str(uuid.uuid4()), "display_name": "Ann LEE (b. 2012)",
            "owner_team_id": police.hub["id"], "owner_organisation_id": police.org["id"], **changes}


def problem(response, status) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


def test_sharing_agreements(world):
    admin, apis, police, council = world["admin"], world["apis"], world["police"], world["council"]
    body = {"name": "Leeds safeguarding partnership", "purpose": "Safeguarding children at risk",
            "lawful_basis": "Children Act 2004 s11", "organisation_ids": [police.org["id"], council.org["id"]],
            "review_date": (date.today() + timedelta(days=365)).isoformat()}
    created = apis["police_admin"].post("/api/v1/sharing-agreements", body)
    agreement = apis["police_admin"].ok(created, 201)
    assert created.headers["Location"] == f"/api/v1/sharing-agreements/{agreement['id']}"
    assert agreement["active"] is True and len(agreement["parties"]) == 2

    lead = apis["lead"]
    assert lead.ok(lead.get(f"/api/v1/sharing-agreements/{agreement['id']}")) == agreement
    listed = lead.ok(lead.get("/api/v1/sharing-agreements", params={"organisation_id": council.org["id"]}))
    assert [item["id"] for item in listed["items"]] == [agreement["id"]]
    bad_filter = problem(lead.get("/api/v1/sharing-agreements", params={"organisation_id": "council"}), 422)
    assert set(bad_filter["errors"]) == {"organisation_id"}

    refused = problem(lead.post("/api/v1/sharing-agreements", body), 403)
    assert refused["type"].endswith("/forbidden")
    bad = problem(admin.post("/api/v1/sharing-agreements", {**body, "organisation_ids": [police.org["id"]],
                                                            "review_date": "2001-01-01"}), 422)
    assert set(bad["errors"]) == {"organisation_ids", "review_date"}
    problem(apis["client"].get("/api/v1/sharing-agreements"), 403)
    problem(requests.get(world["url"] + "/api/v1/sharing-agreements", timeout=15), 401)

    ended = apis["police_admin"].ok(apis["police_admin"].post(f"/api/v1/sharing-agreements/{agreement['id']}/end"))
    assert ended["status"] == "ended" and ended["active"] is False
    missing = lead.get(f"/api/v1/sharing-agreements/{NOWHERE}")
    assert problem(missing, 404) == problem(lead.get("/api/v1/sharing-agreements/not-an-id"), 404)


def test_access_requests_are_listed_and_decided(world):
    apis, people = world["apis"], world["people"]
    lead, sw = apis["lead"], apis["sw"]
    record = a_profile(world)
    asked = as_person(world, "sw", "register_access_request", record, REASON)
    other = as_person(world, "sw", "register_access_request", a_profile(world), REASON)

    incoming = lead.ok(lead.get("/api/v1/access-requests", params={"status": "pending"}))["items"]
    assert {item["id"] for item in incoming} == {asked["id"], other["id"]}
    assert {item["direction"] for item in incoming} == {"incoming"}
    outgoing = sw.ok(sw.get("/api/v1/access-requests"))["items"]
    assert {item["id"]: item["direction"] for item in outgoing} == {asked["id"]: "outgoing",
                                                                    other["id"]: "outgoing"}
    page = lead.ok(lead.get("/api/v1/access-requests", params={"limit": "1"}))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = lead.ok(lead.get("/api/v1/access-requests", params={"limit": "1", "cursor": page["next_cursor"]}))
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {asked["id"], other["id"]}
    assert set(problem(lead.get("/api/v1/access-requests", params={"status": "maybe"}), 422)["errors"]) == {"status"}
    problem(lead.get("/api/v1/access-requests?status=pending&status=denied"), 400)

    # Deny by default: someone unconnected gets the very 404 of a request that does not exist.
    hidden = problem(apis["stranger"].get(f"/api/v1/access-requests/{asked['id']}"), 404)
    assert hidden == problem(apis["stranger"].get(f"/api/v1/access-requests/{NOWHERE}"), 404)
    assert hidden == problem(apis["stranger"].post(f"/api/v1/access-requests/{asked['id']}/approve",
                                                   {"level": "view"}), 404)
    problem(apis["npt"].post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}), 403)
    problem(sw.post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}), 403)
    problem(apis["client"].post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}), 403)

    problem(lead.post(f"/api/v1/access-requests/{asked['id']}/approve"), 400)         # no body
    bad = problem(lead.post(f"/api/v1/access-requests/{asked['id']}/approve",
                            {"level": "admin", "expires_at": "2020-01-01T00:00:00Z"}), 422)
    assert set(bad["errors"]) == {"level", "expires_at"}

    OwnerStandIn.failure = Conflict("The record has a new owner.")
    problem(lead.post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}), 409)
    assert sw.ok(sw.get(f"/api/v1/access-requests/{asked['id']}"))["status"] == "pending"
    OwnerStandIn.failure = None

    approved = lead.ok(lead.post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}))
    assert approved["status"] == "approved" and approved["decision"]["by"]["id"] == people["lead"]["id"]
    assert [call.payload["source_id"] for call in OwnerStandIn.asked] == [asked["id"], asked["id"]]
    problem(lead.post(f"/api/v1/access-requests/{asked['id']}/deny"), 409)

    denied = lead.ok(lead.post(f"/api/v1/access-requests/{other['id']}/deny"))        # a note is optional
    assert denied["status"] == "denied"
    assert sw.ok(sw.get(f"/api/v1/access-requests/{other['id']}"))["decision"]["by"]["display_name"] == "Lead"

    mine = as_person(world, "sw", "register_access_request", a_profile(world), REASON)
    assert sw.ok(sw.post(f"/api/v1/access-requests/{mine['id']}/withdraw"))["status"] == "withdrawn"


def test_transfers_are_listed_and_decided(world):
    apis, police, council = world["apis"], world["police"], world["council"]
    lead, sw, manager = apis["lead"], apis["sw"], apis["council_manager"]
    offered = as_person(world, "lead", "register_transfer", a_profile(world, is_person=True),
                        {"to_team_id": council.hub["id"], "note": "Family moved to Leeds."})
    declined = as_person(world, "lead", "register_transfer", a_profile(world, is_person=False, type="family"),
                         {"to_team_id": council.hub["id"]})

    incoming = manager.ok(manager.get("/api/v1/transfers", params={"status": "pending", "direction": "incoming"}))
    assert {item["id"] for item in incoming["items"]} == {offered["id"], declined["id"]}
    assert {item["direction"] for item in lead.ok(lead.get("/api/v1/transfers"))["items"]} == {"outgoing"}
    hidden = problem(apis["stranger"].get(f"/api/v1/transfers/{offered['id']}"), 404)
    assert hidden == problem(apis["stranger"].get(f"/api/v1/transfers/{NOWHERE}"), 404)
    problem(lead.post(f"/api/v1/transfers/{offered['id']}/accept", {"consent": {"status": "given"}}), 403)
    problem(apis["client"].get("/api/v1/transfers"), 403)

    missing = problem(sw.post(f"/api/v1/transfers/{offered['id']}/accept"), 422)      # a person: consent again
    assert set(missing["errors"]) == {"consent"}
    assert OwnerStandIn.asked == []
    accepted = sw.ok(sw.post(f"/api/v1/transfers/{offered['id']}/accept", {"consent": {"status": "given"}}))
    assert accepted["status"] == "accepted" and accepted["to_team"]["id"] == council.hub["id"]
    [call] = OwnerStandIn.asked
    assert call.method == "apply_transfer" and call.caller.kind == "system"
    assert call.payload["to_organisation_id"] == council.org["id"]

    rejected = manager.ok(manager.post(f"/api/v1/transfers/{declined['id']}/reject"))
    assert rejected["status"] == "rejected"
    assert lead.ok(lead.get(f"/api/v1/transfers/{declined['id']}"))["status"] == "rejected"
    problem(manager.post(f"/api/v1/transfers/{declined['id']}/accept", {}), 409)

    again = as_person(world, "lead", "register_transfer", a_profile(world, is_person=True),
                      {"to_team_id": police.npt["id"]})
    assert lead.ok(lead.post(f"/api/v1/transfers/{again['id']}/cancel", {"note": "Sent by mistake."}))[
        "status"] == "cancelled"
