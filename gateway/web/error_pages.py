"""Every error a browser sees is a page: the words for each status, and content negotiation.

Routes raise errors that leave as problem+json (gateway/http.py). For a client that asks for HTML (a
browser: its Accept header prefers text/html) on a path outside the machine-facing ones (/api/…, health,
metrics), that problem is answered instead with the styled error page of the same status, keeping the
status and its headers (Retry-After, Allow). /api/v1 answers problem+json whatever the client accepts.
"""
import json

from werkzeug.wrappers import Response

MACHINE_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/oauth/", "/assets/")
KEPT_HEADERS = ("Retry-After", "Allow", "WWW-Authenticate")

# status: (title, what to do). The detail a route gave is shown too where it helps (see page_for).
WORDS = {
    400: ("Sorry, that did not work", "The page could not use what was sent. Go back and try again."),
    401: ("You need to sign in", "Sign in to use Concord."),
    403: ("You cannot do this", "You do not have permission to see this page or do this."),
    404: ("Page not found", "If you typed the web address, check it is correct. If you pasted the web address, "
                            "check you copied the entire address."),
    405: ("Page not found", "If you typed the web address, check it is correct."),
    413: ("The file is too large", "Choose a smaller file and try again."),
    429: ("Too many attempts", "Wait a minute and try again."),
    500: ("Sorry, there is a problem with the service", "Try again later. If it keeps happening, tell your "
                                                        "organisation's Concord administrator."),
    503: ("Sorry, the service is unavailable", "Part of Concord is not answering just now. Try again in a few "
                                               "minutes; nothing you saved has been lost."),
    504: ("Sorry, the service is unavailable", "Part of Concord took too long to answer. Try again in a few "
                                               "minutes; check first whether what you did was saved."),
}


def wants_html(request) -> bool:
    """A browser: it prefers text/html to JSON (curl's */* and API clients do not)."""
    if any(request.path.startswith(prefix) for prefix in MACHINE_PATHS):
        return False
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "application/problem+json", "text/html"]) == "text/html" \
        and accept["text/html"] > accept["application/json"]


def page_for(status: int, detail: str = "", request_id: str | None = None, signed_in: bool = False) -> Response:
    """The styled error page for `status`, with the same security headers as every page."""
    from gateway.web.pages import page          # pages imports gateway.http, which imports this lazily
    title, advice = WORDS.get(status) or WORDS[500 if status >= 500 else 400]
    if status >= 500 or status in (404, 405):
        detail = ""                             # a server's own words (or "Not Found") help nobody here
    return page("error.html", status=status, title=title, detail=detail, advice=advice,
                request_id=request_id if status >= 500 else None, signed_in=signed_in,
                back_href="/sign-in" if status == 401 else "/", back_text="Sign in" if status == 401 else
                "Go to the start page")


def for_browser(request, response: Response, request_id: str | None = None) -> Response:
    """The response, or the error page in its place when it is a problem and the client is a browser."""
    if response.mimetype != "application/problem+json" or not wants_html(request):
        return response
    try:
        problem = json.loads(response.get_data())
    except ValueError:
        problem = {}
    detail = problem.get("detail") or ""
    html = page_for(response.status_code, detail, request_id)
    for name in KEPT_HEADERS:
        if name in response.headers:
            html.headers[name] = response.headers[name]
    return html
