"""Who may do what to a case, as a matrix: who x action, on an unrestricted and a restricted case.

The same one policy as profiles (concord_common.access), through the cases service: the lead team, the
same organisation's other team, a granted team (view), a granted organisation (edit), other
organisations, a system admin, and partner clients with and without the cases scopes.
"""
import uuid

import pytest
import requests

from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.support import unique_surname

LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint ASB casework agreed at the community safety partnership."


def client_api(url, admin, organisation_id, scopes):
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                         "organisation_id": organisation_id, "scopes": scopes}), 201)
    token = requests.post(url + "/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    return Api(url, token)


def grant(api, path, grantee_type, grantee_id, level):
    api.ok(api.post(f"/api/v1/{path}/grants", {"grantee_type": grantee_type, "grantee_id": grantee_id,
                                               "level": level, "lawful_basis": LAWFUL, "justification": JUSTIFY}), 201)


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_casematrix") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    owner = Directory(url, admin)
    granted_team_org, granted_org, foreign = Directory(url, admin), Directory(url, admin), Directory(url, admin)
    people = {
        "lead practitioner": owner.user("lp", [(owner.hub, "practitioner")]),
        "lead supervisor": owner.user("ls", [(owner.hub, "supervisor")]),
        "same org other team": owner.user("ot", [(owner.npt, "practitioner")]),
        "granted team (view)": granted_team_org.user("gt", [(granted_team_org.hub, "practitioner")]),
        "granted organisation (edit)": granted_org.user("go", [(granted_org.npt, "practitioner")]),
        "other organisation": foreign.user("fo", [(foreign.hub, "practitioner")]),
    }
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["system admin"] = admin
    lead = apis["lead practitioner"]
    word = unique_surname()
    subject = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Matrix",
                                                     "family_name": word}), 201)
    for directory in (granted_team_org, granted_org):
        grant(lead, f"profiles/{subject['id']}", "organisation", directory.org["id"], "view")
    cases = {}
    for restricted in (False, True):
        case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": f"{word} matrix case",
                                                   "restricted": restricted}), 201)
        grant(lead, f"cases/{case['id']}", "team", granted_team_org.hub["id"], "view")
        grant(lead, f"cases/{case['id']}", "organisation", granted_org.org["id"], "edit")
        cases[restricted] = case
    apis["client of owner, cases:read"] = client_api(url, admin, owner.org["id"], ["cases:read"])
    apis["client of owner, cases:read+write"] = client_api(url, admin, owner.org["id"],
                                                           ["cases:read", "cases:write", "profiles:read"])
    apis["client without cases scopes"] = client_api(url, admin, owner.org["id"], ["profiles:read"])
    apis["client of other org, cases:read"] = client_api(url, admin, foreign.org["id"], ["cases:read"])
    return {"url": url, "apis": apis, "cases": cases, "word": word, "subject": subject, "lead": lead}


def act(api, action, world, case):
    path, lead = f"/api/v1/cases/{case['id']}", world["lead"]
    if action == "view":
        return api.get(path)
    if action == "search":
        response = api.get("/api/v1/cases", params={"q": world["word"]})
        if response.status_code != 200:
            return str(response.status_code)
        found = [item["access"] for item in response.json()["items"] if item["id"] == case["id"]]
        return found[0] if found else "absent"
    if action == "edit":
        current = api.get(path)
        version = current.json().get("version", 1) if current.status_code == 200 else 1
        return api.patch(path, {"priority": "high"}, {"If-Match": f'"{version}"'})
    if action == "note":
        return api.post(path + "/notes", {"text": "Matrix note."})
    if action == "close":
        response = api.post(path + "/close", {"outcome": "resolved"})
        if response.status_code == 200:
            lead.ok(lead.post(path + "/reopen", {"reason": "Matrix: open again."}))
        return response
    if action == "participant":
        response = api.post(path + "/participants", {"profile_id": world["subject"]["id"], "role": "victim"})
        if response.status_code == 201:
            added = [p for p in response.json()["participants"] if p["ended_at"] is None]
            for participant in added:
                assert lead.delete(f"{path}/participants/{participant['id']}").status_code == 204
        return response
    raise AssertionError(action)


ACTIONS = ("view", "search", "edit", "note", "close", "participant")
# "ok" = 2xx; search: "full", "signpost" or "absent" (unrestricted, restricted). 403: may know it exists; 404: not.
EXPECTED = {
    "lead practitioner":                 ("ok", ("full", "full"), "ok", "ok", "ok", "ok"),
    "lead supervisor":                   ("ok", ("full", "full"), "ok", "ok", "ok", "ok"),
    "same org other team":               ("404", ("signpost", "absent"), "404", "404", "404", "404"),
    "granted team (view)":               ("ok", ("full", "full"), "403", "403", "403", "403"),
    "granted organisation (edit)":       ("ok", ("full", "full"), "ok", "ok", "ok", "ok"),
    "other organisation":                ("404", ("signpost", "absent"), "404", "404", "404", "404"),
    "system admin":                      ("404", ("signpost", "absent"), "404", "404", "404", "404"),
    "client of owner, cases:read":       ("ok", ("full", "full"), "403", "403", "403", "403"),
    "client of owner, cases:read+write": ("ok", ("full", "full"), "ok", "ok", "ok", "ok"),
    "client without cases scopes":       ("403", ("403", "403"), "403", "403", "403", "403"),
    "client of other org, cases:read":   ("404", ("signpost", "absent"), "403", "403", "403", "403"),
}


def outcome(result):
    if isinstance(result, str):
        return result
    return "ok" if 200 <= result.status_code < 300 else str(result.status_code)


@pytest.mark.parametrize("restricted", [False, True], ids=["unrestricted", "restricted"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_case_permission_matrix(world, who, restricted):
    api, case = world["apis"][who], world["cases"][restricted]
    got = {action: outcome(act(api, action, world, case)) for action in ACTIONS}
    expected = dict(zip(ACTIONS, EXPECTED[who]))
    expected["search"] = expected["search"][1 if restricted else 0]
    assert got == expected


def test_why_and_the_access_routes_work_on_cases_as_on_profiles(world):
    case = world["cases"][False]
    granted = world["apis"]["granted team (view)"].get(f"/api/v1/cases/{case['id']}/why").json()
    assert granted["can_view"] and not granted["can_edit"] and "view access" in granted["explanation"]
    access = world["lead"].ok(world["lead"].get(f"/api/v1/cases/{case['id']}/access"))
    assert {g["level"] for g in access["grants"]} == {"view", "edit"}
    stranger = world["apis"]["other organisation"]
    asked = stranger.post(f"/api/v1/cases/{case['id']}/access-requests",
                          {"reason": "Our tenant is named in the complaints."})
    assert asked.status_code == 201, asked.text
    glass = stranger.post(f"/api/v1/cases/{case['id']}/break-glass",
                          {"reason": "Threat to life reported tonight; need the history."})
    assert glass.status_code == 201 and stranger.get(f"/api/v1/cases/{case['id']}").status_code == 200


def test_idor_sweep_answers_exactly_as_for_a_case_that_does_not_exist(world):
    api = world["apis"]["same org other team"]
    case_id, other = world["cases"][True]["id"], str(uuid.uuid4())
    routes = [("GET", "", None), ("PATCH", "", {"title": "X"}), ("POST", "/close", {"outcome": "resolved"}),
              ("POST", "/reopen", {"reason": "Because."}), ("POST", "/notes", {"text": "x"}),
              ("GET", "/notes", None), ("GET", "/timeline", None),
              ("POST", f"/notes/{other}/corrections", {"text": "x", "reason": "why"}),
              ("POST", "/participants", {"profile_id": world["subject"]["id"], "role": "victim"}),
              ("DELETE", f"/participants/{other}", None), ("POST", "/links", {"case_id": other}),
              ("GET", "/access", None), ("GET", "/why", None), ("POST", "/transfer", {"to_team_id": other})]
    for method, tail, body in routes:
        answers = []
        for record_id in (case_id, str(uuid.uuid4())):
            response = requests.request(method, f"{world['url']}/api/v1/cases/{record_id}{tail}", json=body,
                                        headers={**api.headers(), "If-Match": '"1"'})
            answers.append((response.status_code, response.headers.get("Content-Type"), response.content))
        assert answers[0] == answers[1], (method, tail, answers)
