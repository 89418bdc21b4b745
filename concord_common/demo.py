"""The demo data set `make run` loads: a directory (through the permissions
service, as the system) and some profiles (through the gateway, signed in as a
demo practitioner, like any client)."""
import os
import time

import requests


DEMO_PASSWORD = "concord-demo-password"
DEMO_SIGN_IN = "pc.khan"   # a practitioner in West Yorkshire Police's Safeguarding Hub
# Profiles by who creates them (so others' records show as signposts). Keys are the demo's own
# external references: seeding PUTs by external reference, so running it again changes nothing.
HERBERT = {"description": "Small, white hair, walks with a stick", "life_history": "Worked 40 years at Burton's mill",
           "places_they_may_go": ["Roundhay Park", "Kirkgate Market", "her old house on Chapel Street"],
           "medication_and_needs": "Donepezil; needs her glasses and hearing aid"}
DEMO_PROFILES = {
    DEMO_SIGN_IN: {
        "jordan-avery": {"kind": "person", "given_name": "Jordan", "family_name": "Avery", "gender": "male",
                         "date_of_birth": "2010-04-17", "roles": ["victim"], "flags": ["cse_risk"],
                         "identifiers": [{"scheme": "nhs_number", "value": "943 476 5919"}],
                         "addresses": [{"line1": "14 Chapel Street", "town": "Leeds", "postcode": "LS9 8AA",
                                        "from": "2019-06-01"}]},
        "kayla-avery": {"kind": "person", "given_name": "Kayla", "family_name": "Avery", "gender": "female",
                        "date_of_birth": "2013-08-21",
                        "addresses": [{"line1": "14 Chapel Street", "town": "Leeds", "postcode": "LS9 8AA"}]},
        "dean-avery": {"kind": "person", "given_name": "Dean", "family_name": "Avery", "gender": "male",
                       "date_of_birth": "1986-02-11", "roles": ["perpetrator"],
                       "flags": ["parent_in_prison", "domestic_abuse"],
                       "identifiers": [{"scheme": "pnc_id", "value": "2004/0123456X"}]},
        "sam-okafor": {"kind": "person", "given_name": "Sam", "family_name": "Okafor", "gender": "male",
                       "date_of_birth": "1984-09-02", "roles": ["perpetrator"], "flags": ["risk_to_staff"],
                       "aliases": [{"given_name": "Samuel", "family_name": "Okafor"}],
                       "addresses": [{"line1": "3 Canal Wharf", "town": "Leeds", "postcode": "LS11 5PS"}]},
        "sammy-okafor": {"kind": "person", "given_name": "Sammy", "family_name": "Okafor",
                         "date_of_birth": "1984-09-02",
                         "addresses": [{"line1": "3 Canal Wharf", "town": "Leeds", "postcode": "LS11 5PS"}]},
        "elsie-marsh": {"kind": "person", "given_name": "Elsie", "family_name": "Marsh", "gender": "female",
                        "date_of_birth": "1941-01-30", "roles": ["subject"],
                        "flags": ["vulnerable_adult", {"flag": "dementia", "detail": HERBERT}],
                        "addresses": [{"line1": "22 Roundhay Road", "town": "Leeds", "postcode": "LS8 5AN"}]},
        "red-lion": {"kind": "premises", "name": "The Red Lion", "premises_type": "licensed_premises",
                     "address": {"line1": "12 High Street", "town": "Leeds", "postcode": "LS1 6HQ"}},
    },
    "k.robinson": {     # a school's record of the same boy: a signpost (and a likely duplicate) to the police
        "jordon-avery": {"kind": "person", "given_name": "Jordon", "family_name": "Avery",
                         "date_of_birth": "2010-04-17", "identifiers": [{"scheme": "upn", "value": "H801200001001"}]},
    },
    "b.atkinson": {     # the hospital knows Elsie by her NHS number
        "elsie-marsh-nhs": {"kind": "person", "given_name": "Elsie", "family_name": "Marsh",
                            "date_of_birth": "1941-01-30", "flags": ["mental_health"],
                            "identifiers": [{"scheme": "nhs_number", "value": "943 476 5870"}]},
    },
}
DEMO_FAMILY = {"name": "Avery family", "members": [("dean-avery", "parent"), ("jordan-avery", "child"),
                                                   ("kayla-avery", "child")]}
LINKED_TO_PREMISES = {"red-lion": ["sam-okafor"]}


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


def _signed_in(url: str, username: str) -> dict:
    session = requests.post(url + "/api/v1/sessions", timeout=15,
                            json={"username": username, "password": DEMO_PASSWORD})
    session.raise_for_status()
    return {"Authorization": "Bearer " + session.json()["token"]}


def _put(url: str, headers: dict, key: str, body: dict) -> dict:
    answer = requests.put(f"{url}/api/v1/profiles/by-external-ref/concord-demo/{key}", json=body, headers=headers,
                          timeout=15)
    answer.raise_for_status()
    return answer.json()


def seed(url: str, system_rpc) -> list[dict]:
    """Idempotent: the directory is seeded by name, profiles by their demo external reference, the family
    only if Dean is in none of that name."""
    users = system_rpc.permissions.seed_demo()["users"]
    ids = {}
    for username, profiles in DEMO_PROFILES.items():
        headers = _signed_in(url, username)
        for key, body in profiles.items():
            ids[key] = _put(url, headers, key, body)["id"]
        requests.delete(url + "/api/v1/sessions/current", headers=headers, timeout=15)
    headers = _signed_in(url, DEMO_SIGN_IN)
    for premises, people in LINKED_TO_PREMISES.items():
        _put(url, headers, premises, {**DEMO_PROFILES[DEMO_SIGN_IN][premises],
                                      "linked_people": [ids[key] for key in people]})
    families = requests.get(f"{url}/api/v1/profiles/{ids['dean-avery']}/families", headers=headers, timeout=15)
    families.raise_for_status()
    if not any(family["name"] == DEMO_FAMILY["name"] for family in families.json()["items"]):
        requests.post(url + "/api/v1/families", headers=headers, timeout=15, json={
            "name": DEMO_FAMILY["name"],
            "members": [{"profile_id": ids[key], "role": role} for key, role in DEMO_FAMILY["members"]]},
        ).raise_for_status()
    requests.delete(url + "/api/v1/sessions/current", headers=headers, timeout=15)
    return users
