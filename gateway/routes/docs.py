"""The OpenAPI document (GET /api/v1/openapi.json) and its browsable form (GET /api/docs).

Both are public: partners need them before they hold a token. The document is built by
gateway/openapi.py and kept per replica for a minute (a few seconds when a service did not answer).
/api/docs is rendered on the server from that document, styled with GOV.UK Frontend, and works without
JavaScript under the pages' Content-Security-Policy (no third-party script to vendor; docs/api.md).
"""
import html
import re

from markupsafe import Markup, escape
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from concord_common.settings import SERVICE_NAMES
from gateway import openapi
from gateway.http import api
from gateway.web.pages import PAGE_HEADERS, templates

METHOD_COLOURS = {"get": "blue", "post": "green", "put": "turquoise", "patch": "yellow", "delete": "red"}

PAGE = templates.from_string("""{% extends "base.html" %}
{% block content %}
<h1 class="govuk-heading-xl">{{ info.title }}</h1>
<p class="govuk-body-l">Version {{ info.version }}. Every operation partner systems can call, its inputs and answers,
generated from the gateway's routes and the services' own schemas.</p>
<p class="govuk-body">For your tools: the <a class="govuk-link" href="/api/v1/openapi.json">OpenAPI {{ openapi }}
document</a> (import it into an API client or a code generator).</p>
{% if unavailable %}
<div class="govuk-warning-text">
  <span class="govuk-warning-text__icon" aria-hidden="true">!</span>
  <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
    This reference is incomplete: the {{ unavailable | join(", ") }} service(s) did not answer. Reload the page shortly.
  </strong>
</div>
{% endif %}
<nav aria-labelledby="contents-heading">
  <h2 class="govuk-heading-m" id="contents-heading">Contents</h2>
  <ul class="govuk-list">
    <li><a class="govuk-link" href="#general">General rules</a></li>
    {% for tag in tags %}<li><a class="govuk-link" href="#{{ tag.anchor }}">{{ tag.name }}</a></li>{% endfor %}
    <li><a class="govuk-link" href="#schemas">Schemas</a></li>
  </ul>
</nav>
<h2 class="govuk-heading-l" id="general">General rules</h2>
{{ general }}
<h3 class="govuk-heading-m" id="errors">Errors</h3>
<p class="govuk-body">Every error is <code>application/problem+json</code>, a <a class="govuk-link"
  href="#schema-gateway.Problem"><code>gateway.Problem</code></a>. Each operation lists the statuses it may answer with.</p>
<dl class="govuk-summary-list">
  {% for e in errors %}<div class="govuk-summary-list__row">
    <dt class="govuk-summary-list__key">{{ e.status }}</dt><dd class="govuk-summary-list__value">{{ e.description }}</dd>
  </div>{% endfor %}
</dl>
{% for tag in tags %}
<h2 class="govuk-heading-l govuk-!-margin-top-9" id="{{ tag.anchor }}">{{ tag.name }}</h2>
{% if tag.description %}<p class="govuk-body">{{ tag.description }}</p>{% endif %}
{% for op in tag.operations %}
<section class="govuk-!-margin-bottom-8" id="{{ op.anchor }}" aria-labelledby="{{ op.anchor }}-heading">
  <h3 class="govuk-heading-m" id="{{ op.anchor }}-heading">
    <strong class="govuk-tag govuk-tag--{{ op.colour }}">{{ op.method }}</strong>
    <code>{{ op.path }}</code>
  </h3>
  <p class="govuk-body"><strong>{{ op.summary }}</strong></p>
  {{ op.description }}
  {% if op.parameters %}
  <table class="govuk-table">
    <caption class="govuk-table__caption govuk-table__caption--s">Parameters</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">
      <th scope="col" class="govuk-table__header">Name</th><th scope="col" class="govuk-table__header">In</th>
      <th scope="col" class="govuk-table__header">Type</th><th scope="col" class="govuk-table__header">Notes</th>
    </tr></thead>
    <tbody class="govuk-table__body">
    {% for p in op.parameters %}<tr class="govuk-table__row">
      <td class="govuk-table__cell"><code>{{ p.name }}</code>{% if p.required %} (required){% endif %}</td>
      <td class="govuk-table__cell">{{ p.where }}</td><td class="govuk-table__cell">{{ p.type }}</td>
      <td class="govuk-table__cell">{{ p.notes }}</td>
    </tr>{% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% if op.body %}
  <p class="govuk-body">Request body{% if not op.body.required %} (optional){% endif %}:
    {% for media, type in op.body.content %}<code>{{ media }}</code> {{ type }}{% if not loop.last %}; {% endif %}{% endfor %}</p>
  {% endif %}
  <table class="govuk-table govuk-!-margin-bottom-2">
    <caption class="govuk-table__caption govuk-table__caption--s">Responses</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">
      <th scope="col" class="govuk-table__header">Status</th><th scope="col" class="govuk-table__header">Meaning</th>
      <th scope="col" class="govuk-table__header">Body</th>
    </tr></thead>
    <tbody class="govuk-table__body">
    {% for r in op.responses %}<tr class="govuk-table__row">
      <td class="govuk-table__cell">{{ r.status }}</td><td class="govuk-table__cell">{{ r.description }}</td>
      <td class="govuk-table__cell">{% for media, type in r.content %}<code>{{ media }}</code> {{ type }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
    </tr>{% endfor %}
    </tbody>
  </table>
  {% if op.errors %}<p class="govuk-body-s">Errors (<a class="govuk-link" href="#errors">problems</a>):
    {{ op.errors | join(", ") }}.</p>{% endif %}
</section>
{% endfor %}
{% endfor %}
<h2 class="govuk-heading-l govuk-!-margin-top-9" id="schemas">Schemas</h2>
<p class="govuk-body">Named <code>service.Name</code> after the service whose marshmallow schema it comes from
(<code>access.*</code>: the record-access contract all record services share; <code>gateway.*</code>: the gateway's own).</p>
{% for s in schemas %}
<section class="govuk-!-margin-bottom-6" id="{{ s.anchor }}" aria-labelledby="{{ s.anchor }}-heading">
  <h3 class="govuk-heading-s" id="{{ s.anchor }}-heading"><code>{{ s.name }}</code></h3>
  {% if s.description %}<p class="govuk-body">{{ s.description }}</p>{% endif %}
  {% if s.unavailable %}<p class="govuk-body"><strong class="govuk-tag govuk-tag--grey">Not available</strong></p>{% endif %}
  {% if s.type %}<p class="govuk-body">{{ s.type }}</p>{% endif %}
  {% if s.fields %}
  <table class="govuk-table">
    <caption class="govuk-table__caption govuk-visually-hidden">Fields of {{ s.name }}</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">
      <th scope="col" class="govuk-table__header">Field</th><th scope="col" class="govuk-table__header">Type</th>
      <th scope="col" class="govuk-table__header">Notes</th>
    </tr></thead>
    <tbody class="govuk-table__body">
    {% for f in s.fields %}<tr class="govuk-table__row">
      <td class="govuk-table__cell"><code>{{ f.name }}</code>{% if f.required %} (required){% endif %}</td>
      <td class="govuk-table__cell">{{ f.type }}</td><td class="govuk-table__cell">{{ f.notes }}</td>
    </tr>{% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>
{% endfor %}
{% endblock %}
""")


def anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def schema_anchor(name: str) -> str:
    return "schema-" + anchor(name)


def _link(name: str):
    return Markup('<a class="govuk-link" href="#{}"><code>{}</code></a>').format(schema_anchor(name), name)


def type_of(schema) -> Markup:
    """A schema in a few words, with links to named schemas: "array of profiles.Alias", "string (uuid) or null"."""
    if not isinstance(schema, dict) or not schema:
        return Markup("any")
    if "$ref" in schema:
        return _link(schema["$ref"].rsplit("/", 1)[-1])
    for combiner, word in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if combiner in schema:
            parts = [part for part in schema[combiner] if part != {"type": "object", "nullable": True}]
            text = Markup(word).join(type_of(part) for part in parts)
            nullable = schema.get("nullable") or len(parts) < len(schema[combiner])
            return text + Markup(" or null") if nullable else text
    kind = schema.get("type")
    if kind == "array":
        text = Markup("array of ") + type_of(schema.get("items", {}))
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = Markup("object of ") + type_of(schema["additionalProperties"])
    elif kind:
        text = escape(kind) + (Markup(" (") + escape(schema["format"]) + Markup(")") if schema.get("format") else "")
    else:
        text = Markup("any")
    if schema.get("nullable"):
        text += Markup(" or null")
    return text


def notes_of(schema) -> str:
    """Constraints and description in words."""
    if not isinstance(schema, dict):
        return ""
    notes = []
    if schema.get("description"):
        notes.append(schema["description"])
    if schema.get("enum"):
        notes.append("One of: " + ", ".join(str(value) for value in schema["enum"] if value is not None) + ".")
    for key, text in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                      ("minimum", "at least {}"), ("maximum", "at most {}"), ("minItems", "at least {} items"),
                      ("maxItems", "at most {} items"), ("pattern", "matches {}")):
        if key in schema:
            notes.append(text.format(schema[key]).capitalize() + ".")
    if "default" in schema and schema["default"] is not None:
        notes.append(f"Default {schema['default']}.")
    if schema.get("readOnly"):
        notes.append("Read only.")
    return " ".join(notes)


def inline(line: str):
    """`code` and **bold** in escaped text."""
    line = html.escape(line, quote=False)
    line = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", line)
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", line))


def prose(text: str | None):
    """The little Markdown the document's descriptions use: paragraphs, "* " lists, `code`, **bold**."""
    if not text:
        return Markup("")
    out = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        if lines[0].startswith("* "):
            items, current = [], []
            for line in lines:
                if line.startswith("* ") and current:
                    items.append(" ".join(current))
                    current = []
                current.append(line[2:] if line.startswith("* ") else line.strip())
            items.append(" ".join(current))
            out.append('<ul class="govuk-list govuk-list--bullet">'
                       + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
        else:
            out.append(f'<p class="govuk-body">{inline(" ".join(line.strip() for line in lines))}</p>')
    return Markup("\n".join(out))


def _content(content: dict) -> list:
    return [(media, type_of(body.get("schema"))) for media, body in (content or {}).items()]


def page_values(document: dict) -> dict:
    """What the reference page shows, from the document."""
    components = document.get("components", {})
    responses, parameters = components.get("responses", {}), components.get("parameters", {})
    tags = {tag["name"]: {"name": tag["name"], "description": tag.get("description"),
                          "anchor": "tag-" + anchor(tag["name"]), "operations": []}
            for tag in document.get("tags", [])}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            tag = (op.get("tags") or ["Other"])[0]
            group = tags.setdefault(tag, {"name": tag, "description": None, "anchor": "tag-" + anchor(tag),
                                          "operations": []})
            rows = []
            for parameter in op.get("parameters", []):
                if "$ref" in parameter:
                    if parameter["$ref"].endswith("/IdempotencyKey"):
                        continue                    # the description says so; the header is explained once
                    parameter = parameters.get(parameter["$ref"].rsplit("/", 1)[-1], {})
                rows.append({"name": parameter.get("name"), "where": parameter.get("in"),
                             "required": parameter.get("required"), "type": type_of(parameter.get("schema")),
                             "notes": " ".join(filter(None, [parameter.get("description"),
                                                             notes_of(parameter.get("schema"))]))})
            answers, errors = [], []
            for status, response in op.get("responses", {}).items():
                if "$ref" in response and response["$ref"].rsplit("/", 1)[-1].startswith("Problem"):
                    if status != "default":
                        errors.append(status)
                    continue
                answers.append({"status": status, "description": response.get("description", ""),
                                "content": _content(response.get("content"))})
            body = op.get("requestBody")
            group["operations"].append({
                "anchor": op.get("operationId") or anchor(method + path), "method": method.upper(), "path": path,
                "colour": METHOD_COLOURS.get(method, "grey"), "summary": op.get("summary", ""),
                "description": prose(op.get("description")), "parameters": rows, "responses": answers, "errors": errors,
                "body": {"required": body.get("required", False), "content": _content(body.get("content"))}
                if body else None})
    schemas = []
    for name, schema in components.get("schemas", {}).items():
        # An object, or one of several shapes of which one is an object (a flag as an object or by name).
        shaped = next((part for part in schema.get("oneOf", ()) if "properties" in part), schema)
        required = set(shaped.get("required", ()))
        fields = [{"name": field, "required": field in required, "type": type_of(spec), "notes": notes_of(spec)}
                  for field, spec in shaped.get("properties", {}).items()]
        whole = {key: value for key, value in schema.items() if key != "description"}
        schemas.append({"name": name, "anchor": schema_anchor(name), "description": schema.get("description"),
                        "unavailable": openapi.UNAVAILABLE in schema, "fields": fields,
                        "type": None if openapi.UNAVAILABLE in schema or (fields and shaped is schema)
                        else Markup("Either: ") + type_of(whole) if shaped is not schema else type_of(whole)})
    problems = [{"status": name[len("Problem"):] or "Other", "description": inline(response.get("description", ""))}
                for name, response in responses.items() if name.startswith("Problem")]
    problems.sort(key=lambda problem: (not problem["status"].isdigit(), problem["status"]))
    return {"info": document.get("info", {}), "openapi": document.get("openapi"), "errors": problems,
            "unavailable": document.get(openapi.UNAVAILABLE, []), "general": prose(document["info"].get("description")),
            "tags": [tag for tag in tags.values() if tag["operations"]], "schemas": schemas}


_rendered: dict = {}      # the page for the document now cached, by its ETag


def render(document: dict, etag: str | None = None) -> str:
    if etag is not None and etag in _rendered:
        return _rendered[etag]
    page = PAGE.render(title="API reference", **page_values(document))
    if etag is not None:
        _rendered.clear()
        _rendered[etag] = page
    return page


class OpenApiCache(DependencyProvider):
    """One DocumentCache per gateway container (a replica), shared by its workers."""

    def setup(self):
        self.cache = openapi.DocumentCache()

    def get_dependency(self, worker_ctx):
        return self.cache


class DocsRoutes:
    openapi_cache = OpenApiCache()

    def _openapi(self):
        """(document, JSON bytes, ETag): this replica's copy, built again once stale."""
        timeout = float(self.remote.config.get("OPENAPI_RPC_TIMEOUT", openapi.FETCH_TIMEOUT))
        return self.openapi_cache.get(lambda: openapi.build(openapi.served_routes(type(self)),
                                                            openapi.fetch_schemas(self.remote, SERVICE_NAMES, timeout)))

    @api("GET", "/api/v1/openapi.json", public=True,
         answer={"application/json": {"type": "object", "description": "This document (OpenAPI 3)."}})
    def openapi_document(self, request):
        """The OpenAPI 3 document of this API.

        Public: fetch it before you hold a token. Each gateway replica keeps it for a minute; while a
        service does not answer it is served without that service's schemas (see `x-concord-unavailable`).
        """
        _, body, etag = self._openapi()
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={int(openapi.CACHE_SECONDS)}",
                   "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}
        if request.if_none_match.contains_raw(etag):
            return Response(status=304, headers=headers)
        return Response(body, status=200, headers=headers, mimetype="application/json")

    @api("GET", "/api/docs", public=True, answer={"text/html": {"type": "string"}})
    def api_docs(self, request):
        """The browsable API reference (HTML, no JavaScript needed)."""
        document, _, etag = self._openapi()
        headers = {**PAGE_HEADERS, "Cache-Control": f"public, max-age={int(openapi.CACHE_SECONDS)}"}
        return Response(render(document, etag), status=200, headers=headers, mimetype="text/html")
