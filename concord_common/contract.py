"""Marshmallow schemas as OpenAPI 3.0 component schemas (JSON Schema), for the gateway's API document.

Each service answers an RPC `contract_schemas()` with `json_schemas("<service>", {...})`: the schemas
that make up its part of the API, converted by apispec's MarshmallowPlugin from the very classes that
validate its input and describe its output. Every name (and every `$ref`) is prefixed with the service,
`profiles.PersonCreate`, so two services' schemas cannot collide in the one document the gateway
assembles (gateway/openapi.py). Schemas nested in those named are registered too, under their class
name without "Schema" (`profiles.Alias`).

Conventions the conversion follows:
* a schema's own docstring becomes its `description`;
* input schemas refuse unknown fields (`additionalProperties: false`); descriptive answer schemas set
  `class Meta: unknown = EXCLUDE` and get no `additionalProperties`, as answers may gain fields within v1;
* a field apispec cannot type (`fields.Function`, `fields.Raw`) is `{}` (anything) unless its metadata
  says more: `fields.Raw(metadata={"oneOf": [ref("Profile"), ref("Signpost")]})`, where `ref` names a
  schema of the same service (it is prefixed like the others).

The record-access contract every record-owning service shares (concord_common/access) is described here
too (`RECORD_ACCESS`), once: the gateway publishes it under the prefix "access".
"""
import re
import warnings

from marshmallow import EXCLUDE, Schema, fields

from concord_common.access import schemas as access

OPENAPI_VERSION = "3.0.3"
REF_PREFIX = "#/components/schemas/"
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class Described(Schema):
    """Base of the schemas that only describe an answer built elsewhere, for the API document: nothing
    loads or dumps with them, and answers may gain fields (unknown = EXCLUDE)."""
    class Meta:
        unknown = EXCLUDE


def ref(name: str) -> dict:
    """A reference to another schema of the same service (for a field's metadata)."""
    return {"$ref": REF_PREFIX + name}


def _schema_class(schema) -> type:
    return schema if isinstance(schema, type) else type(schema)


def _description(cls) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return None
    first = doc.strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.splitlines())


def _prefixed(node, prefix: str):
    """Every `$ref` to a component, renamed `<prefix>.<name>`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                value = f"{REF_PREFIX}{prefix}.{value[len(REF_PREFIX):]}"
            out[key] = _prefixed(value, prefix)
        return out
    if isinstance(node, list):
        return [_prefixed(item, prefix) for item in node]
    return node


def service_schemas(service: str, module) -> dict:
    """A service's answer to `contract_schemas()`, from its schemas module: CONTRACT ({name: schema}), and if
    it has them CONTRACT_FIELD_TYPES ({field class: (type, format)}) and CONTRACT_ALTERNATIVES ({name: [JSON
    Schema, …]}: other shapes a schema's input may take that a `pre_load` turns into it, e.g. a flag by name)."""
    out = json_schemas(service, module.CONTRACT, getattr(module, "CONTRACT_FIELD_TYPES", None))
    for name, others in (getattr(module, "CONTRACT_ALTERNATIVES", None) or {}).items():
        key = f"{service}.{name}"
        body = dict(out[key])
        description = body.pop("description", None)
        out[key] = {"oneOf": [body, *_prefixed(list(others), service)], **({"description": description}
                                                                           if description else {})}
    return out


def json_schemas(prefix: str, schemas: dict, field_types: dict | None = None) -> dict:
    """{"<prefix>.<Name>": JSON Schema} for {"Name": Schema class or instance}, nested schemas included.

    Names given here win over derived ones wherever the same class is nested elsewhere. `field_types`
    maps custom field classes apispec cannot type to (type, format); subclasses of marshmallow's own
    fields (a custom String) need nothing.
    """
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    if not _NAME.match(prefix) or "." in prefix:
        raise ValueError(f"not a usable prefix: {prefix!r}")
    chosen = {_schema_class(schema): name for name, schema in schemas.items()}
    described: dict[str, str] = {}

    def resolve(schema):
        cls = _schema_class(schema)
        name = chosen.get(cls)
        if name is None:
            name = cls.__name__.lstrip("_")
            if name.endswith("Schema") and len(name) > len("Schema"):
                name = name[:-len("Schema")]
        text = _description(cls)
        if text:
            described.setdefault(name, text)
        return name

    plugin = MarshmallowPlugin(schema_name_resolver=resolve)
    spec = APISpec(title=prefix, version="1", openapi_version=OPENAPI_VERSION, plugins=[plugin])
    for field_class, (json_type, json_format) in (field_types or {}).items():
        plugin.map_to_openapi_type(field_class, json_type, json_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # "multiple schemas resolved to the name …"
        for name, schema in schemas.items():
            if not _NAME.match(name):
                raise ValueError(f"not a usable schema name: {name!r}")
            if _schema_key(plugin, schema) in plugin.converter.refs:
                continue                                   # already registered, nested in an earlier one
            text = _description(_schema_class(schema))
            if text:
                described.setdefault(name, text)
            spec.components.schema(name, schema=schema)
    found = spec.to_dict().get("components", {}).get("schemas", {})
    out = {}
    for name, body in found.items():
        body = dict(body)
        if name in described and "description" not in body:
            body["description"] = described[name]
        out[f"{prefix}.{name}"] = _prefixed(body, prefix)
    return out


def _schema_key(plugin, schema):
    from apispec.ext.marshmallow.common import make_schema_key, resolve_schema_instance
    return make_schema_key(resolve_schema_instance(schema))


# -- the record-access contract (concord_common/access), shared by profiles, families and cases ----------
class OwnerSchema(Described):
    """The lead organisation and team of a record."""
    organisation_id = fields.String(metadata={"format": "uuid"})
    team_id = fields.String(metadata={"format": "uuid"})


class GrantViewSchema(Described):
    """A grant of access to a record."""
    id = fields.String(metadata={"format": "uuid"})
    grantee_type = fields.String(metadata={"enum": ["user", "team", "organisation"]})
    grantee_id = fields.String()
    grantee_organisation_id = fields.String(allow_none=True)
    level = fields.String(metadata={"enum": ["view", "edit"]})
    lawful_basis = fields.String()
    justification = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "grant, access_request, break_glass, meeting …"})
    source_id = fields.String(allow_none=True, metadata={"description": "What gave it: the access request, "
                                                                        "the meeting …"})
    expires_at = fields.DateTime(allow_none=True)
    granted_by = fields.String(allow_none=True)
    granted_at = fields.DateTime()
    status = fields.String(metadata={"enum": ["active", "expired", "revoked"]})


class AccessListSchema(Described):
    """Who leads a record and who else may see it (for the lead team and those with edit access)."""
    owner = fields.Nested(OwnerSchema)
    restricted = fields.Boolean()
    grants = fields.List(fields.Nested(GrantViewSchema))


class RestrictedSchema(Described):
    """A record's restriction after a change."""
    owner = fields.Nested(OwnerSchema)
    restricted = fields.Boolean()


class WhySchema(Described):
    """Why the caller can (or cannot) see a record, in plain words; never reveals that it exists."""
    can_view = fields.Boolean()
    can_edit = fields.Boolean()
    can_share = fields.Boolean()
    level = fields.String(metadata={"enum": ["view", "edit"]})
    explanation = fields.String()
    restricted = fields.Boolean()


class RecordRefSchema(Described):
    """A record by type and id."""
    type = fields.String(metadata={"enum": ["profile", "family", "case"]})
    id = fields.String(metadata={"format": "uuid"})


class BreakGlassSchema(Described):
    """Emergency view access, for a limited time."""
    record = fields.Nested(RecordRefSchema)
    level = fields.String(metadata={"enum": ["view"]})
    expires_at = fields.DateTime()
    grant_id = fields.String(metadata={"format": "uuid"})


RECORD_ACCESS = {
    "GrantCreate": access.GrantSchema,
    "Restriction": access.RestrictionSchema,
    "Reason": access.ReasonSchema,
    "TransferCreate": access.TransferSchema,
    "AccessList": AccessListSchema,
    "Grant": GrantViewSchema,
    "Restricted": RestrictedSchema,
    "Why": WhySchema,
    "BreakGlass": BreakGlassSchema,
    "Owner": OwnerSchema,
}
