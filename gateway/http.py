"""The gateway's HTTP entrypoint: request ids, JSON bodies, problem+json errors.

Every error leaves as `application/problem+json` ({type, title, status, detail,
errors?}); an unexpected one is logged with its traceback and answered 500
without it.
"""
import functools
import json
import logging
import re
import time
from functools import partial

from eventlet.event import Event
from nameko.exceptions import IncorrectSignature
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from concord_common import context as ctx
from concord_common import metrics
from concord_common.errors import ConcordError, MalformedRequest, TooManyRequests, Unauthenticated
from concord_common.logs import INSTANCE

log = logging.getLogger("concord.gateway.access")

PROBLEM_BASE = "https://concord.example/problems/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, default=str), status=status, headers=headers,
                    mimetype="application/json")


def problem(status: int, slug: str, title: str, detail: str = "", errors: dict | None = None,
            headers: dict | None = None) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/problem+json")


def problem_from_exception(exc: Exception) -> Response:
    if isinstance(exc, ConcordError):
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="concord"'
        return problem(exc.status, exc.slug, exc.title, exc.detail, exc.errors, headers=headers)
    if isinstance(exc, HTTPException):
        slug = (exc.name or "error").lower().replace(" ", "-")
        return problem(exc.code, slug, exc.name, exc.description or "")
    if isinstance(exc, IncorrectSignature):
        return problem(400, "malformed-request", "The request could not be read", "Unexpected parameters.")
    log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
    return problem(500, "internal-error", "Internal error",
                   "Something went wrong on our side. Quote the request id if you report it.")


def read_json(request, max_bytes: int = 1048576) -> dict:
    """The request body as a JSON object, or MalformedRequest saying why not.

    The body is read as JSON whatever Content-Type says (curl's -d sends a form
    type); only OAuth's token endpoint takes forms (read_json_or_form).
    """
    if request.content_length and request.content_length > max_bytes:
        raise MalformedRequest(f"The request body is larger than {max_bytes} bytes.")
    raw = request.get_data(cache=True)
    if not raw:
        raise MalformedRequest("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"The request body is not valid JSON: {exc}.")
    if not isinstance(body, dict):
        raise MalformedRequest("The request body must be a JSON object.")
    return body


def read_json_or_form(request, max_bytes: int = 1048576) -> dict:
    """OAuth 2 clients send application/x-www-form-urlencoded; others JSON."""
    if request.mimetype == "application/x-www-form-urlencoded" and request.form:
        return request.form.to_dict()
    return read_json(request, max_bytes)


class ApiEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint with a request id on every request and problem+json errors."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (ConcordError,))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-Id", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else ctx.new_request_id()
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(self, args, kwargs, context_data={ctx.REQUEST_ID_KEY: request_id},
                                        handle_result=partial(self.handle_result, done))
            response = self.response_from_result(done.wait())
        except Exception as exc:
            response = problem_from_exception(exc)
        response.headers["X-Request-Id"] = request_id
        response.headers["X-Concord-Instance"] = INSTANCE
        elapsed = time.perf_counter() - started
        outcome = str(response.status_code)
        metrics.WORKER_SECONDS.labels("gateway", self.method_name, outcome).observe(elapsed)
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"fields": {"request_id": request_id, "status": response.status_code,
                                   "method": request.method, "path": request.path,
                                   "ms": round(elapsed * 1000, 2)}})
        return response


def api(method: str, url: str, *, public: bool = False, scope: str | None = None, clients: bool = False,
        **kwargs):
    """An HTTP route. Deny by default: every route authenticates unless `public`.

    `scope` names what an API client's token must allow (clients are refused
    where a route names no scope); signed-in users pass to the service, which
    decides on the record itself.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def guarded(self, request, *args, **route_values):
            if not public:
                self.auth.require(request, scope=scope, allow_clients=clients or scope is not None)
            return fn(self, request, *args, **route_values)
        return ApiEntrypoint.decorator(method, url, **kwargs)(guarded)
    return decorate
