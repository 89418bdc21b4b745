"""Typed errors that cross RPC intact and map to one HTTP status each.

nameko serialises an exception raised in a service; classes registered with
`deserialize_to_instance` are raised again as the same class in the caller,
so the gateway maps them to `application/problem+json` in one table.
"""
from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class ConcordError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str = "", errors: dict | None = None):
        # nameko stringifies None, so keep both arguments always concrete.
        super().__init__(detail or "", errors or {})

    @property
    def detail(self) -> str:
        return self.args[0]

    @property
    def errors(self) -> dict:
        return self.args[1]


@deserialize_to_instance
class ValidationFailed(ConcordError):
    """The input broke a rule; `errors` maps each field path to its messages."""
    status, slug, title = 422, "validation-failed", "Your request has errors"


@deserialize_to_instance
class MalformedRequest(ConcordError):
    """The input could not be read at all (not JSON, wrong shape)."""
    status, slug, title = 400, "malformed-request", "The request could not be read"


@deserialize_to_instance
class Unauthenticated(ConcordError):
    status, slug, title = 401, "unauthenticated", "Sign in to continue"


@deserialize_to_instance
class Forbidden(ConcordError):
    status, slug, title = 403, "forbidden", "You may not do this"


@deserialize_to_instance
class NotFound(ConcordError):
    """Also what a record the caller may not see answers: deny by default."""
    status, slug, title = 404, "not-found", "Not found"

    def __init__(self, detail: str = "", errors: dict | None = None):
        # One body for absent and forbidden records: never echo anything.
        super().__init__("The requested resource does not exist.", {})


@deserialize_to_instance
class Conflict(ConcordError):
    status, slug, title = 409, "conflict", "Conflict"


@deserialize_to_instance
class PreconditionFailed(ConcordError):
    status, slug, title = 412, "precondition-failed", "The record has changed since you read it"


@deserialize_to_instance
class MfaRequired(ConcordError):
    """Sign-in needs a (correct) one-time code from the user's authenticator app."""
    status, slug, title = 401, "mfa-required", "Enter the code from your authenticator app"


@deserialize_to_instance
class PreconditionRequired(ConcordError):
    status, slug, title = 428, "precondition-required", "Say which version you are changing (If-Match)"


@deserialize_to_instance
class TooManyRequests(ConcordError):
    """Throttled or locked out; the gateway sends `Retry-After: retry_after`."""
    status, slug, title = 429, "too-many-requests", "Too many attempts"

    def __init__(self, detail: str = "", errors: dict | None = None, retry_after: int = 60):
        Exception.__init__(self, detail or "", errors or {}, int(retry_after))

    @property
    def retry_after(self) -> int:
        return self.args[2]


@deserialize_to_instance
class ServiceUnavailable(ConcordError):
    status, slug, title = 503, "service-unavailable", "A service needed for this request is unavailable"


@deserialize_to_instance
class ServiceTimeout(ConcordError):
    status, slug, title = 504, "service-timeout", "A service did not answer in time"


def validation_errors(messages) -> dict:
    """Flatten marshmallow's nested messages to {"field.path": [msg, ...]}."""
    flat: dict[str, list[str]] = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list) and all(isinstance(item, str) for item in node):
            flat.setdefault(prefix or "_schema", []).extend(node)
        elif isinstance(node, list):
            for item in node:
                walk(prefix, item)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(node))

    walk("", messages)
    return flat


def load_or_fail(schema, payload, db_checks=None, **kwargs):
    """Validate `payload` with a marshmallow schema or raise ValidationFailed.

    `db_checks(valid_data)` -> {"field.path": [msg]} adds the checks that need the
    database (name taken, team of another organisation), run on the fields that did
    load, so the caller gets every problem in one ValidationFailed.
    """
    from marshmallow import ValidationError

    if not isinstance(payload, dict) and not kwargs.get("many"):
        raise MalformedRequest("The request body must be a JSON object.")
    try:
        data, errors = schema.load(payload, **kwargs), {}
    except ValidationError as exc:
        data, errors = (exc.valid_data or {}), validation_errors(exc.messages)
    for path, messages in ((db_checks(data) if db_checks else None) or {}).items():
        errors.setdefault(path, []).extend(messages)
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)
    return data
