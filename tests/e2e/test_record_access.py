"""Record-level access through the gateway, as a matrix: who x relationship x action.

One profile, led by a team in one force; around it every relationship the
policy knows: the lead team (each role), the same organisation's other team
and its admin, a granted team, a granted organisation, an expired and a
revoked grant, break-glass, a team a transfer is pending to, other
organisations, and partner clients with and without scopes.
"""
import time
import uuid

import pytest
import requests

from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in

LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint safeguarding work agreed at the MASH strategy meeting."


def grant(api, profile_id, grantee_type, grantee_id, level, **extra):
    body = {"grantee_type": grantee_type, "grantee_id": grantee_id, "level": level, "lawful_basis": LAWFUL,
            "justification": JUSTIFY, **extra}
    return api.ok(api.post(f"/api/v1/profiles/{profile_id}/grants", body), 201)


def client_api(url, admin, organisation_id, scopes):
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                         "organisation_id": organisation_id,
                                                         "scopes": scopes}), 201)
    token = requests.post(url + "/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    return Api(url, token)


@pytest.fixture(scope="module")
def world(request):
    """Built once for the module: the matrix only reads, apart from its own idempotent writes."""
    system = request.getfixturevalue("system_module")
    url, config = system
    admin = bootstrap_admin(url, config)
    owner = Directory(url, admin, name=f"Owner Force {uuid.uuid4().hex[:6]}")
    granted_team_org = Directory(url, admin)
    granted_org = Directory(url, admin)
    foreign = Directory(url, admin)
    expired_org, revoked_org, receiving_org = Directory(url, admin), Directory(url, admin), Directory(url, admin)

    people = {
        "owner practitioner": owner.user("op", [(owner.hub, "practitioner")]),
        "owner spoc": owner.user("os", [(owner.hub, "spoc")]),
        "owner supervisor": owner.user("osu", [(owner.hub, "supervisor")]),
        "same org other team": owner.user("ot", [(owner.npt, "practitioner")]),
        "org admin of owner": owner.user("oa", [(owner.npt, "supervisor")], roles=["org_admin"]),
        "granted team": granted_team_org.user("gt", [(granted_team_org.hub, "practitioner")]),
        "granted organisation": granted_org.user("go", [(granted_org.npt, "practitioner")]),
        "expired grant": expired_org.user("ex", [(expired_org.hub, "practitioner")]),
        "revoked grant": revoked_org.user("rv", [(revoked_org.hub, "practitioner")]),
        "other organisation": foreign.user("fo", [(foreign.hub, "practitioner")]),
        "break-glass": foreign.user("bg", [(foreign.npt, "practitioner")]),
        "pending transfer receiver": receiving_org.user("tr", [(receiving_org.hub, "practitioner")]),
    }
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["system admin"] = admin
    lead = apis["owner practitioner"]
    profile = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Matrix",
                                                     "family_name": f"Subject{uuid.uuid4().hex[:6]}",
                                                     "date_of_birth": "2009-05-01"}), 201)
    pid = profile["id"]
    grant(lead, pid, "team", granted_team_org.hub["id"], "view")
    grant(lead, pid, "organisation", granted_org.org["id"], "edit")
    from datetime import datetime, timedelta, timezone
    soon = (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()
    grant(lead, pid, "team", expired_org.hub["id"], "edit", expires_at=soon)
    revoked = grant(lead, pid, "team", revoked_org.hub["id"], "edit")
    assert lead.delete(f"/api/v1/profiles/{pid}/grants/{revoked['id']}").status_code == 204
    glass = apis["break-glass"].post(f"/api/v1/profiles/{pid}/break-glass",
                                     {"reason": "Child reported missing tonight; checking known associates."})
    assert glass.status_code == 201, glass.text
    transfer = lead.post(f"/api/v1/profiles/{pid}/transfer", {"to_team_id": receiving_org.hub["id"]})
    assert transfer.status_code == 201, transfer.text

    apis["client of owner, read"] = client_api(url, admin, owner.org["id"], ["profiles:read"])
    apis["client of owner, read+write+audit"] = client_api(url, admin, owner.org["id"],
                                                           ["profiles:read", "profiles:write", "audit:read"])
    apis["client without scope"] = client_api(url, admin, owner.org["id"], ["cases:read"])
    apis["client of other org"] = client_api(url, admin, foreign.org["id"], ["profiles:read"])
    time.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    return {"url": url, "apis": apis, "profile": profile, "owner": owner, "surname": profile["family_name"],
            "receiving": receiving_org, "share_target": owner.team("Share Target")}


@pytest.fixture(scope="module")
def system_module(request):
    """The whole system in this process, once for the module."""
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_matrix") as system:
        yield system


def act(api, action, world):
    pid = world["profile"]["id"]
    if action == "view":
        return api.get(f"/api/v1/profiles/{pid}")
    if action == "edit":
        current = api.get(f"/api/v1/profiles/{pid}")
        version = current.json().get("version", 1) if current.status_code == 200 else 1
        return api.patch(f"/api/v1/profiles/{pid}", {"given_name": "Matrix"}, {"If-Match": f'"{version}"'})
    if action == "share":
        return api.post(f"/api/v1/profiles/{pid}/grants", {
            "grantee_type": "team", "grantee_id": world["share_target"]["id"], "level": "view",
            "lawful_basis": LAWFUL})
    if action == "transfer":
        return api.post(f"/api/v1/profiles/{pid}/transfer", {"to_team_id": world["receiving"].hub["id"]})
    if action == "access list":
        return api.get(f"/api/v1/profiles/{pid}/access")
    if action == "audit":
        return api.get(f"/api/v1/audit/records/profiles/{pid}")
    raise AssertionError(action)


def search_outcome(api, world):
    response = api.get("/api/v1/profiles", params={"q": world["surname"]})
    if response.status_code != 200:
        return str(response.status_code)
    items = [item for item in response.json()["items"] if item["id"] == world["profile"]["id"]]
    return items[0]["access"] if items else "absent"


ACTIONS = ("view", "search", "edit", "share", "transfer", "access list", "audit")
# "ok" = 2xx. Search: "full" or "signpost". 403: may know the record exists; 404: may not.
EXPECTED = {
    "owner practitioner":                 ("ok", "full", "ok", "ok", "ok", "ok", "ok"),
    "owner spoc":                         ("ok", "full", "ok", "ok", "ok", "ok", "ok"),
    "owner supervisor":                   ("ok", "full", "ok", "ok", "ok", "ok", "ok"),
    "same org other team":                ("404", "signpost", "404", "404", "404", "404", "404"),
    "org admin of owner":                 ("404", "signpost", "404", "404", "404", "404", "404"),
    "system admin":                       ("404", "signpost", "404", "404", "404", "404", "404"),
    "granted team":                       ("ok", "full", "403", "403", "403", "403", "403"),
    "granted organisation":               ("ok", "full", "ok", "403", "403", "ok", "403"),
    "expired grant":                      ("404", "signpost", "404", "404", "404", "404", "404"),
    "revoked grant":                      ("404", "signpost", "404", "404", "404", "404", "404"),
    "other organisation":                 ("404", "signpost", "404", "404", "404", "404", "404"),
    "break-glass":                        ("ok", "full", "403", "403", "403", "403", "403"),
    "pending transfer receiver":          ("404", "signpost", "404", "404", "404", "404", "404"),
    "client of owner, read":              ("ok", "full", "403", "403", "403", "403", "403"),
    "client of owner, read+write+audit":  ("ok", "full", "ok", "403", "403", "403", "ok"),
    "client without scope":               ("403", "403", "403", "403", "403", "403", "403"),
    "client of other org":                ("404", "signpost", "403", "403", "403", "403", "403"),
}


def status_word(response):
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


@pytest.mark.parametrize("who", list(EXPECTED))
def test_permission_matrix(world, who):
    api = world["apis"][who]
    got = []
    for action in ACTIONS:
        got.append(search_outcome(api, world) if action == "search" else status_word(act(api, action, world)))
    assert dict(zip(ACTIONS, got)) == dict(zip(ACTIONS, EXPECTED[who]))


def test_signposts_name_the_record_and_who_is_involved_and_nothing_else(world):
    api = world["apis"]["other organisation"]
    [signpost] = [item for item in api.get("/api/v1/profiles", params={"q": world["surname"]}).json()["items"]
                  if item["id"] == world["profile"]["id"]]
    assert set(signpost) == {"id", "access", "kind", "display_name", "involved_organisations", "request_access"}
    involved = {entry["organisation_id"] for entry in signpost["involved_organisations"]}
    assert world["owner"].org["id"] in involved
    assert signpost["request_access"].endswith(f"/api/v1/profiles/{world['profile']['id']}/access-requests")


def test_why_explains_in_plain_words(world):
    pid = world["profile"]["id"]
    granted = world["apis"]["granted team"].get(f"/api/v1/profiles/{pid}/why").json()
    assert granted["can_view"] and not granted["can_edit"]
    assert "view access" in granted["explanation"]
    stranger = world["apis"]["other organisation"].get(f"/api/v1/profiles/{pid}/why").json()
    nobody = world["apis"]["other organisation"].get(f"/api/v1/profiles/{uuid.uuid4()}/why").json()
    assert stranger == nobody and stranger["can_view"] is False


def test_idor_sweep_answers_exactly_as_for_a_record_that_does_not_exist(world):
    """Every record-id route, replayed by a user of another organisation: byte-identical to a random id.

    Not in the sweep, by design: POST …/break-glass and POST …/access-requests, which exist so that
    someone who cannot see a record can reach it (they answer 404 for a random id too, but 201 here).
    """
    api = world["apis"]["other organisation"]
    pid, grant_id = world["profile"]["id"], str(uuid.uuid4())
    routes = [("GET", "/api/v1/profiles/{id}", None), ("PATCH", "/api/v1/profiles/{id}", {"given_name": "X"}),
              ("GET", "/api/v1/profiles/{id}/access", None), ("PATCH", "/api/v1/profiles/{id}/access",
                                                              {"restricted": True}),
              ("POST", "/api/v1/profiles/{id}/grants", {"grantee_type": "team", "grantee_id": str(uuid.uuid4()),
                                                        "level": "view", "lawful_basis": LAWFUL}),
              ("DELETE", "/api/v1/profiles/{id}/grants/" + grant_id, None),
              ("POST", "/api/v1/profiles/{id}/transfer", {"to_team_id": str(uuid.uuid4())}),
              ("GET", "/api/v1/profiles/{id}/why", None),
              ("GET", "/api/v1/audit/records/profiles/{id}", None)]
    for method, template, body in routes:
        answers = []
        for record_id in (pid, str(uuid.uuid4())):
            response = requests.request(method, world["url"] + template.format(id=record_id), json=body,
                                        headers={**api.headers(), "If-Match": '"1"'})
            answers.append((response.status_code, response.headers.get("Content-Type"), response.content))
        assert answers[0] == answers[1], (method, template, answers)
