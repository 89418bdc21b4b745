"""The demo data set `make run` loads: a directory (through the permissions
service, as the system) and some profiles (through the gateway, signed in as a
demo practitioner, like any client)."""
import os
import time

import requests


DEMO_PASSWORD = "concord-demo-password"
DEMO_SIGN_IN = "pc.khan"   # a practitioner in West Yorkshire Police's Safeguarding Hub
DEMO_PROFILES = [
    {"kind": "person", "given_name": "Jordan", "family_name": "Avery", "date_of_birth": "2010-04-17"},
    {"kind": "person", "given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1984-09-02"},
    {"kind": "person", "given_name": "Elsie", "family_name": "Marsh", "date_of_birth": "1941-01-30"},
    {"kind": "premises", "name": "The Red Lion, 12 High Street, Leeds"},
]


def gateway_url() -> str:
    return "http://" + os.environ.get("GATEWAY_ADDRESS", "127.0.0.1:8080")


def wait_ready(url: str, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(url + "/readyz", timeout=5)
            if response.status_code == 200:
                return True
            last = response.json().get("detail", response.status_code)
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    print(f"not ready after {timeout:g}s: {last}")
    return False


def _already_there(url: str, headers: dict, profile: dict) -> bool:
    """Does the demo user already see this profile in full (so seeding twice adds nothing)?"""
    name = profile.get("name") or f"{profile['given_name']} {profile['family_name']}"
    found = requests.get(url + "/api/v1/profiles", params={"q": name}, headers=headers, timeout=15)
    found.raise_for_status()
    return any(item["access"] == "full" and item["display_name"] == name for item in found.json()["items"])


def seed(url: str, system_rpc) -> list[dict]:
    """Idempotent: the directory is seeded by name, the profiles if the demo user does not see them yet."""
    users = system_rpc.permissions.seed_demo()["users"]
    session = requests.post(url + "/api/v1/sessions", timeout=15,
                            json={"username": DEMO_SIGN_IN, "password": DEMO_PASSWORD})
    session.raise_for_status()
    headers = {"Authorization": "Bearer " + session.json()["token"]}
    for profile in DEMO_PROFILES:
        if not _already_there(url, headers, profile):
            requests.post(url + "/api/v1/profiles", json=profile, headers=headers, timeout=15).raise_for_status()
    requests.delete(url + "/api/v1/sessions/current", headers=headers, timeout=15)
    return users
