"""The OpenAPI document: URL rules to paths, the route registry, schema generation and prefixing, the whole
document (valid OpenAPI 3, with every service answering and with some not), the cache, and the HTML page."""
import json

import pytest
from marshmallow import Schema, fields, validate
from openapi_spec_validator import validate as validate_openapi

from concord_common import contract
from gateway import openapi
from gateway.http import ROUTES, Route, api
from gateway.routes import docs
from gateway.service import GatewayService
from services.audit import schemas as audit_schemas
from services.cases import schemas as cases_schemas
from services.notifications import schemas as notifications_schemas
from services.permissions import schemas as permissions_schemas
from services.profiles import schemas as profiles_schemas

SERVICE_SCHEMAS = {"profiles": profiles_schemas, "permissions": permissions_schemas, "audit": audit_schemas,
                   "notifications": notifications_schemas, "cases": cases_schemas}


def answers(*down):
    """What each service's contract_schemas() answers, computed here from its schemas module (None: down)."""
    return {name: None if name in down else contract.service_schemas(name, module)
            for name, module in SERVICE_SCHEMAS.items()}


@pytest.fixture(scope="module")
def document():
    return openapi.build(openapi.served_routes(GatewayService), answers())


# -- URL rules ------------------------------------------------------------------------------
def test_plain_rule_is_its_own_path():
    assert openapi.openapi_paths("/api/v1/profiles") == [("/api/v1/profiles", {}, {})]


def test_variables_become_path_parameters():
    [(path, params, fixed)] = openapi.openapi_paths("/api/v1/teams/<team_id>/members/<user_id>")
    assert path == "/api/v1/teams/{team_id}/members/{user_id}"
    assert params == {"team_id": {"type": "string"}, "user_id": {"type": "string"}} and fixed == {}


def test_converters_type_their_parameters():
    [(path, params, _)] = openapi.openapi_paths("/x/<int:n>/<uuid:u>/<path:rest>")
    assert path == "/x/{n}/{u}/{rest}"
    assert params["n"] == {"type": "integer"}
    assert params["u"] == {"type": "string", "format": "uuid"}
    assert params["rest"]["type"] == "string"


def test_any_converter_gives_one_path_per_value():
    found = openapi.openapi_paths("/api/v1/<any(profiles, families, cases):kind>/<record_id>/why")
    assert [path for path, _, _ in found] == ["/api/v1/profiles/{record_id}/why", "/api/v1/families/{record_id}/why",
                                             "/api/v1/cases/{record_id}/why"]
    assert all(list(params) == ["record_id"] for _, params, _ in found)
    assert [fixed for _, _, fixed in found] == [{"kind": "profiles"}, {"kind": "families"}, {"kind": "cases"}]


def test_quoted_any_values():
    assert [p for p, _, _ in openapi.openapi_paths("/<any('a', \"b\"):x>")] == ["/a", "/b"]


# -- the registry -------------------------------------------------------------------------------
def test_api_records_each_route():
    count = len(ROUTES)
    try:
        class Sample:
            @api("POST", "/api/v1/samples/<sample_id>", scope="profiles:write", body="profiles.Merge",
                 answer="profiles.Profile", status=201, errors=(409,))
            def make_sample(self, request, sample_id):
                """Make a sample."""

        route = Sample.make_sample.route
        assert ROUTES[-1] is route and len(ROUTES) == count + 1
        assert (route.method, route.url, route.scope, route.body, route.answer, route.status, route.errors) == (
            "POST", "/api/v1/samples/<sample_id>", "profiles:write", "profiles.Merge", "profiles.Profile", 201, (409,))
        assert route.function.__name__ == "make_sample" and route.idempotent
        assert Sample.make_sample.nameko_entrypoints           # still a nameko route
    finally:
        del ROUTES[count:]


@pytest.mark.parametrize("route, expected", [
    (Route("POST", "/api/v1/x", None), True),
    (Route("DELETE", "/api/v1/x", None), True),
    (Route("GET", "/api/v1/x", None), False),
    (Route("POST", "/api/v1/sessions", None, public=True), False),
    (Route("POST", "/api/v1/api-clients", None, replayable=False), False),
])
def test_which_routes_take_an_idempotency_key(route, expected):
    assert route.idempotent is expected


@pytest.mark.parametrize("url, expected", [
    ("/api/v1/profiles", True), ("/api/docs", True), ("/healthz", True), ("/readyz", True),
    ("/metrics", False), ("/", False), ("/sign-in", False), ("/profiles/<profile_id>", False),
    ("/assets/<path:asset>", False), ("/<path:anything>", False),
])
def test_partner_document_lists_api_and_probes_only(url, expected):
    assert openapi.listed(Route("GET", url, None)) is expected


def test_listed_can_be_overridden():
    assert openapi.listed(Route("GET", "/api/v1/internal", None, listed=False)) is False
    assert openapi.listed(Route("GET", "/metrics", None, listed=True)) is True


def test_served_routes_are_the_gateways_own():
    routes = openapi.served_routes(GatewayService)
    urls = {(route.method, route.url) for route in routes}
    assert ("POST", "/api/v1/profiles") in urls and ("GET", "/api/v1/openapi.json") in urls
    assert ("GET", "/sign-in") in urls                      # served, though not in the partner document
    assert len(urls) == len(routes)


# -- schemas ------------------------------------------------------------------------------------
class _Inner(Schema):
    """An inner thing.

    More words that stay out of the description."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=20))


class _Outer(Schema):
    inner = fields.Nested(_Inner)
    many = fields.List(fields.Nested(_Inner))
    computed = fields.Function(lambda obj: 1)
    typed = fields.Raw(metadata={"oneOf": [contract.ref("Inner"), {"type": "string"}]})


class _Answer(Schema):
    class Meta:
        unknown = "exclude"

    id = fields.UUID()


def test_schema_names_and_refs_are_prefixed():
    out = contract.json_schemas("sample", {"Outer": _Outer, "Answer": _Answer})
    assert set(out) == {"sample.Outer", "sample.Inner", "sample.Answer"}
    outer = out["sample.Outer"]["properties"]
    assert outer["inner"] == {"$ref": "#/components/schemas/sample.Inner"}
    assert outer["many"]["items"] == {"$ref": "#/components/schemas/sample.Inner"}
    assert outer["typed"]["oneOf"][0] == {"$ref": "#/components/schemas/sample.Inner"}
    assert outer["computed"] == {"readOnly": True}        # a Function field: anything, only in answers
    assert out["sample.Inner"]["description"] == "An inner thing."
    assert out["sample.Inner"]["required"] == ["name"]
    assert out["sample.Inner"]["additionalProperties"] is False      # input: unknown fields refused
    assert "additionalProperties" not in out["sample.Answer"]         # answers may gain fields


def test_a_given_name_wins_where_the_class_is_nested():
    out = contract.json_schemas("sample", {"Outer": _Outer, "Thing": _Inner})
    assert "sample.Thing" in out and "sample.Inner" not in out
    assert out["sample.Outer"]["properties"]["inner"] == {"$ref": "#/components/schemas/sample.Thing"}


def test_custom_field_types():
    class Odd(fields.Field):
        pass

    class WithOdd(Schema):
        when = Odd()

    assert contract.json_schemas("s", {"W": WithOdd})["s.W"]["properties"]["when"] == {}
    typed = contract.json_schemas("s", {"W": WithOdd}, {Odd: ("string", "date-time")})
    assert typed["s.W"]["properties"]["when"] == {"type": "string", "format": "date-time"}


def test_alternative_input_shapes():
    class Module:
        CONTRACT = {"Inner": _Inner}
        CONTRACT_ALTERNATIVES = {"Inner": [{"type": "string"}, contract.ref("Inner")]}

    inner = contract.service_schemas("s", Module)["s.Inner"]
    assert inner["description"] == "An inner thing."
    assert inner["oneOf"][0]["properties"]["name"]["maxLength"] == 20
    assert inner["oneOf"][1:] == [{"type": "string"}, {"$ref": "#/components/schemas/s.Inner"}]


def test_a_flag_comes_in_by_name_or_as_an_object():
    flag = contract.service_schemas("profiles", profiles_schemas)["profiles.Flag"]
    by_name, as_object = flag["oneOf"][1], flag["oneOf"][0]
    assert "dementia" in by_name["enum"] and as_object["required"] == ["flag"]


def test_bad_prefix_refused():
    with pytest.raises(ValueError):
        contract.json_schemas("a.b", {"X": _Inner})


def test_each_service_answer_is_json_and_its_own():
    for name, module in SERVICE_SCHEMAS.items():
        out = contract.service_schemas(name, module)
        assert json.loads(json.dumps(out)) == out
        assert all(key.startswith(name + ".") for key in out)


def test_profile_create_schema_comes_from_the_services_schema():
    create = contract.service_schemas("profiles", profiles_schemas)["profiles.ProfileCreate"]
    assert {"kind", "given_name", "family_name", "date_of_birth", "identifiers", "aliases", "addresses", "flags",
            "owner_team_id", "restricted", "consent", "external_ref"} <= set(create["properties"])
    assert create["properties"]["identifiers"]["items"] == {"$ref": "#/components/schemas/profiles.Identifier"}
    assert create["required"] == ["kind"]


# -- the document -------------------------------------------------------------------------------
def test_document_is_valid_openapi(document):
    validate_openapi(document)
    assert document["openapi"].startswith("3.")
    assert "x-concord-unavailable" not in document


def test_no_placeholders_when_every_service_answers(document):
    assert openapi.unavailable(document) == []


def test_every_reference_resolves(document):
    names = set(document["components"]["schemas"])
    assert openapi._references(document, set()) <= names


def test_web_pages_and_ops_routes_are_left_out(document):
    paths = set(document["paths"])
    assert "/healthz" in paths and "/readyz" in paths
    assert not {"/metrics", "/", "/sign-in", "/sign-out", "/mfa"} & paths
    assert all(path.startswith("/api/") or path in openapi.PROBES for path in paths)


def test_public_and_bearer_operations(document):
    paths = document["paths"]
    assert paths["/api/v1/sessions"]["post"]["security"] == []
    assert paths["/api/v1/openapi.json"]["get"]["security"] == []
    assert paths["/api/v1/profiles"]["post"]["security"] == [{"bearerAuth": []},
                                                              {"partnerClient": ["profiles:write"]}]
    assert paths["/api/v1/organisations"]["post"]["security"] == [{"bearerAuth": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert "profiles:write" in schemes["partnerClient"]["flows"]["clientCredentials"]["scopes"]


def test_idempotency_key_on_signed_in_writes_only(document):
    key = {"$ref": "#/components/parameters/IdempotencyKey"}
    paths = document["paths"]
    assert key in paths["/api/v1/profiles"]["post"]["parameters"]
    assert key in paths["/api/v1/profiles/{profile_id}"]["patch"]["parameters"]
    assert key not in paths["/api/v1/profiles/{profile_id}"]["get"].get("parameters", [])
    assert key not in paths["/api/v1/sessions"]["post"].get("parameters", [])
    assert key not in paths["/api/v1/api-clients"]["post"].get("parameters", [])


def test_create_profile_operation(document):
    op = document["paths"]["/api/v1/profiles"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/profiles.ProfileCreate"}
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/profiles.Profile"}
    assert {"400", "401", "403", "422", "default"} <= set(op["responses"])


def test_errors_are_problems(document):
    responses = document["components"]["responses"]
    for name, response in responses.items():
        assert response["content"] == {"application/problem+json": {"schema": {
            "$ref": "#/components/schemas/gateway.Problem"}}}, name
    problem = document["components"]["schemas"]["gateway.Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])


def test_record_routes_answer_404_and_patch_needs_if_match(document):
    profile = document["paths"]["/api/v1/profiles/{profile_id}"]
    assert "404" in profile["get"]["responses"] and "401" in profile["get"]["responses"]
    patch = profile["patch"]
    assert {"412", "428", "422"} <= set(patch["responses"])
    assert {"$ref": "#/components/parameters/IfMatch"} in patch["parameters"]
    assert "401" not in document["paths"]["/healthz"]["get"]["responses"]


def test_search_query_parameters_come_from_the_search_schema(document):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/profiles"]["get"]["parameters"]}
    assert {"q", "date_of_birth", "postcode", "identifier", "limit", "cursor"} <= set(parameters)
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert parameters["limit"]["schema"]["maximum"] == 500


def test_record_access_paths_are_spelled_out(document):
    for kind in ("profiles", "families", "cases"):
        op = document["paths"][f"/api/v1/{kind}/{{record_id}}/grants"]["post"]
        assert op["operationId"] == f"grant_access_{kind}"
        assert op["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/access.GrantCreate"}


def test_operation_ids_are_unique(document):
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_docstring_is_the_summary(document):
    assert document["paths"]["/api/v1/profiles/{record_id}/why"]["get"]["summary"] == \
        "Why you can (or cannot) see the record."
    assert document["paths"]["/api/v1/profiles"]["get"]["summary"] == "Search profiles"   # from its name


@pytest.mark.parametrize("down", [("profiles",), ("permissions", "audit"), tuple(SERVICE_SCHEMAS)])
def test_document_stays_valid_when_services_are_down(down):
    document = openapi.build(openapi.served_routes(GatewayService), answers(*down))
    validate_openapi(document)
    assert document["x-concord-unavailable"] == sorted(down)
    placeholders = openapi.unavailable(document)
    assert placeholders and all(name.split(".")[0] in down for name in placeholders)
    assert openapi._references(document, set()) <= set(document["components"]["schemas"])
    assert "/api/v1/profiles" in document["paths"]           # the paths are all there


def test_a_service_cannot_name_another_services_schemas():
    fetched = answers()
    fetched["audit"] = {**fetched["audit"], "profiles.Profile": {"type": "string"}}
    document = openapi.build(openapi.served_routes(GatewayService), fetched)
    assert document["components"]["schemas"]["profiles.Profile"]["type"] == "object"


# -- fetching and the cache --------------------------------------------------------------------
class _Rpc:
    def __init__(self, answers, failing=()):
        self.answers, self.failing, self.calls = answers, failing, []

    def call(self, service, method, timeout=None):
        from concord_common.errors import ServiceUnavailable
        self.calls.append((service, method))
        if service in self.failing:
            raise ServiceUnavailable(f"The {service} service is not running.")
        if service == "broken":
            raise RuntimeError("boom")
        return self.answers.get(service, {})


def test_fetch_asks_every_service_and_survives_failures():
    rpc = _Rpc({"profiles": {"profiles.X": {}}}, failing=("audit",))
    got = openapi.fetch_schemas(rpc, ["profiles", "audit", "broken"], timeout=1)
    assert got == {"profiles": {"profiles.X": {}}, "audit": None, "broken": None}
    assert sorted(rpc.calls) == [("audit", "contract_schemas"), ("broken", "contract_schemas"),
                                 ("profiles", "contract_schemas")]


def test_cache_keeps_the_document_for_a_while():
    now = [100.0]
    cache = openapi.DocumentCache(clock=lambda: now[0])
    built = []

    def make():
        built.append(1)
        return {"openapi": "3.0.3", "n": len(built)}

    first = cache.get(make)
    now[0] += openapi.CACHE_SECONDS - 1
    assert cache.get(make) == first and len(built) == 1
    now[0] += 2
    second = cache.get(make)
    assert second[0]["n"] == 2 and second[2] != first[2]          # a new ETag for a new document


def test_cache_keeps_an_incomplete_document_briefly():
    now = [0.0]
    cache = openapi.DocumentCache(clock=lambda: now[0])
    built = []

    def make():
        built.append(1)
        return {"x-concord-unavailable": ["audit"]}

    cache.get(make)
    now[0] += openapi.INCOMPLETE_CACHE_SECONDS + 0.1
    cache.get(make)
    assert len(built) == 2


# -- the browsable page ------------------------------------------------------------------------
def test_page_lists_every_operation_and_schema(document):
    html = docs.render(document)
    assert html.startswith("<!DOCTYPE html>")
    for path in ("/api/v1/profiles", "/api/v1/profiles/{profile_id}", "/api/v1/sessions"):
        assert f"<code>{path}</code>" in html
    assert 'id="schema-profiles.ProfileCreate"' in html
    assert 'href="#schema-profiles.ProfileCreate"' in html
    assert "<script>" not in html.replace('<script src="/assets/', "")     # no inline scripts (CSP)


def test_page_says_when_incomplete():
    document = openapi.build(openapi.served_routes(GatewayService), answers("profiles"))
    html = docs.render(document)
    assert "This reference is incomplete" in html and "profiles" in html


def test_page_escapes_what_it_shows():
    document = openapi.build([], {})
    document["info"]["description"] = "<b>bold</b> `<i>`"
    document["components"]["schemas"]["x.Y"] = {"description": "<script>alert(1)</script>", "type": "object"}
    html = docs.render(document)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "<code>&lt;i&gt;</code>" in html


def test_type_words():
    assert str(docs.type_of({"type": "array", "items": {"$ref": "#/components/schemas/a.B"}})) == \
        'array of <a class="govuk-link" href="#schema-a.B"><code>a.B</code></a>'
    assert str(docs.type_of({"type": "string", "format": "uuid", "nullable": True})) == "string (uuid) or null"
    assert str(docs.type_of({})) == "any"
