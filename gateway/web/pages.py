"""Sign-in, home and sign-out pages.

Web sessions ride in an HttpOnly, SameSite=Lax cookie (Secure behind TLS).
Every form carries a CSRF token: the sign-in form a double-submit cookie
(there is no session yet), every other form the session's own token.
"""
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from concord_common.errors import (ConcordError, Conflict, Forbidden, MfaRequired, TooManyRequests, Unauthenticated,
                                   ValidationFailed)
from gateway.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token, same_secret
from gateway.http import api
from gateway.routes.sessions import source_ip
from gateway.web import header, words

templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]))
words.install(templates)

PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"}


def page(template: str, status: int = 200, **values) -> Response:
    html = templates.get_template(template).render(**{**header.values(), **values})
    return Response(html, status=status, mimetype="text/html", headers=dict(PAGE_HEADERS))


def secure_cookies(request, config) -> bool:
    if request.scheme == "https":
        return True
    return bool(config.get("TRUST_FORWARDED_FOR")) and request.headers.get("X-Forwarded-Proto") == "https"


class WebPages:
    # The home page ("/") is each person's dashboard: gateway/web/home_pages.py.
    @api("GET", "/account", public=True)
    def account(self, request):
        principal = self.auth.optional(request)
        if principal is None or principal["kind"] != "user":
            return redirect("/sign-in", code=303)
        if principal.get("mfa_enrolment_required"):
            return redirect("/mfa", code=303)
        header.begin(self, principal, eager=True)         # the unread count, beside `me`
        try:
            me = self.remote.call("permissions", "me")
            return page("account.html", title="Your account", me=me, nav="account",
                        csrf_token=principal.get("csrf_token"))
        finally:
            header.end()

    @api("GET", "/mfa", public=True)
    def mfa_page(self, request):
        """Only shows: the key being set up if there is one, else a button that starts (POST)."""
        principal = self.auth.optional(request)
        if principal is None or principal["kind"] != "user":
            return redirect("/sign-in", code=303)
        if self.remote.call("permissions", "me").get("mfa_enabled"):
            return redirect("/", code=303)
        return self._mfa_form(principal, self.remote.call("permissions", "pending_mfa"))

    def _mfa_form(self, principal, enrolment, status=200, error=None):
        secret = (enrolment or {}).get("secret")
        return page("mfa.html", status=status, title="Set up two-factor authentication", error_summary=error,
                    secret_grouped=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) if secret else None,
                    required=principal.get("mfa_enrolment_required"), csrf_token=principal.get("csrf_token"))

    @api("POST", "/mfa", public=True)
    def mfa_submit(self, request):
        """`start` begins setting up (a new key), then back to the page; otherwise `otp` confirms it."""
        try:
            principal = self.auth.require(request)
        except Forbidden as exc:
            return page("error.html", status=403, title="That did not work", detail=exc.detail)
        except ConcordError:
            return redirect("/sign-in", code=303)
        try:
            if request.form.get("start"):
                self.remote.call("permissions", "enrol_mfa")
                return redirect("/mfa", code=303)
            self.remote.call("permissions", "confirm_mfa", {"otp": request.form.get("otp", "").strip()},
                             self.auth.token)
        except Conflict:                      # already set up, or not started yet: the page says which
            return redirect("/mfa", code=303)
        except ValidationFailed:
            return self._mfa_form(principal, self.remote.call("permissions", "pending_mfa"), 422,
                                  "The code is not right; enter the code the app shows now")
        return redirect("/account", code=303)         # where it now says two-factor authentication is on

    @api("GET", "/sign-in", public=True)
    def sign_in_page(self, request):
        return self._sign_in_form(request)

    def _sign_in_form(self, request, status=200, username="", error_field=None, error=None, ask_otp=False):
        token = new_csrf_token()
        response = page("sign_in.html", status=status, title="Sign in", csrf_token=token, username=username,
                        error_field=error_field, error_summary=error, ask_otp=ask_otp)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Lax", path="/sign-in",
                            secure=secure_cookies(request, self.remote.config))
        return response

    @api("POST", "/sign-in", public=True)
    def sign_in_submit(self, request):
        form = request.form
        if not same_secret(form.get("csrf_token"), request.cookies.get(CSRF_COOKIE)):
            return page("error.html", status=403, title="Your sign-in form expired",
                        detail="For your security the form could not be used. Sign in again.",
                        back_href="/sign-in", back_text="Sign in")
        username = form.get("username", "").strip()
        if not username or not form.get("password"):
            return self._sign_in_form(request, 422, username, "username", "Enter your username and password")
        try:
            client_ip = source_ip(request, bool(self.remote.config.get("TRUST_FORWARDED_FOR")))
            signed_in = self.remote.call("permissions", "authenticate", username, form["password"],
                                         otp=form.get("otp") or None, kind="web", source_ip=client_ip)
        except MfaRequired:
            return self._sign_in_form(request, 401, username, "otp",
                                      "Enter the code from your authenticator app" if not form.get("otp")
                                      else "The code is not right; enter the code shown now", ask_otp=True)
        except TooManyRequests as exc:
            response = page("error.html", status=429, title="Too many attempts",
                            detail=f"Sign-in is paused for this account. Try again in "
                                   f"{max(1, exc.retry_after // 60)} minute(s).", back_href="/sign-in")
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except (Unauthenticated, ValidationFailed):
            return self._sign_in_form(request, 401, username, "username",
                                      "The username or password is incorrect")
        response = redirect("/", code=303)
        response.set_cookie(SESSION_COOKIE, signed_in["token"], httponly=True, samesite="Lax", path="/",
                            secure=secure_cookies(request, self.remote.config))
        response.delete_cookie(CSRF_COOKIE, path="/sign-in")
        return response

    @api("POST", "/sign-out", public=True)
    def sign_out_submit(self, request):
        try:
            self.auth.require(request)       # a cookie session: checks the form's CSRF token
        except Forbidden as exc:
            return page("error.html", status=403, title="That did not work", detail=exc.detail)
        except ConcordError:
            return redirect("/sign-in", code=303)
        self.remote.call("permissions", "end_session", self.auth.token)
        self.auth.forget(self.auth.token)
        response = redirect("/sign-in", code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
