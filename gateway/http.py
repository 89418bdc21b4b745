"""The gateway's HTTP entrypoint: request ids, JSON bodies, problem+json errors (a styled error page instead
for a browser outside /api: gateway/web/error_pages.py).

Every error leaves as `application/problem+json` ({type, title, status, detail,
errors?}); an unexpected one is logged with its traceback and answered 500
without it. So do the refusals of the HTTP server itself (a header too long, a
method no route has). Every answer says `nosniff`, `no-store` unless the route
chose its own caching, and HSTS when the client came over TLS (directly or
through a trusted proxy: gateway/proxies.py).
"""
import functools
import json
import logging
import re
import socket
import time
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import quote

import eventlet

from eventlet import wsgi as eventlet_wsgi
from eventlet.event import Event
from nameko.exceptions import IncorrectSignature
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from concord_common import context as ctx
from concord_common import idempotency, metrics
from concord_common.errors import (ConcordError, MalformedRequest, ServiceUnavailable, TooManyRequests,
                                   Unauthenticated)
from concord_common.logs import INSTANCE
from gateway import input_checks, proxies
from gateway.drain import DrainingServerMixin
from gateway.web import error_pages

log = logging.getLogger("concord.gateway.access")

PROBLEM_BASE = "https://concord.example/problems/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HSTS = "max-age=31536000; includeSubDomains"
# Sent with every 503: the usual broker restart or service redeploy is over well within it.
RETRY_AFTER_UNAVAILABLE = 5



def together(**calls) -> dict:
    """Independent service calls at once, each in a green thread as the same caller: {name: answer}.
    An error any call raised is raised here (the first, in the order given)."""
    names = list(calls)
    return dict(zip(names, eventlet.GreenPool(max(1, len(names))).imap(lambda name: calls[name](), names)))

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
        if isinstance(exc, ServiceUnavailable):
            headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
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
    except RecursionError:
        raise MalformedRequest(f"The request body is nested more than {input_checks.MAX_JSON_DEPTH} levels deep.")
    if not isinstance(body, dict):
        raise MalformedRequest("The request body must be a JSON object.")
    input_checks.check_json(body)
    return body


def read_json_or_form(request, max_bytes: int = 1048576) -> dict:
    """OAuth 2 clients send application/x-www-form-urlencoded; others JSON."""
    if request.mimetype == "application/x-www-form-urlencoded" and request.form:
        input_checks.check_pairs("form fields", request.form.items(multi=True))
        return request.form.to_dict()
    return read_json(request, max_bytes)


def read_json_or_empty(request, max_bytes: int = 1048576) -> dict:
    """For actions whose body is optional (POST …/unmerge): no body is {}."""
    if not request.content_length and not request.get_data(cache=True):
        return {}
    return read_json(request, max_bytes)


def attachment_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 Content-Disposition for any name: an ASCII fallback for old clients and the exact name as
    UTF-8 (RFC 8187 `filename*`). Quotes, control characters and anything unencodable never reach the header."""
    fallback = "".join("" if unicodedata.combining(ch) else ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_"
                       for ch in unicodedata.normalize("NFKD", filename)).strip() or "download"
    exact = quote(filename.encode("utf-8", "replace"), safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def secure_headers(response: Response, https: bool) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Cache-Control" not in response.headers:      # the OpenAPI document and assets set their own
        response.headers["Cache-Control"] = "no-store"
    if https:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _raw_problem(status: int, reason: str, slug: str, title: str, detail: str) -> bytes:
    """A whole HTTP response, for refusals written before any WSGI application runs."""
    body = json.dumps({"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
            f"Connection: close\r\n\r\n").encode("ascii") + body


# eventlet writes these fixed answers itself when it cannot even read the request; they leave as problems.
_SERVER_REFUSALS = {
    b"HTTP/1.0 400 Header Line Too Long": _raw_problem(
        431, "Request Header Fields Too Large", "header-too-large", "A request header is too large",
        f"One header line is longer than {eventlet_wsgi.MAX_HEADER_LINE} bytes."),
    b"HTTP/1.0 400 Headers Too Large": _raw_problem(
        431, "Request Header Fields Too Large", "header-too-large", "The request headers are too large",
        f"The headers together are larger than {eventlet_wsgi.MAX_TOTAL_HEADER_SIZE} bytes."),
    b"HTTP/1.0 414 Request URI Too Long": _raw_problem(
        414, "URI Too Long", "uri-too-long", "The URL is too long",
        f"The request line is longer than {eventlet_wsgi.MAX_REQUEST_LINE} bytes."),
    b"HTTP/1.0 400 Bad Request": _raw_problem(
        400, "Bad Request", "malformed-request", "The request could not be read",
        "Content-Length is not a number, or comes with Transfer-Encoding."),
}


class _ProblemWriter:
    """Passes the response through, except eventlet's fixed refusals, which it rewrites as problems."""

    def __init__(self, wfile):
        self._wfile = wfile

    def write(self, data):
        for prefix, replacement in _SERVER_REFUSALS.items():
            if data.startswith(prefix):
                return self._wfile.write(replacement)
        return self._wfile.write(data)

    def __getattr__(self, name):
        return getattr(self._wfile, name)


class ProblemProtocol(HttpOnlyProtocol):
    """nameko's HTTP protocol whose own refusals (headers too large, a bad request line) are problem+json."""

    def handle_one_request(self):
        wfile, self.wfile = self.wfile, _ProblemWriter(self.wfile)
        try:
            return super().handle_one_request()
        finally:
            self.wfile = wfile

    def send_error(self, code, message=None, explain=None):
        """http.server's refusals (more than 100 headers, a malformed request line) as problem+json."""
        reason = self.responses.get(code, ("Error",))[0]
        body = json.dumps({"type": PROBLEM_BASE + "malformed-request", "title": "The request could not be read",
                           "status": code, "detail": message or reason}).encode()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, but a method no route has (405) is problem+json, not werkzeug's HTML."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            provider, request.path_values = self.url_map.bind_to_environ(environ).match()
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = problem_from_exception(exc)
            if getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            response = secure_headers(error_pages.for_browser(request, response),
                                      environ.get("wsgi.url_scheme") == "https")
        return response(environ, start_response)


class NoDelayWebServer(DrainingServerMixin, WebServer):
    """nameko's web server with Nagle's algorithm off: a response written in two parts (headers, then
    body) otherwise waits for the client's delayed ACK, ~40 ms on a kept-alive connection. Its own
    refusals are problem+json like every other error. On SIGTERM it drains (gateway/drain.py)."""

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, *args, **kwargs):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)     # accepted sockets inherit it
        kwargs.setdefault("protocol", ProblemProtocol)
        return super().get_wsgi_server(sock, wsgi_app, *args, **kwargs)


class ApiEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint with a request id on every request and problem+json errors."""

    server = NoDelayWebServer()

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (ConcordError,))
        super().__init__(method, url, **kwargs)

    def setup(self):
        super().setup()
        self.proxies = proxies.TrustedProxies.from_config(self.container.config)
        self.max_form_bytes = int(self.container.config.get("MAX_BODY_BYTES") or 1048576)

    def check_input(self, request) -> None:
        """Refuse what no service could store, before any route reads it (gateway/input_checks.py)."""
        input_checks.check_text("URL path", request.path)
        input_checks.check_pairs("query parameters", request.args.items(multi=True))
        if (request.mimetype == "application/x-www-form-urlencoded"
                and (request.content_length or 0) <= self.max_form_bytes):
            request.get_data(cache=True)     # kept, so a route that reads the body as JSON still can
            input_checks.check_pairs("form fields", request.form.items(multi=True))

    def handle_request(self, request):
        request.shallow = False
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-Id", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else ctx.new_request_id()
        try:
            proxies.resolve(request, self.proxies)
            self.check_input(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            # The route (its template, not the path) travels with every call: a refused read is audited with it.
            context_data = {ctx.REQUEST_ID_KEY: request_id, ctx.ROUTE_KEY: f"{request.method} {self.url}"}
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, done))
            response = self.response_from_result(done.wait())
        except Exception as exc:
            response = problem_from_exception(exc)
        response = error_pages.for_browser(request, response, request_id)     # a browser gets a page
        response.headers["X-Request-Id"] = request_id
        response.headers["X-Concord-Instance"] = INSTANCE
        secure_headers(response, request.scheme == "https")
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
