"""The OpenAPI 3 document of the partner API, assembled by the gateway (docs/api.md).

* **Paths** come from the gateway's own routes: every `gateway.http.api(...)` route records a `Route`
  (method, URL rule, public or bearer, scope, Idempotency-Key, body/answer schemas). Routes under /api/
  and the probes /healthz and /readyz are in the document; web pages and the other ops routes are not.
* **Schemas** come from the services, over RPC: each answers `contract_schemas()` with JSON Schemas
  generated from its own marshmallow schemas (concord_common.contract), named "<service>.<Name>". The
  record-access contract all record-owning services share is in concord_common, so the gateway
  generates it itself ("access.*"); the problem format and the probes' answers are the gateway's own.
* A service that does not answer leaves its schemas out: every reference to one becomes a placeholder
  marked `x-concord-unavailable`, the document lists the service under `x-concord-unavailable`, and it is
  kept only briefly so the next request tries again. The document is never a 500.

`build()` is pure (routes and fetched schemas in, a dict out); a `DocumentCache` per gateway container
(gateway/routes/docs.py) keeps it.
"""
import hashlib
import inspect
import json
import re
import time

import eventlet
from eventlet.semaphore import Semaphore

from concord_common import contract
from concord_common.errors import ConcordError
from gateway.http import PROBLEM_BASE, Route

TITLE = "Concord partner API"
VERSION = "1"
CACHE_SECONDS = 60.0
INCOMPLETE_CACHE_SECONDS = 5.0
FETCH_TIMEOUT = 5.0
PROBES = ("/healthz", "/readyz")
SCHEMAS = "#/components/schemas/"
UNAVAILABLE = "x-concord-unavailable"
JSON = "application/json"
PROBLEM = "application/problem+json"

DESCRIPTION = """\
Concord's partner API, version 1: what partner systems and scripts code against. The promise is
`api-contract.md`; this document, generated from the gateway's routes and the services' own
marshmallow schemas, is the full reference. Browse it at `/api/docs`.

* **Authentication**: `Authorization: Bearer <token>`. People get a token from `POST /api/v1/sessions`;
  partner systems from `POST /api/v1/oauth/token` (client credentials), and may call only the
  operations that name a scope they hold. A missing, invalid or expired token answers 401.
* **Errors** are `application/problem+json` (`type`, `title`, `status`, `detail`, and `errors` naming
  each bad field for 400/422). A record you may not see answers exactly like one that does not exist: 404.
* **Writes** take an `Idempotency-Key` header (1 to 255 visible ASCII characters, a UUID is best): the
  same key and body within 24 hours replays the first answer instead of writing twice; the same key
  with another body answers 422.
* **Lists** take `limit` (default 50, at most 500) and `cursor`, and answer
  `{"items": [...], "next_cursor": "..." | null}`.
* Times are ISO 8601 in UTC, ids are UUID strings. Answers may gain fields within v1.
"""

TAGS = {
    "SessionRoutes": ("Sessions", "Sign-in for people and partner systems, and the caller (/me)."),
    "DirectoryRoutes": ("Directory", "Organisations, teams, users and API clients."),
    "ProfileRoutes": ("Profiles", "People and premises: create, read, change, search, duplicates."),
    "AttachmentRoutes": ("Attachments", "Documents and photos on profiles, documents on cases."),
    "FamilyRoutes": ("Families", "Family and household units linking profiles with roles."),
    "CaseRoutes": ("Cases", "Case types; cases with participants, notes, links, a timeline; open, close, reopen."),
    "RecordRoutes": ("Record access", "Who may see a profile, family or case: grants, restriction, transfer, "
                                      "access requests, break-glass."),
    "SharingRoutes": ("Sharing", "Sharing agreements, and deciding access requests and transfers."),
    "AuditRoutes": ("Audit", "Every access to a record, what a user did, exports, verification."),
    "DocsRoutes": ("Documentation", "This document and its browsable form."),
    "OpsRoutes": ("Operations", "Liveness and readiness probes (no sign-in)."),
}

# Statuses every operation may answer with a problem, and what each means here.
ERROR_TEXT = {
    400: "The request could not be read (not JSON, wrong shape, an unusable Idempotency-Key).",
    401: "No valid token: missing, invalid or expired.",
    403: "Signed in, but not allowed to do this (or an API client without the scope).",
    404: "No such resource, or one you may not see (the same answer, byte for byte).",
    409: "It conflicts with the record's current state.",
    412: "The record has changed since you read it: If-Match names an older version.",
    413: "The upload is too large.",
    422: "The input broke a rule; `errors` names each bad field.",
    428: "Say which version you are changing: send If-Match.",
    429: "Too many attempts; wait for Retry-After seconds.",
    503: "Not ready: a service does not answer.",
}
DEFAULT_ERROR = ("Any other error, as a problem: 503 when a service it needs is not running, 504 when one does not "
                 "answer in time, 500 when something went wrong on our side (quote X-Request-Id).")


# -- routes -------------------------------------------------------------------------------
def served_routes(service_class) -> list[Route]:
    """The routes `service_class` serves, in the order their modules declared them."""
    found = []
    for _, member in inspect.getmembers(service_class, inspect.isfunction):
        route = getattr(member, "route", None)
        if isinstance(route, Route):
            found.append(route)
    order = {id(route): position for position, route in enumerate(_declared())}
    tags = list(TAGS)

    def place(route):
        owner = route.function.__qualname__.split(".")[0]
        return (tags.index(owner) if owner in tags else len(tags), order.get(id(route), len(order)), route.url)
    return sorted(found, key=place)


def _declared():
    from gateway.http import ROUTES
    return ROUTES


def listed(route: Route) -> bool:
    """In the partner document: what is under /api/, and the probes; not web pages nor other ops routes."""
    if route.listed is not None:
        return route.listed
    return route.url.startswith("/api/") or route.url in PROBES


_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?"
                       r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_CONVERTER_SCHEMAS = {
    None: {"type": "string"}, "default": {"type": "string"}, "string": {"type": "string"},
    "path": {"type": "string", "description": "May contain `/`."},
    "int": {"type": "integer"}, "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}


def _converter_args(text: str | None) -> list[str]:
    return [part.strip().strip("'\"") for part in (text or "").split(",") if part.strip()]


def openapi_paths(rule: str) -> list[tuple[str, dict, dict]]:
    """A werkzeug URL rule as OpenAPI paths: [(path, {parameter: JSON Schema}, {variable: fixed value})].

    `<id>` becomes `{id}`; an `any(a, b)` variable becomes one path per value (werkzeug matches only
    those), so partners see `/api/v1/profiles/{record_id}/access` rather than a `{kind}` they must guess.
    """
    variants: list[tuple[str, dict, dict]] = [("", {}, {})]
    position = 0
    for match in _VARIABLE.finditer(rule):
        literal = rule[position:match.start()]
        position = match.end()
        converter, name = match.group("converter"), match.group("name")
        if converter == "any":
            values = _converter_args(match.group("args"))
            variants = [(path + literal + value, dict(params), {**fixed, name: value})
                        for path, params, fixed in variants for value in values]
            continue
        schema = dict(_CONVERTER_SCHEMAS.get(converter, {"type": "string"}))
        variants = [(path + literal + "{" + name + "}", {**params, name: schema}, fixed)
                    for path, params, fixed in variants]
    tail = rule[position:]
    return [(path + tail, params, fixed) for path, params, fixed in variants]


def _words(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _docstring(fn) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    paragraphs = doc.split("\n\n")
    summary = " ".join(paragraphs[0].split())
    rest = "\n\n".join(paragraphs[1:]).strip() or None
    return summary, rest


def _tag(route: Route) -> tuple[str, str | None]:
    owner = route.function.__qualname__.split(".")[0]
    if owner in TAGS:
        return TAGS[owner]
    return (owner[:-len("Routes")] if owner.endswith("Routes") else owner) or "Other", None


# -- schema references ----------------------------------------------------------------------
def _ref(name: str) -> dict:
    return {"$ref": SCHEMAS + name}


def _optional(name: str) -> tuple[str, bool]:
    """"permissions.Note?" names a body that may be left out."""
    return (name[:-1], False) if name.endswith("?") else (name, True)


def _media(spec, default_type: str = JSON) -> dict:
    """`body`/`answer` as OpenAPI content: a schema name, a JSON Schema, or {media type: either}."""
    if isinstance(spec, str):
        return {default_type: {"schema": _ref(_optional(spec)[0])}}
    if isinstance(spec, dict) and spec and all("/" in key for key in spec):
        return {media: {"schema": _ref(_optional(value)[0]) if isinstance(value, str) else value}
                for media, value in spec.items()}
    return {default_type: {"schema": spec}}


def _body_required(spec) -> bool:
    if isinstance(spec, str):
        return _optional(spec)[1]
    if isinstance(spec, dict) and spec and all("/" in key for key in spec):
        return all(_optional(value)[1] for value in spec.values() if isinstance(value, str))
    return True


def _query_parameters(query, schemas: dict) -> tuple[list[dict], str | None]:
    """The query parameters a schema name (its properties) or {name: JSON Schema} stands for."""
    if not query:
        return [], None
    if isinstance(query, dict):
        return [{"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in query.items()], None
    component = schemas.get(query)
    if component is None or UNAVAILABLE in component:
        return [], f"The query parameters are those of `{query}`, which was not available when this document was made."
    required = set(component.get("required", ()))
    parameters = []
    for name, schema in component.get("properties", {}).items():
        schema = {key: value for key, value in schema.items()       # a query parameter is absent, never null
                  if key not in ("nullable", "readOnly", "writeOnly") and not (key == "default" and value is None)}
        if isinstance(schema.get("enum"), list):
            schema["enum"] = [value for value in schema["enum"] if value is not None]
        description = schema.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters, None


def _statuses(route: Route, method: str) -> list[int]:
    if route.status is None:
        return [204] if method == "DELETE" and route.answer is None else [200]
    return list(route.status) if isinstance(route.status, (tuple, list)) else [int(route.status)]


def _success(status: int, answer) -> dict:
    texts = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}
    response = {"description": texts.get(status, "Success")}
    if answer is not None and status != 204:
        response["content"] = _media(answer)
    return response


def _error_statuses(route: Route, has_body: bool, has_query: bool, path_params: dict) -> list[int]:
    statuses = set(route.errors)
    if has_body or has_query or route.idempotent:
        statuses.add(400)
    if not route.public:
        statuses.update((401, 403))
    if path_params and route.url.startswith("/api/"):
        statuses.add(404)
    if has_body or has_query:
        statuses.add(422)
    if route.if_match:
        statuses.update((412, 428))
    return sorted(statuses)


def operation(route: Route, method: str, path_params: dict, fixed: dict, schemas: dict, scopes: set) -> dict:
    summary, description = _docstring(route.function)
    tag, _ = _tag(route)
    op_id = route.function.__name__ + "".join(f"_{value}" for value in fixed.values())
    if len(route.methods) > 1:
        op_id += "_" + method.lower()
    op = {"operationId": op_id, "tags": [tag], "summary": summary or _words(route.function.__name__)}
    notes = [description] if description else []

    if route.public:
        op["security"] = []
        notes.append("No sign-in needed.")
    elif route.scope:
        op["security"] = [{"bearerAuth": []}, {"partnerClient": [route.scope]}]
        scopes.add(route.scope)
        notes.append(f"Signed-in people, or API clients with the scope `{route.scope}`.")
    elif route.clients:
        op["security"] = [{"bearerAuth": []}, {"partnerClient": []}]
        notes.append("Signed-in people or API clients.")
    else:
        op["security"] = [{"bearerAuth": []}]
        notes.append("Signed-in people only: API clients are refused (403).")

    parameters = []
    for name, schema in path_params.items():
        schema = {**schema, **route.params.get(name, {})}
        description = schema.pop("description", None)
        parameter = {"name": name, "in": "path", "required": True, "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    query_parameters, query_note = _query_parameters(route.query, schemas)
    parameters.extend(query_parameters)
    if query_note:
        notes.append(query_note)
    if route.if_match:
        parameters.append({"$ref": "#/components/parameters/IfMatch"})
    if route.idempotent:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
        notes.append("Takes an `Idempotency-Key`: a retry with the same key and body replays the first answer.")
    elif not route.public and method in ("POST", "PUT", "PATCH", "DELETE"):
        notes.append("Its answer holds a secret shown once, so it is never stored: `Idempotency-Key` is ignored.")
    if parameters:
        op["parameters"] = parameters
    op["description"] = "\n\n".join(notes)

    if route.body is not None:
        op["requestBody"] = {"required": _body_required(route.body), "content": _media(route.body)}

    responses = {}
    for status in _statuses(route, method):
        responses[str(status)] = _success(status, route.answer)
    for status in _error_statuses(route, route.body is not None, bool(route.query), path_params):
        responses.setdefault(str(status), {"$ref": f"#/components/responses/Problem{status}"})
    responses["default"] = {"$ref": "#/components/responses/Problem"}
    op["responses"] = responses
    return op


# -- the document --------------------------------------------------------------------------
def gateway_schemas() -> dict:
    """The gateway's own components: the problem format, the probes' answers, and the shared
    record-access contract (concord_common.access, generated here once for every record service)."""
    own = {
        "gateway.Problem": {
            "type": "object",
            "description": "An error (RFC 9457 problem details), sent as application/problem+json.",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri", "example": PROBLEM_BASE + "validation-failed",
                         "description": f"`{PROBLEM_BASE}<slug>`; the slug says what kind of error "
                                        "(validation-failed, not-found, mfa-required, …)."},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                           "description": "400/422: each bad field's path (`addresses.0.postcode`) and its "
                                          "messages.",
                           "example": {"given_name": ["Missing data for required field."]}},
            },
        },
        "gateway.Health": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]},
                                                             "instance": {"type": "string"}}},
        "gateway.Ready": {"type": "object", "properties": {
            "status": {"type": "string", "enum": ["ready"]},
            "services": {"type": "object", "additionalProperties": {"type": "string"}}}},
    }
    return {**own, **contract.json_schemas("access", contract.RECORD_ACCESS)}


def _components(scopes: set, token_url: str) -> dict:
    responses = {"Problem": {"description": DEFAULT_ERROR, "content": {PROBLEM: {"schema": _ref("gateway.Problem")}}}}
    for status, text in ERROR_TEXT.items():
        response = {"description": text, "content": {PROBLEM: {"schema": _ref("gateway.Problem")}}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                   "description": "Seconds to wait."}}
        responses[f"Problem{status}"] = response
    return {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A session token from POST /api/v1/sessions, or a partner system's "
                                          "access token from POST /api/v1/oauth/token."},
            "partnerClient": {"type": "oauth2", "description": "Partner systems: OAuth 2 client credentials. "
                                                               "Send the access token as a Bearer token.",
                              "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {
                                  scope: f"Allows operations that name `{scope}`." for scope in sorted(scopes)}}}},
        },
        "parameters": {
            "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                          "pattern": "^[\\x21-\\x7e]+$"},
                               "description": "1 to 255 visible ASCII characters (a UUID is best). The same key and "
                                              "body within 24 hours replays the first answer; the same key with "
                                              "another body answers 422."},
            "IfMatch": {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
                        "description": "The `version` you read (or the ETag it came with). Missing: 428; "
                                       "no longer current: 412."},
        },
        "responses": responses,
    }


def _references(node, found: set) -> set:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS):
                found.add(value[len(SCHEMAS):])
            else:
                _references(value, found)
    elif isinstance(node, list):
        for item in node:
            _references(item, found)
    return found


def build(routes, fetched: dict) -> dict:
    """The document, from the routes and {service: its contract_schemas() answer, or None if it gave none}."""
    schemas = gateway_schemas()
    missing = sorted(service for service, answer in fetched.items() if answer is None)
    for service, answer in sorted(fetched.items()):
        for name, schema in (answer or {}).items():
            if name.split(".", 1)[0] == service:          # a service names only its own schemas
                schemas[name] = schema

    # Query parameters are read from schemas, so a missing service's are marked before paths are built.
    wanted = {route.query for route in routes if isinstance(route.query, str)}
    _placeholders(schemas, wanted, missing)

    paths: dict = {}
    tags: dict = {}
    scopes: set = set()
    for route in routes:
        if not listed(route):
            continue
        for path, params, fixed in openapi_paths(route.url):
            for method in route.methods:
                item = paths.setdefault(path, {})
                item[method.lower()] = operation(route, method, params, fixed, schemas, scopes)
                tag, text = _tag(route)
                tags.setdefault(tag, text)

    document = {
        "openapi": contract.OPENAPI_VERSION,
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": [{"name": name, **({"description": text} if text else {})} for name, text in tags.items()],
        "paths": paths,
        "components": {**_components(scopes, "/api/v1/oauth/token"), "schemas": schemas},
    }
    _placeholders(schemas, _references(document, set()), missing)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    if missing:
        document[UNAVAILABLE] = missing
        document["info"]["description"] += (
            f"\n\n**Incomplete**: the {', '.join(missing)} service(s) did not answer when this document was made, "
            f"so their schemas are placeholders marked `{UNAVAILABLE}`. Fetch it again shortly.")
    return document


def _placeholders(schemas: dict, names, missing) -> None:
    """A stand-in for each referenced schema nobody gave, saying why (never a dangling $ref)."""
    for name in sorted(names):
        if name in schemas:
            continue
        service = name.split(".", 1)[0]
        reason = (f"Not available: the {service} service did not answer when this document was made."
                  if service in missing else f"Not available: the {service} service does not describe it.")
        schemas[name] = {"description": reason, UNAVAILABLE: service}


def unavailable(document: dict) -> list[str]:
    """Names of the placeholder schemas in a document."""
    return sorted(name for name, schema in document.get("components", {}).get("schemas", {}).items()
                  if UNAVAILABLE in schema)


# -- fetching and keeping ------------------------------------------------------------------------
def fetch_schemas(rpc, services, timeout: float = FETCH_TIMEOUT) -> dict:
    """{service: its contract_schemas(), or None if it did not answer}, asking all at once."""
    def ask(service):
        try:
            answer = rpc.call(service, "contract_schemas", timeout=timeout)
            return service, answer if isinstance(answer, dict) else None
        except ConcordError:
            return service, None
        except Exception:            # an old replica without the RPC, a broken one: the document goes on
            return service, None
    services = list(services)
    return dict(eventlet.GreenPool(max(1, len(services))).imap(ask, services))


class DocumentCache:
    """The built document per gateway replica: for CACHE_SECONDS, or a few seconds if incomplete."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = Semaphore()
        self._entry = None          # (expires, document, body bytes, etag)

    def get(self, make):
        """(document, JSON bytes, ETag), building with `make()` when there is none or it is stale."""
        with self._lock:            # one build at a time; the others wait for it and share it
            now = self._clock()
            if self._entry is None or now >= self._entry[0]:
                document = make()
                body = json.dumps(document, separators=(",", ":"), sort_keys=False).encode()
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                keep = INCOMPLETE_CACHE_SECONDS if document.get(UNAVAILABLE) else CACHE_SECONDS
                self._entry = (now + keep, document, body, etag)
            return self._entry[1], self._entry[2], self._entry[3]

    def clear(self) -> None:
        self._entry = None
