"""The OpenAPI document and the browsable docs, served by a real gateway from real services' schemas.

Checks the document against the OpenAPI 3 specification, against the partner contract
(docs/api-contract.md: every operation it promises is there), against real answers (they fit
the schemas the document names), and with services down (still valid, the gaps marked).
"""
import re
from pathlib import Path

import pytest
import requests
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi

from tests.e2e.directory import PASSWORD

# The partner API promise is written beside the repository (../shared) and kept in it as docs/api-contract.md,
# so partners read it with the code and this check runs wherever the repository is cloned;
# test_the_kept_contract_is_the_shared_one says when the two differ.
SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "api-contract.md"
CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "api-contract.md"
RECORDS = ("profiles/{id}", "families/{id}", "cases/{id}")

# In the contract and not built yet, by the issue that will build them: none now (issue 17 built the last ones,
# webhooks and imports); the next contract section's operations go here until they are built.
NOT_BUILT: set[tuple[str, str]] = set()

_METHODS = r"(?:GET|POST|PUT|PATCH|DELETE)"
_OPERATION = re.compile(rf"`({_METHODS}(?:\|{_METHODS})*) ((?:\.\.\.)?/[^`\s?]*)[^`]*`( `\{{)?")
_ALTERNATIVE = re.compile(r"\|\s*`(/[\w-]+)`")


def contract_operations(text: str) -> dict:
    """{(METHOD, path): takes a JSON body} for every operation the contract names.

    Understands its shorthand: `{record}` (profiles/{id}, families/{id}, cases/{id}), "… | `/deny`" (the
    same path ending otherwise), "`GET .../attachments/{aid}`" (the path above, continued) and "`GET|PUT /path`"
    (two methods on one path; the body is the writing method's)."""
    found, previous = {}, None
    for line in text.splitlines():
        last = None
        for match in _OPERATION.finditer(line):
            methods, path, body = match.group(1).split("|"), match.group(2), bool(match.group(3))
            if path.startswith("...") and previous:
                head = path[3:].split("/")[1]
                path = previous[:previous.index("/" + head)] + path[3:]
            for method in methods:
                found[(method, path)] = body and (len(methods) == 1 or method not in ("GET", "DELETE"))
            previous = last = path
        if last:
            for alternative in _ALTERNATIVE.findall(line):
                method = next(m for (m, p) in found if p == last)
                found[(method, last.rsplit("/", 1)[0] + alternative)] = False
    expanded = {}
    for (method, path), body in found.items():
        for record in (RECORDS if "{record}" in path else (None,)):
            expanded[(method, path.replace("{record}", record) if record else path)] = body
    return expanded


def documented(document: dict, method: str, path: str):
    """The operation documenting `METHOD path` (a path parameter stands for any one segment), or None."""
    wanted = path.strip("/").split("/")
    for candidate, item in document["paths"].items():
        have = candidate.strip("/").split("/")
        if len(have) == len(wanted) and all(h == w or (h.startswith("{") and h.endswith("}"))
                                            for h, w in zip(have, wanted)):
            if method.lower() in item:
                return item[method.lower()]
    return None


def conforms(document: dict, name: str, instance) -> None:
    """`instance` fits the component schema `name` (OpenAPI 3.0 schema rules: nullable, …)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    OAS30Validator(schema).validate(instance)


def fetch(url: str) -> dict:
    response = requests.get(f"{url}/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_the_document_is_public_valid_and_complete(system):
    response = requests.get(f"{system}/api/v1/openapi.json", timeout=30)      # no token
    assert response.status_code == 200, response.text
    assert "max-age=" in response.headers["Cache-Control"] and response.headers["ETag"]
    document = response.json()
    validate_openapi(document)
    assert "x-concord-unavailable" not in document
    assert not [name for name, schema in document["components"]["schemas"].items()
                if "x-concord-unavailable" in schema]

    again = requests.get(f"{system}/api/v1/openapi.json", headers={"If-None-Match": response.headers["ETag"]},
                         timeout=30)
    assert again.status_code == 304 and not again.content

    # schemas from every service's own marshmallow schemas, over RPC
    schemas = document["components"]["schemas"]
    for prefix in ("profiles.", "permissions.", "audit.", "notifications.", "access.", "gateway."):
        assert any(name.startswith(prefix) for name in schemas), prefix
    create = schemas["profiles.ProfileCreate"]["properties"]
    assert {"kind", "given_name", "family_name", "date_of_birth", "aliases", "identifiers", "addresses", "flags",
            "roles", "external_ref", "owner_team_id", "restricted", "consent", "name", "premises_type",
            "address"} <= set(create)
    identifier = schemas["profiles.Identifier"]
    assert identifier["required"] == ["scheme", "value"]
    assert set(identifier["properties"]["scheme"]["enum"]) == {"nhs_number", "pnc_id", "ni_number", "upn"}
    op = document["paths"]["/api/v1/profiles"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/profiles.ProfileCreate")
    assert "201" in op["responses"]


def test_every_contract_operation_is_documented(system):
    promised = contract_operations(CONTRACT.read_text())
    assert len(promised) > 70 and ("GET", "/api/v1/openapi.json") in promised
    assert ("POST", "/api/v1/transfers/{id}/reject") in promised
    assert ("GET", "/api/v1/profiles/{id}/attachments/{aid}") in promised
    document = fetch(system)
    missing = sorted(op for op in promised if documented(document, *op) is None)
    assert set(missing) <= NOT_BUILT, f"in the contract but not in the document: {set(missing) - NOT_BUILT}"
    for (method, path), body in promised.items():
        op = documented(document, method, path)
        if op is None:
            continue
        successes = [status for status in op["responses"] if status.startswith("2")]
        assert successes, (method, path)
        if body:
            assert "requestBody" in op, (method, path)
        for status in successes:
            if status != "204":
                assert op["responses"][status].get("content"), (method, path, status)
        if not op["security"] == []:
            assert "401" in op["responses"], (method, path)
        errors = [response for status, response in op["responses"].items() if status[0] in "45"]
        assert all(response["$ref"].startswith("#/components/responses/Problem") for response in errors)
    assert documented(document, "PATCH", "/api/v1/profiles/{id}")["responses"].keys() >= {"412", "428"}


def test_answers_fit_the_schemas_the_document_names(system, practitioner):
    document = fetch(system)
    created = practitioner.post("/api/v1/profiles", json={
        "kind": "person", "given_name": "Ann", "family_name": "Lee", "date_of_birth": "2012-03-04",
        "identifiers": [{"scheme": "nhs_number", "value": "943 476 5919"}],
        "aliases": [{"given_name": "Annie"}], "addresses": [{"line1": "1 High St", "town": "Leeds",
                                                             "postcode": "ls1 1aa"}],
        "flags": ["vulnerable_adult"], "roles": ["victim"]})
    assert created.status_code == 201, created.text
    conforms(document, "profiles.Profile", created.json())
    profile_id = created.json()["id"]
    read = practitioner.get(f"/api/v1/profiles/{profile_id}")
    conforms(document, "profiles.Profile", read.json())
    found = practitioner.get("/api/v1/profiles", params={"q": "Ann Lee"})
    assert found.status_code == 200, found.text
    conforms(document, "profiles.ProfilePage", found.json())
    conforms(document, "access.Why", practitioner.get(f"/api/v1/profiles/{profile_id}/why").json())
    conforms(document, "access.AccessList", practitioner.get(f"/api/v1/profiles/{profile_id}/access").json())
    conforms(document, "permissions.Me", practitioner.get("/api/v1/me").json())
    conforms(document, "profiles.HistoryPage", practitioner.get(f"/api/v1/profiles/{profile_id}/history").json())
    conforms(document, "profiles.MatchPage", practitioner.get(f"/api/v1/profiles/{profile_id}/matches").json())
    conforms(document, "profiles.AttachmentPage",
             practitioner.get(f"/api/v1/profiles/{profile_id}/attachments").json())
    family = practitioner.post("/api/v1/families", json={"name": "Lee household",
                                                         "members": [{"profile_id": profile_id, "role": "child"}]})
    assert family.status_code == 201, family.text
    conforms(document, "profiles.Family", family.json())
    conforms(document, "profiles.ProfileFamiliesPage",
             practitioner.get(f"/api/v1/profiles/{profile_id}/families").json())
    session = requests.post(f"{system}/api/v1/sessions", json={"username": practitioner.user["username"],
                                                                 "password": PASSWORD}, timeout=30)
    assert session.status_code == 201, session.text
    conforms(document, "permissions.Session", session.json())
    conforms(document, "permissions.OrganisationPage", practitioner.admin.get("/api/v1/organisations").json())
    conforms(document, "permissions.User", practitioner.admin.get(f"/api/v1/users/{practitioner.user['id']}").json())

    refused = practitioner.post("/api/v1/profiles", json={"kind": "person"})
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    conforms(document, "gateway.Problem", refused.json())


def test_the_browsable_docs(system):
    response = requests.get(f"{system}/api/docs", timeout=30)                  # no token
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in response.headers["Content-Security-Policy"]      # 'self' only: no third party
    page = response.text
    assert '<a class="govuk-link" href="/api/v1/openapi.json">' in page
    assert "<code>/api/v1/profiles/{profile_id}</code>" in page
    assert 'id="schema-profiles.ProfileCreate"' in page
    assert "This reference is incomplete" not in page


def test_with_services_down_the_document_is_still_valid(gateway_url):
    url = gateway_url("permissions")                  # profiles, cases, audit, notifications are not running
    document = fetch(url)
    validate_openapi(document)
    assert document["x-concord-unavailable"] == ["audit", "cases", "notifications", "profiles"]
    placeholders = {name for name, schema in document["components"]["schemas"].items()
                    if "x-concord-unavailable" in schema}
    assert "profiles.ProfileCreate" in placeholders
    assert all(name.split(".")[0] in ("audit", "profiles", "notifications", "cases") for name in placeholders)
    assert "permissions.UserCreate" not in placeholders and "access.GrantCreate" not in placeholders
    assert "/api/v1/profiles" in document["paths"] and "/api/v1/users" in document["paths"]
    assert "max-age=" in requests.get(f"{url}/api/v1/openapi.json", timeout=30).headers["Cache-Control"]

    page = requests.get(f"{url}/api/docs", timeout=30)
    assert page.status_code == 200 and "This reference is incomplete" in page.text


def test_the_kept_contract_is_the_shared_one():
    if not SHARED_CONTRACT.is_file():
        pytest.skip(f"no shared contract at {SHARED_CONTRACT} (this clone is not beside ../shared)")
    assert CONTRACT.read_text() == SHARED_CONTRACT.read_text(), \
        "../shared/api-contract.md changed: copy it to docs/api-contract.md and build what it now promises"
