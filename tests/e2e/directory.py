"""Build a small directory through the real API, as an administrator would."""
import uuid
from datetime import datetime, timezone

import pyotp
import requests

from concord_common.context import SYSTEM
from tests import support

PASSWORD = "correct-horse-battery-staple-42"


class Api:
    """A signed-in client of the gateway."""

    def __init__(self, url: str, token: str | None = None):
        self.url, self.token = url, token

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kw):
        return requests.get(self.url + path, headers=self.headers(), timeout=15, **kw)

    def post(self, path, json=None, **kw):
        return requests.post(self.url + path, json=json, headers=self.headers(), timeout=15, **kw)

    def patch(self, path, json=None, headers=None, **kw):
        return requests.patch(self.url + path, json=json, headers={**self.headers(), **(headers or {})},
                              timeout=15, **kw)

    def delete(self, path, **kw):
        return requests.delete(self.url + path, headers=self.headers(), timeout=15, **kw)

    def ok(self, response, status=200):
        assert response.status_code == status, response.text
        return response.json() if response.content else None


_used_steps: dict[str, int] = {}     # secret -> the TOTP step of the last code sent (the service takes each once)


def next_code(secret: str) -> str:
    """A code the service has not taken yet: the current one, or the one after (it allows a step of drift)."""
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(datetime.now(timezone.utc)), _used_steps.get(secret, -1) + 1)
    _used_steps[secret] = step
    return totp.generate_otp(step)


def sign_in(url, username, password=PASSWORD, otp_secret=None) -> Api:
    body = {"username": username, "password": password}
    if otp_secret:
        body["otp"] = next_code(otp_secret)
    response = requests.post(url + "/api/v1/sessions", json=body, timeout=15)
    assert response.status_code == 201, response.text
    return Api(url, response.json()["token"])


def bootstrap_admin(url, permissions_config, username="root") -> Api:
    """`concord admin create`, then the MFA enrolment the operators' organisation requires."""
    with support.rpc_as(permissions_config, SYSTEM, timeout=30) as rpc:
        rpc.permissions.admin_create(username, PASSWORD)
    first = sign_in(url, username)
    enrolment = first.ok(first.post("/api/v1/me/mfa"), 201)
    first.ok(first.post("/api/v1/me/mfa/confirm", {"otp": next_code(enrolment["secret"])}))
    admin = sign_in(url, username, otp_secret=enrolment["secret"])
    admin.otp_secret = enrolment["secret"]
    return admin


class Directory:
    """One organisation (no MFA) with two teams and a few people in them."""

    def __init__(self, url, admin: Api, name=None, require_mfa=False):
        self.url, self.admin = url, admin
        suffix = uuid.uuid4().hex[:6]
        self.org = admin.ok(admin.post("/api/v1/organisations", {
            "name": name or f"Test Force {suffix}", "type": "police", "area": "West Yorkshire",
            "require_mfa": require_mfa}), 201)
        self.hub = self.team("Safeguarding Hub")
        self.npt = self.team("Neighbourhood Team")
        self.suffix = suffix

    def team(self, name):
        return self.admin.ok(self.admin.post(f"/api/v1/organisations/{self.org['id']}/teams", {"name": name}), 201)

    def user(self, handle, teams, roles=()):
        username = f"{handle}.{self.suffix}"
        return self.admin.ok(self.admin.post("/api/v1/users", {
            "username": username, "display_name": handle.title(), "email": f"{username}@example.org",
            "password": PASSWORD, "organisation_id": self.org["id"],
            "teams": [{"team_id": team["id"], "role": role} for team, role in teams], "roles": list(roles)}), 201)
