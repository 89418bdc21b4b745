"""The gateway's HTTP entrypoint: request ids, JSON bodies, problem+json errors.

Every error leaves as `application/problem+json` ({type, title, status, detail,
errors?}); an unexpected one is logged with its traceback and answered 500
without it.
"""
import functools
import json
import logging
import re
import socket
import time
from dataclasses import dataclass, field
from functools import partial

from eventlet.event import Event
from nameko.exceptions import IncorrectSignature
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from concord_common import context as ctx
from concord_common import idempotency, metrics
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


def read_json_or_empty(request, max_bytes: int = 1048576) -> dict:
    """For actions whose body is optional (POST …/unmerge): no body is {}."""
    if not request.content_length and not request.get_data(cache=True):
        return {}
    return read_json(request, max_bytes)


class NoDelayWebServer(WebServer):
    """nameko's web server with Nagle's algorithm off: a response written in two parts (headers, then
    body) otherwise waits for the client's delayed ACK, ~40 ms on a kept-alive connection."""

    def get_wsgi_server(self, sock, wsgi_app, *args, **kwargs):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)     # accepted sockets inherit it
        return super().get_wsgi_server(sock, wsgi_app, *args, **kwargs)


class ApiEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint with a request id on every request and problem+json errors."""

    server = NoDelayWebServer()

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


WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    """What `api()` knows of a route, for the OpenAPI document (gateway/openapi.py reads these).

    `body`, `answer`: a schema name "<service>.<Name>" (JSON), or {media type: name or JSON Schema};
    `status`: the success status, or a tuple of them (the first is the usual one); `query`: a schema
    name whose properties are the query parameters, or {name: JSON Schema}; `params`: JSON Schemas of
    path parameters; `errors`: more statuses it may answer with a problem; `if_match`: it needs If-Match.
    """
    method: str
    url: str
    function: object
    public: bool = False
    scope: str | None = None
    clients: bool = False
    replayable: bool = True
    body: object = None
    answer: object = None
    status: object = None
    query: object = None
    params: dict = field(default_factory=dict)
    errors: tuple = ()
    if_match: bool = False
    listed: bool | None = None

    @property
    def methods(self) -> list[str]:
        return [part.strip().upper() for part in self.method.split(",") if part.strip()]

    @property
    def idempotent(self) -> bool:
        """Takes an Idempotency-Key: a signed-in write whose answer may be stored."""
        return not self.public and self.replayable and any(m in WRITES for m in self.methods)


ROUTES: list[Route] = []        # every route declared with api(), in the order the modules declare them


def api(method: str, url: str, *, public: bool = False, scope: str | None = None, clients: bool = False,
        max_body=None, replayable: bool = True, body=None, answer=None, status=None, query=None,
        params: dict | None = None, errors: tuple = (), if_match: bool = False, listed: bool | None = None,
        **kwargs):
    """An HTTP route. Deny by default: every route authenticates unless `public`.

    `scope` names what an API client's token must allow (clients are refused
    where a route names no scope); signed-in users pass to the service, which
    decides on the record itself. `max_body(service)` (uploads) is the most of the
    body that may be read, set before anything reads it (a cookie session's CSRF
    check reads the form): werkzeug refuses a longer Content-Length unread.

    A signed-in write with an `Idempotency-Key` passes the key to the services it calls, which
    replay their first answer to a repeat (concord_common.idempotency). Not for `public` routes (no
    caller to scope the key to) nor those whose answer holds a secret shown once (`replayable=False`):
    there the header is ignored, as no answer with a secret in it is ever stored.

    `body`, `answer`, `status`, `query`, `params`, `errors`, `if_match` describe the route in the
    OpenAPI document (see Route; they change nothing at run time). `listed` puts a route in the
    partner document or leaves it out; by default those under /api/ are in it (docs/api.md).
    """
    def decorate(fn):
        @functools.wraps(fn)
        def guarded(self, request, *args, **route_values):
            if max_body is not None:
                request.max_content_length = max_body(self)
            if not public:
                self.auth.require(request, scope=scope, allow_clients=clients or scope is not None)
                if replayable and method in WRITES:
                    self.context.set_idempotency_key(idempotency.checked_key(request.headers.get(idempotency.HEADER)))
            return fn(self, request, *args, **route_values)
        guarded.route = Route(method, url, fn, public=public, scope=scope, clients=clients, replayable=replayable,
                              body=body, answer=answer, status=status, query=query, params=dict(params or {}),
                              errors=tuple(errors), if_match=if_match, listed=listed)
        ROUTES.append(guarded.route)
        return ApiEntrypoint.decorator(method, url, **kwargs)(guarded)
    return decorate
