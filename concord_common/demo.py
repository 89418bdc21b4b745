"""The demo data set `make run` loads: a directory (through the permissions
service, as the system), some profiles and cases (through the gateway, signed in
as a demo practitioner, like any client)."""
import os
import time
from datetime import datetime, timedelta, timezone

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
        "mary-holt": {"kind": "person", "given_name": "Mary", "family_name": "Holt", "gender": "female",
                      "date_of_birth": "1958-03-14", "roles": ["victim"],
                      "addresses": [{"line1": "5 Canal Wharf", "town": "Leeds", "postcode": "LS11 5PS"}]},
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
# Cases, opened by the demo practitioner's team (they hold the profiles); found again by title, so seeding twice
# opens nothing twice. "participants": (profile key, role) or ("family", role) for the Avery family.
DEMO_CASES = [
    {"case_type": "asb", "title": "Okafor household: noise, threats and disorder at The Red Lion", "priority": "high",
     "summary": "Repeated late-night noise at 3 Canal Wharf; threats to neighbours; disorder outside The Red Lion "
                "after closing. Joint case with the council's ASB team.",
     "participants": [("sam-okafor", "perpetrator"), ("red-lion", "premises_of_concern"),
                      ("mary-holt", "complainant")],
     "share_with": "r.moore",
     # The ASB toolkit (docs/asb.md): a CPW issued and breached, then a CPN (expiring within the month);
     # three complaints from Mary Holt within six months raise a Community Trigger activation.
     "powers": [{"power": "cpw", "against": "sam-okafor", "status": "issued", "served_days_ago": 60,
                 "conditions": "No amplified music at 3 Canal Wharf after 11pm.",
                 "breach": {"days_ago": 35, "detail": "Loud music at 1am; two neighbours complained.",
                            "action_taken": "Community Protection Notice to be served."}},
                {"power": "cpn", "against": "sam-okafor", "status": "issued", "served_days_ago": 30,
                 "expires_in_days": 20,
                 "conditions": "No amplified music at 3 Canal Wharf after 11pm; no gatherings in the yard."}],
     "complaints": [("mary-holt", 80, "Music and shouting until 3am."),
                    ("mary-holt", 40, "Threatened when she asked them to turn the music down."),
                    ("mary-holt", 5, "Group fighting outside The Red Lion after closing.")],
     "notes": [("contact", "Visited 3 Canal Wharf with the council ASB officer; Mr Okafor refused to engage."),
               ("decision", "Community Protection Warning to be considered at the next ASB panel."),
               ("third_party", "Licensee of The Red Lion reports the same group leaving at closing most "
                               "Fridays.")]},
    {"case_type": "iom", "title": "IOM: Dean Avery, worked with his family", "priority": "high",
     "summary": "Prolific offender in custody until spring; the children's school and social care are involved. "
                "Worked as a family: resettlement plan before release.",
     "participants": [("dean-avery", "offender"), ("family", "household_member")],
     "notes": [("meeting", "IOM panel: agreed resettlement plan; probation to lead licence conditions."),
               ("update", "Jordan's CSE risk noted: exploitation team informed.")]},
    {"case_type": "missing_vulnerable", "title": "Elsie Marsh: Herbert Protocol, missing episodes",
     "priority": "critical",
     "summary": "Elsie (dementia) has left home twice this month. Herbert Protocol details are on her profile.",
     "participants": [("elsie-marsh", "subject")],
     "notes": [("contact", "Found at Kirkgate Market by a stallholder, returned home safe and well."),
               ("decision", "GPS locator offered to her daughter; adult social care referral made.")]},
]
# Risk assessments on demo cases (by title), made by the demo practitioner when the case is opened; one signed off
# by her team's supervisor, one left awaiting sign-off.
DEMO_RISK = {
    DEMO_CASES[0]["title"]: {"template": "matrix_5x5", "answers": {"likelihood": 4, "impact": 4},
                             "review_on_days": 28, "signed_off_by": "insp.shah"},
    DEMO_CASES[1]["title"]: {"template": "matrix_5x5", "answers": {"likelihood": 3, "impact": 3},
                             "review_on_days": 90},
}
# Actions on the demo cases (issue 13), set when a case is opened: (title, for whose team (None: the demo
# practitioner's own), due in days (negative: already overdue, set through the operators' RPC), priority).
DEMO_ACTIONS = {
    "asb": [("Serve a Community Protection Warning on Mr Okafor", "r.moore", 7, "high"),
            ("Speak to the licensee about dispersal at closing time", None, -3, "medium"),
            ("Ask licensing to review The Red Lion's conditions", "r.moore", 14, "medium")],
    "iom": [("Check Dean's licence conditions with probation before release", None, 10, "high")],
    "missing_vulnerable": [("Update Elsie's Herbert Protocol photo with her daughter", None, 2, "critical")],
}
CASE_LAWFUL_BASIS = "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115 (information sharing)"


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
    family_id = next(family["id"] for family in requests.get(
        f"{url}/api/v1/profiles/{ids['dean-avery']}/families", headers=headers, timeout=15).json()["items"]
        if family["name"] == DEMO_FAMILY["name"])
    seed_cases(url, headers, ids, family_id, system_rpc)
    seed_meetings(url, headers, ids)
    requests.delete(url + "/api/v1/sessions/current", headers=headers, timeout=15)
    from concord_common.demo_mash import seed_mash       # issue 15: a morning at the MASH
    seed_mash(url, ids, _signed_in)
    return users


def _team_of(url: str, username: str) -> str:
    headers = _signed_in(url, username)
    me = requests.get(url + "/api/v1/me", headers=headers, timeout=15)
    me.raise_for_status()
    requests.delete(url + "/api/v1/sessions/current", headers=headers, timeout=15)
    return me.json()["teams"][0]["id"]


def seed_cases(url: str, headers: dict, ids: dict, family_id: str, system_rpc=None) -> None:
    """The demo cases, each opened once: one whose title is already on the first participant's cases is kept."""
    for demo_case in DEMO_CASES:
        first = ids[demo_case["participants"][0][0]]
        known = requests.get(f"{url}/api/v1/profiles/{first}/cases", headers=headers, timeout=15)
        known.raise_for_status()
        if any(item.get("title") == demo_case["title"] for item in known.json()["items"]):
            continue
        participants = [{"family_id": family_id, "role": role} if key == "family" else
                        {"profile_id": ids[key], "role": role} for key, role in demo_case["participants"]]
        opened = requests.post(url + "/api/v1/cases", headers=headers, timeout=15, json={
            "case_type": demo_case["case_type"], "title": demo_case["title"], "summary": demo_case["summary"],
            "priority": demo_case["priority"], "participants": participants})
        opened.raise_for_status()
        case_id = opened.json()["id"]
        for kind, text in demo_case["notes"]:
            requests.post(f"{url}/api/v1/cases/{case_id}/notes", headers=headers, timeout=15,
                          json={"kind": kind, "text": text}).raise_for_status()
        if demo_case["title"] in DEMO_RISK:
            _assess_risk(url, headers, case_id, DEMO_RISK[demo_case["title"]])
        seed_asb(url, headers, ids, case_id, demo_case)
        if demo_case.get("share_with"):
            requests.post(f"{url}/api/v1/cases/{case_id}/grants", headers=headers, timeout=15, json={
                "grantee_type": "team", "grantee_id": _team_of(url, demo_case["share_with"]), "level": "edit",
                "lawful_basis": CASE_LAWFUL_BASIS,
                "justification": "Joint ASB casework agreed at the community safety partnership."}
            ).raise_for_status()
        seed_actions(url, headers, case_id, DEMO_ACTIONS.get(demo_case["case_type"], ()), system_rpc)


def _assess_risk(url: str, headers: dict, case_id: str, risk: dict) -> None:
    review_on = (datetime.now(timezone.utc).date() + timedelta(days=risk["review_on_days"])).isoformat()
    made = requests.post(f"{url}/api/v1/cases/{case_id}/risk-assessments", headers=headers, timeout=15, json={
        "template": risk["template"], "answers": risk["answers"], "review_on": review_on})
    made.raise_for_status()
    if risk.get("signed_off_by"):
        supervisor = _signed_in(url, risk["signed_off_by"])
        requests.post(f"{url}/api/v1/risk-assessments/{made.json()['id']}/sign-off", headers=supervisor,
                      timeout=15).raise_for_status()
        requests.delete(url + "/api/v1/sessions/current", headers=supervisor, timeout=15)


def seed_asb(url: str, headers: dict, ids: dict, case_id: str, demo_case: dict) -> None:
    """A newly opened demo case's ASB powers (each with its breach) and complaints (docs/asb.md)."""
    from datetime import date, timedelta
    today = date.today()
    for power in demo_case.get("powers", ()):
        body = {"power": power["power"], "profile_id": ids[power["against"]], "status": power["status"],
                "served_on": (today - timedelta(days=power["served_days_ago"])).isoformat(),
                "conditions": power["conditions"]}
        if power.get("expires_in_days"):
            body["expires_on"] = (today + timedelta(days=power["expires_in_days"])).isoformat()
        made = requests.post(f"{url}/api/v1/cases/{case_id}/powers", headers=headers, timeout=15, json=body)
        made.raise_for_status()
        if power.get("breach"):
            breach = power["breach"]
            requests.post(f"{url}/api/v1/powers/{made.json()['id']}/breaches", headers=headers, timeout=15, json={
                "occurred_on": (today - timedelta(days=breach["days_ago"])).isoformat(), "detail": breach["detail"],
                "action_taken": breach["action_taken"]}).raise_for_status()
    for who, days_ago, summary in demo_case.get("complaints", ()):
        requests.post(f"{url}/api/v1/cases/{case_id}/complaints", headers=headers, timeout=15, json={
            "complainant_profile_id": ids[who], "summary": summary,
            "received_on": (today - timedelta(days=days_ago)).isoformat()}).raise_for_status()


def seed_actions(url: str, headers: dict, case_id: str, items, system_rpc=None) -> None:
    """A new demo case's actions, across agencies; an overdue one only where the operators' RPC is at hand."""
    own_team = None
    for title, username, due_in, priority in items:
        if username is None and own_team is None:
            own_team = requests.get(url + "/api/v1/me", headers=headers, timeout=15).json()["teams"][0]["id"]
        body = {"title": title, "assignee": {"team_id": _team_of(url, username) if username else own_team},
                "priority": priority}
        if due_in < 0:
            if system_rpc is not None:
                system_rpc.cases.seed_demo_action(case_id, body, -due_in)
            continue
        due = (datetime.now(timezone.utc).date() + timedelta(days=due_in)).isoformat()
        requests.post(f"{url}/api/v1/cases/{case_id}/actions", headers=headers, timeout=15,
                      json={**body, "due": due}).raise_for_status()


# An ASB panel next week, chaired by the demo practitioner's team, the council's ASB team and the school's pastoral
# team invited, with the Okafor case on its agenda (so they may view it until 7 days after). Found again by title
# among the coming meetings, so seeding twice arranges nothing twice.
DEMO_MEETING = {"kind": "asb_panel", "title": "Leeds ASB panel", "location": "Civic Hall, committee room 2",
                "invite": ("r.moore", "k.robinson"), "agenda": DEMO_CASES[0]["title"]}


def seed_meetings(url: str, headers: dict, ids: dict) -> None:
    from datetime import datetime, timedelta, timezone
    coming = requests.get(url + "/api/v1/meetings", headers=headers, timeout=15)
    coming.raise_for_status()
    if any(meeting["title"] == DEMO_MEETING["title"] for meeting in coming.json()["items"]):
        return
    starts = (datetime.now(timezone.utc) + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    arranged = requests.post(url + "/api/v1/meetings", headers=headers, timeout=15, json={
        "kind": DEMO_MEETING["kind"], "title": DEMO_MEETING["title"], "starts_at": starts.isoformat(),
        "location": DEMO_MEETING["location"], "chair_team_id": _team_of(url, DEMO_SIGN_IN),
        "attendees": [{"team_id": _team_of(url, username)} for username in DEMO_MEETING["invite"]]})
    arranged.raise_for_status()
    cases = requests.get(f"{url}/api/v1/profiles/{ids['sam-okafor']}/cases", headers=headers, timeout=15)
    cases.raise_for_status()
    okafor = next(case for case in cases.json()["items"] if case.get("title") == DEMO_MEETING["agenda"])
    requests.post(f"{url}/api/v1/meetings/{arranged.json()['id']}/agenda", headers=headers, timeout=15,
                  json={"case_id": okafor["id"], "lawful_basis": CASE_LAWFUL_BASIS}).raise_for_status()
