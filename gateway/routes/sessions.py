"""Sign-in for people and partner systems: sessions, client-credentials tokens, MFA, /me."""
from werkzeug.wrappers import Response

from concord_common.errors import MalformedRequest
from gateway.http import api, json_response, read_json, read_json_or_form


def source_ip(request, trust_forwarded: bool = False) -> str | None:
    """The client's address: the entrypoint has already taken it from X-Forwarded-For as far as the trusted
    proxies vouch for it (gateway/proxies.py). `trust_forwarded` is no longer read (callers may still pass it)."""
    return request.remote_addr


class SessionRoutes:
    @api("POST", "/api/v1/sessions", public=True, body="permissions.SessionCreate", answer="permissions.Session",
         status=201, errors=(401, 429))
    def sign_in(self, request):
        body = read_json(request)
        for field in ("username", "password"):
            if not isinstance(body.get(field), str) or not body.get(field):
                raise MalformedRequest("Send a JSON object with `username` and `password` (and `otp` if asked).")
        client_ip = source_ip(request)
        signed_in = self.remote.call("permissions", "authenticate", body["username"], body["password"],
                                     otp=body.get("otp"), kind="api", source_ip=client_ip)
        signed_in.pop("csrf_token", None)
        return json_response(201, signed_in)

    @api("DELETE", "/api/v1/sessions/current")
    def sign_out(self, request):
        self.remote.call("permissions", "end_session", self.auth.token)
        self.auth.forget(self.auth.token)
        return Response(status=204)

    @api("POST", "/api/v1/oauth/token", public=True, answer="permissions.ClientToken", errors=(401,),
         body={"application/json": "permissions.ClientTokenRequest",
               "application/x-www-form-urlencoded": "permissions.ClientTokenRequest"})
    def client_token(self, request):
        body = read_json_or_form(request)
        if body.get("grant_type") != "client_credentials":
            raise MalformedRequest("Only `grant_type=client_credentials` is supported.")
        if not body.get("client_id") or not body.get("client_secret"):
            raise MalformedRequest("Send `client_id` and `client_secret`.")
        token = self.remote.call("permissions", "client_token", body["client_id"], body["client_secret"],
                                 body.get("scope"))
        return json_response(200, token, {"Cache-Control": "no-store"})

    @api("GET", "/api/v1/me", clients=True, answer="permissions.Me")
    def me(self, request):
        if self.auth.principal["kind"] == "client":
            principal = self.auth.principal
            return json_response(200, {key: principal.get(key) for key in
                                       ("id", "client_id", "display_name", "organisation_id", "scopes")})
        return json_response(200, self.remote.call("permissions", "me"))

    @api("POST", "/api/v1/me/mfa", replayable=False,           # the answer holds the TOTP secret
         answer="permissions.MfaEnrolment", status=201, errors=(409,))
    def enrol_mfa(self, request):
        return json_response(201, self.remote.call("permissions", "enrol_mfa"), {"Cache-Control": "no-store"})

    @api("POST", "/api/v1/me/mfa/confirm", body="permissions.MfaConfirm", answer="permissions.MfaConfirmed")
    def confirm_mfa(self, request):
        return json_response(200, self.remote.call("permissions", "confirm_mfa", read_json(request),
                                                   self.auth.token))     # this session stays; others end

    @api("GET", "/api/v1/me/notifications", answer="notifications.NotificationPage",
         query={"unread": {"type": "boolean", "description": "Only those not yet read (true, 1 or yes)."}})
    def my_notifications(self, request):
        unread = request.args.get("unread") in ("1", "true", "yes")
        return json_response(200, self.remote.call("notifications", "my_notifications", unread))

    @api("POST", "/api/v1/me/notifications/<notification_id>/read", status=204)
    def read_notification(self, request, notification_id):
        self.remote.call("notifications", "mark_read", notification_id)
        return Response(status=204)
