"""The demo's morning at the MASH (docs/mash.md): referrals in every state, through the gateway like any client.
Idempotent: it seeds only while the Leeds MASH has no open referral (so running it again changes nothing).

Received (a school's, about a new person); triaged red (police, about Jordan Avery); amber with research
outstanding (asked of the school); green with research answered (asked of housing); decided with a case opened
(the hospital's, about Elsie Marsh: an adult safeguarding enquiry)."""
import requests

WORKER = "l.okoro"               # a practitioner of the Leeds MASH
MASH = ("Leeds City Council", "Leeds MASH")     # named in every referral: a partnership may have more than one
REFERRER = {"pc.khan": ("PC Aisha Khan", "West Yorkshire Police", "aisha.khan@westyorkshire.police.example"),
            "k.robinson": ("Kyle Robinson", "Park View Academy", "0113 496 0101"),
            "b.atkinson": ("Ben Atkinson", "Leeds Teaching Hospitals NHS Trust", "0113 496 0202")}
# (who refers, subject: profile key or person details, category, concerns, triage, research, decision)
MORNING = [
    ("k.robinson", {"given_name": "Tyler", "family_name": "Grant", "date_of_birth": "2014-11-05"}, "child",
     "Tyler arrived hungry for the third day running and says there is no food at home.", None, None, None),
    ("pc.khan", "jordan-avery", "child",
     "Jordan (16) found at 2am in a car with two adult men not known to the family; CSE indicators.",
     ("red", "CSE indicators and a night-time missing episode."), None, None),
    ("pc.khan", "kayla-avery", "child",
     "Domestic incident at 14 Chapel Street; Kayla (13) was present.",
     ("amber", "Child present at domestic abuse; no injury reported."),
     ("Park View Academy", "Pastoral Team", "Any concerns about Kayla's attendance or presentation?", None), None),
    ("k.robinson", {"given_name": "Leo", "family_name": "Marsden", "date_of_birth": "2018-02-14"}, "child",
     "Leo's mother disclosed she is struggling after losing her tenancy.",
     ("green", "Family engaging; needs support rather than protection."),
     ("Leeds Homes Housing Association", "Tenancy Enforcement", "Is the family known to you?",
      ("z.ahmed", "Rent arrears since June; a notice was served in September.")), None),
    ("b.atkinson", "elsie-marsh-nhs", "adult",
     "Elsie (85, dementia) brought to A&E after being found wandering at night; bruising to both arms.",
     ("red", "Adult with care and support needs; unexplained bruising."),
     ("Leeds Teaching Hospitals NHS Trust", "Safeguarding Adults", "Previous attendances?",
      ("dr.rahman", "Two falls this year; no earlier safeguarding concerns.")),
     ("adult_safeguarding_enquiry", "Section 42 duty met: care and support needs and risk of abuse.",
      "missing_vulnerable")),
]


def _ok(answer, status=200):
    if answer.status_code != status:
        raise RuntimeError(f"MASH demo: {answer.request.method} {answer.request.url} → {answer.status_code} "
                           f"{answer.text[:300]}")
    return answer.json()


def _team_id(url, headers, organisation_name, team_name):
    for organisation in _ok(requests.get(url + "/api/v1/organisations", headers=headers, timeout=15))["items"]:
        if organisation["name"] == organisation_name:
            full = _ok(requests.get(f"{url}/api/v1/organisations/{organisation['id']}", headers=headers, timeout=15))
            return next(team["id"] for team in full["teams"] if team["name"] == team_name)
    raise RuntimeError(f"MASH demo: no team {team_name} in {organisation_name}")


def seed_mash(url: str, ids: dict, signed_in) -> None:
    worker = signed_in(url, WORKER)
    try:
        if _ok(requests.get(url + "/api/v1/mash/referrals", headers=worker, timeout=15))["items"]:
            return
        mash_team_id = _team_id(url, worker, *MASH)
        for who, subject, category, concerns, triage, research, decision in MORNING:
            referrer = signed_in(url, who)
            name, organisation, contact = REFERRER[who]
            made = _ok(requests.post(url + "/api/v1/mash/referrals", headers=referrer, timeout=15, json={
                "subject": {"profile_id": ids[subject]} if isinstance(subject, str) else subject,
                "category": category, "concerns": concerns, "mash_team_id": mash_team_id,
                "referrer": {"name": name, "organisation": organisation, "contact": contact}}), 201)
            requests.delete(url + "/api/v1/sessions/current", headers=referrer, timeout=15)
            base = f"{url}/api/v1/mash/referrals/{made['id']}"
            if triage:
                _ok(requests.post(base + "/triage", headers=worker, timeout=15,
                                  json={"rag": triage[0], "rationale": triage[1]}))
            if research:
                organisation_name, team_name, question, answer = research
                asked = _ok(requests.post(base + "/research-requests", headers=worker, timeout=15, json={
                    "team_id": _team_id(url, worker, organisation_name, team_name), "question": question}), 201)
                if answer:
                    answerer = signed_in(url, answer[0])
                    _ok(requests.post(f"{url}/api/v1/research-requests/{asked['id']}/respond", headers=answerer,
                                      timeout=15, json={"information": answer[1]}))
                    requests.delete(url + "/api/v1/sessions/current", headers=answerer, timeout=15)
            if decision:
                _ok(requests.post(base + "/decision", headers=worker, timeout=15, json={
                    "outcome": decision[0], "rationale": decision[1], "open_case": {"case_type": decision[2]}}))
    finally:
        requests.delete(url + "/api/v1/sessions/current", headers=worker, timeout=15)
