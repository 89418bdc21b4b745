"""Cases through the gateway: case types, open/read/change/close/reopen, participants, notes, links, the
timeline, lists with filters and signposts, events for the audit log and notifications — and each item of
the issue's "Bad input" list."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.support import unique_surname, wait_for

LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint ASB casework agreed at the community safety partnership."


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_cases") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    police = Directory(url, admin, name=f"West Yorkshire Police {uuid.uuid4().hex[:6]}")
    council = Directory(url, admin, name=f"Leeds City Council {uuid.uuid4().hex[:6]}")
    people = {"lead": police.user("lead", [(police.hub, "practitioner")]),
              "colleague": police.user("colleague", [(police.hub, "supervisor")]),
              "other team": police.user("npt", [(police.npt, "practitioner")]),
              "council": council.user("asb", [(council.hub, "practitioner")]),
              "two teams": police.user("both", [(police.hub, "practitioner"), (police.npt, "practitioner")])}
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["admin"] = admin
    return {"url": url, "admin": admin, "police": police, "council": council, "apis": apis, "people": people}


def person(api, given="Sam", surname=None, **extra):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": given,
                                                 "family_name": surname or unique_surname(), **extra}), 201)


def open_case(api, **body):
    return api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise and threats, Canal Wharf",
                                              **body}), 201)


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


# -- case types ----------------------------------------------------------------------------------------------
def test_the_twelve_case_types_are_shipped_as_data(world):
    api = world["apis"]["lead"]
    items = api.ok(api.get("/api/v1/case-types"))["items"]
    codes = {item["code"] for item in items}
    assert {"asb", "iom", "supporting_families", "exploitation", "gangs_violence", "domestic_abuse", "hate_crime",
            "stalking_harassment", "missing_vulnerable", "licensing", "education", "complex_case"} <= codes
    asb = next(item for item in items if item["code"] == "asb")
    assert asb["label"] == "Anti-social behaviour" and asb["review_days"] == 28
    assert "premises_of_concern" in asb["participant_roles"] and "asb_vulnerability" in asb["risk_templates"]


def test_only_system_admins_add_and_change_case_types(world):
    code = f"fly_tipping_{uuid.uuid4().hex[:4]}"
    body = {"code": code, "label": "Fly-tipping", "participant_roles": ["subject", "witness"],
            "risk_templates": ["matrix_5x5"], "review_days": 14, "reference_prefix": "FT" + "X" * 0}
    assert world["apis"]["lead"].post("/api/v1/case-types", body).status_code == 403
    admin = world["admin"]
    prefix = "".join(chr(65 + int(ch, 16) % 26) for ch in uuid.uuid4().hex[:4])
    created = admin.ok(admin.post("/api/v1/case-types", {**body, "reference_prefix": prefix}), 201)
    assert created["reference_prefix"] == prefix and created["active"] is True
    assert problem(admin.post("/api/v1/case-types", {**body, "reference_prefix": prefix}), 409)
    bad = problem(admin.post("/api/v1/case-types", {"code": "X", "label": "", "participant_roles": ["boss"],
                                                    "review_days": 0}), 422)["errors"]
    assert {"code", "label", "participant_roles.0", "review_days"} <= set(bad)
    changed = admin.ok(admin.patch(f"/api/v1/case-types/{code}", {"review_days": 21}))
    assert changed["review_days"] == 21
    assert world["apis"]["lead"].patch(f"/api/v1/case-types/{code}", {"review_days": 7}).status_code == 403
    assert admin.patch("/api/v1/case-types/no_such_type", {"review_days": 7}).status_code == 404
    lead = world["apis"]["lead"]
    case = open_case(lead, case_type=code)
    assert case["reference"].startswith(f"{prefix}-")
    admin.ok(admin.patch(f"/api/v1/case-types/{code}", {"active": False}))
    assert "case_type" in problem(lead.post("/api/v1/cases", {"case_type": code, "title": "x"}), 422)["errors"]


# -- a case ----------------------------------------------------------------------------------------------------
def test_open_read_change_close_and_reopen_a_case(world):
    lead = world["apis"]["lead"]
    response = lead.post("/api/v1/cases", {"case_type": "asb", "title": "Noise and threats, Canal Wharf",
                                           "summary": "Repeated late-night noise; threats to neighbours.",
                                           "priority": "high"})
    case = response.json()
    assert response.status_code == 201 and response.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert response.headers["ETag"] == '"1"'
    from datetime import date, timedelta
    year = date.today().year
    assert case["reference"].startswith(f"ASB-{year}-") and len(case["reference"]) == len("ASB-2026-000042")
    assert case["status"] == "open" and case["priority"] == "high" and case["outcome"] is None
    assert case["review_due"] == (date.today() + timedelta(days=28)).isoformat() and not case["review_overdue"]
    assert case["owner"] == {"organisation_id": world["police"].org["id"], "team_id": world["police"].hub["id"]}
    assert case["access"] == "full" and case["participants"] == [] and case["version"] == 1

    again = lead.ok(lead.get(f"/api/v1/cases/{case['id']}"))
    assert again["reference"] == case["reference"] and again["linked_cases"] == []

    path = f"/api/v1/cases/{case['id']}"
    assert problem(lead.patch(path, {"priority": "critical"}), 428)
    assert problem(lead.patch(path, {"priority": "critical"}, {"If-Match": '"7"'}), 412)
    changed = lead.ok(lead.patch(path, {"priority": "critical", "review_due": "2020-01-01"}, {"If-Match": '"1"'}))
    assert changed["priority"] == "critical" and changed["version"] == 2 and changed["review_overdue"] is True
    assert problem(lead.patch(path, {"priority": "urgent"}, {"If-Match": '"2"'}), 422)["errors"]["priority"]

    assert "outcome" in problem(lead.post(path + "/close", {"note": "Done"}), 422)["errors"]
    assert "outcome" in problem(lead.post(path + "/close", {"outcome": "sorted"}), 422)["errors"]
    closed = lead.ok(lead.post(path + "/close", {"outcome": "resolved", "note": "Tenancy warning complied with."}))
    assert closed["status"] == "closed" and closed["outcome"] == "resolved" and closed["closed_at"]
    assert closed["review_overdue"] is False
    assert problem(lead.post(path + "/close", {"outcome": "resolved"}), 409)
    assert "reason" in problem(lead.post(path + "/reopen", {}), 422)["errors"]
    reopened = lead.ok(lead.post(path + "/reopen", {"reason": "New complaints from two neighbours."}))
    assert reopened["status"] == "open" and reopened["outcome"] is None and reopened["closed_at"] is None
    assert reopened["review_due"] == (date.today() + timedelta(days=28)).isoformat()
    assert problem(lead.post(path + "/reopen", {"reason": "Again please."}), 409)
    notes = lead.ok(lead.get(path + "/notes"))["items"]
    assert [n["text"] for n in notes] == ["Tenancy warning complied with."] and notes[0]["kind"] == "decision"


def test_unknown_case_type_and_bad_fields_are_named(world):
    lead = world["apis"]["lead"]
    errors = problem(lead.post("/api/v1/cases", {"case_type": "parking", "title": "x"}), 422)["errors"]
    assert list(errors) == ["case_type"]
    errors = problem(lead.post("/api/v1/cases", {"title": "", "priority": "urgent", "restricted": "yes"}),
                     422)["errors"]
    assert {"case_type", "title", "priority", "restricted"} <= set(errors)
    assert problem(requests.post(world["url"] + "/api/v1/cases", data="{not json", headers=lead.headers()), 400)
    two = world["apis"]["two teams"]
    assert "owner_team_id" in problem(two.post("/api/v1/cases", {"case_type": "asb", "title": "x"}), 422)["errors"]
    chosen = open_case(two, owner_team_id=world["police"].npt["id"])
    assert chosen["owner"]["team_id"] == world["police"].npt["id"]


def test_references_are_unique_when_cases_are_opened_at_once(world):
    lead = world["apis"]["lead"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: lead.post("/api/v1/cases", {"case_type": "hate_crime",
                                                                        "title": f"Graffiti {n}"}), range(16)))
    assert all(answer.status_code == 201 for answer in answers), [a.text for a in answers if a.status_code != 201]
    numbers = sorted(int(answer.json()["reference"].rsplit("-", 1)[1]) for answer in answers)
    assert numbers == list(range(numbers[0], numbers[0] + 16)), "unique and without gaps"


# -- participants ------------------------------------------------------------------------------------------------
def test_participants_people_premises_and_a_family(world):
    lead = world["apis"]["lead"]
    surname = unique_surname()
    father = person(lead, "Dean", surname)
    son = person(lead, "Jordan", surname, date_of_birth="2010-04-17")
    daughter = person(lead, "Kayla", surname, date_of_birth="2013-08-21")
    pub = lead.ok(lead.post("/api/v1/profiles", {"kind": "premises", "name": f"The {surname} Arms", "address": {
        "line1": "12 High Street", "town": "Leeds", "postcode": "LS1 6HQ"}}), 201)
    family = lead.ok(lead.post("/api/v1/families", {"name": f"{surname} family", "members": [
        {"profile_id": father["id"], "role": "parent"}, {"profile_id": son["id"], "role": "child"},
        {"profile_id": daughter["id"], "role": "child"}]}), 201)
    case = lead.ok(lead.post("/api/v1/cases", {"case_type": "iom", "title": f"IOM: Dean {surname}", "participants": [
        {"profile_id": father["id"], "role": "offender"}, {"family_id": family["id"], "role": "household_member"}]}),
        201)
    roles = {(p["display_name"], p["role"], p["family_role"]) for p in case["participants"]}
    assert roles == {(f"Dean {surname}", "offender", None), (f"Jordan {surname}", "household_member", "child"),
                     (f"Kayla {surname}", "household_member", "child")}
    assert all(p["added_at"] and p["ended_at"] is None for p in case["participants"])

    path = f"/api/v1/cases/{case['id']}/participants"
    errors = problem(lead.post(path, {"profile_id": pub["id"], "role": "premises_of_concern"}), 422)["errors"]
    assert list(errors) == ["role"], "an IOM case takes no premises of concern"
    assert list(problem(lead.post(path, {"profile_id": pub["id"], "role": "landlord"}), 422)["errors"]) == ["role"]
    assert problem(lead.post(path, {"role": "carer"}), 422)["errors"]["profile_id"]
    assert problem(lead.post(path, {"profile_id": son["id"], "role": "household_member"}), 409)
    with_carer = lead.ok(lead.post(path, {"profile_id": son["id"], "role": "young_person"}), 201)
    assert len(with_carer["participants"]) == 4
    kayla = next(p for p in with_carer["participants"] if p["profile_id"] == daughter["id"])
    assert lead.delete(f"{path}/{kayla['id']}").status_code == 204
    assert lead.delete(f"{path}/{kayla['id']}").status_code == 404
    ended = next(p for p in lead.ok(lead.get(f"/api/v1/cases/{case['id']}"))["participants"]
                 if p["id"] == kayla["id"])
    assert ended["ended_at"], "ended, and kept"

    asb = open_case(lead, participants=[{"profile_id": pub["id"], "role": "premises_of_concern"}])
    assert asb["participants"][0]["profile_kind"] == "premises"
    mine = lead.ok(lead.get(f"/api/v1/profiles/{pub['id']}/cases"))["items"]
    assert [item["id"] for item in mine] == [asb["id"]]


def test_a_participant_the_caller_may_not_see_is_404_and_nothing_is_created(world):
    lead, council = world["apis"]["lead"], world["apis"]["council"]
    theirs = person(council, "Ann")
    surname = unique_surname()
    before = lead.ok(lead.get("/api/v1/cases", params={"q": surname}))["items"]
    for participant in ({"profile_id": theirs["id"], "role": "victim"},
                        {"profile_id": str(uuid.uuid4()), "role": "victim"},
                        {"family_id": str(uuid.uuid4()), "role": "victim"}):
        unseen = lead.post("/api/v1/cases", {"case_type": "asb", "title": f"Case {surname}",
                                             "participants": [participant]})
        nothing = requests.get(world["url"] + f"/api/v1/cases/{uuid.uuid4()}", headers=lead.headers())
        assert (unseen.status_code, unseen.content) == (nothing.status_code, nothing.content) == (404, nothing.content)
    assert lead.ok(lead.get("/api/v1/cases", params={"q": surname}))["items"] == before == []
    case = open_case(lead)
    refused = lead.post(f"/api/v1/cases/{case['id']}/participants", {"profile_id": theirs["id"], "role": "victim"})
    assert refused.status_code == 404
    assert lead.ok(lead.get(f"/api/v1/cases/{case['id']}"))["participants"] == []


# -- notes, links, the timeline --------------------------------------------------------------------------------
def test_notes_sensitive_corrections_and_size(world):
    lead, colleague, council = world["apis"]["lead"], world["apis"]["colleague"], world["apis"]["council"]
    case = open_case(lead)
    path = f"/api/v1/cases/{case['id']}"
    lead.ok(lead.post(path + "/grants", {"grantee_type": "team", "grantee_id": world["council"].hub["id"],
                                         "level": "edit", "lawful_basis": LAWFUL, "justification": JUSTIFY}), 201)
    note = lead.ok(lead.post(path + "/notes", {"text": "Visited; tenant abusive at the door.", "kind": "contact",
                                               "occurred_at": "2026-01-05T10:00:00Z"}), 201)
    assert note["kind"] == "contact" and note["occurred_at"].startswith("2026-01-05T10:00")
    assert note["author"]["id"] == world["people"]["lead"]["id"] and note["author"]["display_name"] == "Lead"
    assert note["recorded_at"] and note["sensitive"] is False and note["corrects"] is None
    secret = lead.ok(lead.post(path + "/notes", {"text": "Informant: neighbour at no. 5.", "sensitive": True}), 201)
    assert problem(council.post(path + "/notes", {"text": "Ours", "sensitive": True}), 422)["errors"]["sensitive"]
    council.ok(council.post(path + "/notes", {"text": "Tenancy warning letter sent.", "kind": "update"}), 201)

    assert {n["id"] for n in colleague.ok(colleague.get(path + "/notes"))["items"]} >= {note["id"], secret["id"]}
    theirs = council.ok(council.get(path + "/notes"))["items"]
    assert secret["id"] not in {n["id"] for n in theirs} and note["id"] in {n["id"] for n in theirs}
    assert council.post(f"{path}/notes/{secret['id']}/corrections", {"text": "x", "reason": "typo"}).status_code \
        == 404
    assert "Informant" not in str(council.ok(council.get(path + "/timeline")))
    assert "Informant" in str(lead.ok(lead.get(path + "/timeline")))

    fixed = lead.ok(lead.post(f"{path}/notes/{note['id']}/corrections",
                              {"text": "Visited; tenant shouted at the door.", "reason": "Wrong word used"}), 201)
    assert fixed["corrects"] == note["id"] and fixed["kind"] == "contact"
    listed = {n["id"]: n for n in lead.ok(lead.get(path + "/notes"))["items"]}
    assert listed[note["id"]]["text"] == "Visited; tenant abusive at the door.", "never changed"
    assert listed[note["id"]]["corrected_by"] == [fixed["id"]]
    assert "reason" in problem(lead.post(f"{path}/notes/{note['id']}/corrections", {"text": "x"}), 422)["errors"]

    errors = problem(lead.post(path + "/notes", {"text": "x" * 20001}), 422)["errors"]
    assert list(errors) == ["text"]
    assert problem(lead.post(path + "/notes", {"text": "later", "occurred_at": "2999-01-01T00:00:00Z",
                                               "kind": "gossip"}), 422)["errors"].keys() == {"occurred_at", "kind"}


def test_links_only_between_cases_the_caller_can_see(world):
    lead, council = world["apis"]["lead"], world["apis"]["council"]
    first, second = open_case(lead), open_case(lead, case_type="hate_crime", title="Racist graffiti")
    link = lead.ok(lead.post(f"/api/v1/cases/{first['id']}/links", {"case_id": second["id"]}), 201)
    assert link["linked_case"]["reference"] == second["reference"]
    assert [c["id"] for c in lead.ok(lead.get(f"/api/v1/cases/{second['id']}"))["linked_cases"]] == [first["id"]]
    theirs = open_case(council)
    unseen = lead.post(f"/api/v1/cases/{first['id']}/links", {"case_id": theirs["id"]})
    nowhere = lead.post(f"/api/v1/cases/{first['id']}/links", {"case_id": str(uuid.uuid4())})
    assert (unseen.status_code, unseen.content) == (nowhere.status_code, nowhere.content)
    assert unseen.status_code == 404
    assert "case_id" in problem(lead.post(f"/api/v1/cases/{first['id']}/links", {"case_id": first["id"]}),
                                422)["errors"]


def test_the_timeline_is_one_chronology_newest_first_and_paged(world):
    lead = world["apis"]["lead"]
    subject = person(lead, "Tia")
    case = open_case(lead, participants=[{"profile_id": subject["id"], "role": "victim"}])
    path = f"/api/v1/cases/{case['id']}"
    for n in range(5):
        lead.ok(lead.post(path + "/notes", {"text": f"Note {n}"}), 201)
    lead.ok(lead.post(path + "/close", {"outcome": "no_further_action"}))
    first = lead.ok(lead.get(path + "/timeline", params={"limit": 4}))
    assert [item["kind"] for item in first["items"]] == ["closed", "note", "note", "note"]
    assert first["items"][1]["summary"] == "Update: Note 4" and first["items"][0]["by"]["display_name"] == "Lead"
    rest = lead.ok(lead.get(path + "/timeline", params={"limit": 4, "cursor": first["next_cursor"]}))
    assert [item["kind"] for item in rest["items"]] == ["note", "note", "participant_added", "opened"]
    assert rest["next_cursor"] is None
    assert problem(lead.get(path + "/timeline", params={"cursor": "nonsense!"}), 422)["errors"]["cursor"]


# -- lists --------------------------------------------------------------------------------------------------------
def test_lists_filter_in_sql_and_signpost_only_unrestricted_cases(world):
    lead, council, other = world["apis"]["lead"], world["apis"]["council"], world["apis"]["other team"]
    surname = unique_surname()
    shared = person(lead, "Rae", surname)
    for grantee in (world["council"].hub["id"],):
        lead.ok(lead.post(f"/api/v1/profiles/{shared['id']}/grants", {
            "grantee_type": "team", "grantee_id": grantee, "level": "view", "lawful_basis": LAWFUL,
            "justification": JUSTIFY}), 201)
    ours = open_case(lead, title=f"{surname} open", priority="high",
                     participants=[{"profile_id": shared["id"], "role": "victim"}])
    hidden = open_case(lead, title=f"{surname} restricted", restricted=True,
                       participants=[{"profile_id": shared["id"], "role": "victim"}])
    theirs = open_case(council, case_type="asb", title=f"{surname} council",
                       participants=[{"profile_id": shared["id"], "role": "victim"}])

    mine = lead.ok(lead.get("/api/v1/cases", params={"q": surname}))["items"]
    assert {(item["id"], item["access"]) for item in mine} == {(ours["id"], "full"), (hidden["id"], "full"),
                                                              (theirs["id"], "signpost")}
    signpost = next(item for item in mine if item["access"] == "signpost")
    assert set(signpost) == {"id", "access", "case_type", "status", "involved_organisations", "request_access"}
    assert signpost["involved_organisations"] == [{"organisation_id": world["council"].org["id"]}]

    seen_by_other_team = other.ok(other.get("/api/v1/cases", params={"q": surname}))["items"]
    assert {(i["id"], i["access"]) for i in seen_by_other_team} == {(ours["id"], "signpost"),
                                                                   (theirs["id"], "signpost")}, "restricted: never"
    by_person = council.ok(council.get(f"/api/v1/profiles/{shared['id']}/cases"))["items"]
    assert {(i["id"], i["access"]) for i in by_person} == {(theirs["id"], "full"), (ours["id"], "signpost")}
    assert other.get(f"/api/v1/profiles/{shared['id']}/cases").status_code == 404
    assert other.get(f"/api/v1/profiles/{uuid.uuid4()}/cases").content == \
        other.get(f"/api/v1/profiles/{shared['id']}/cases").content

    without_words = other.ok(other.get("/api/v1/cases"))["items"]
    assert not {ours["id"], theirs["id"], hidden["id"]} & {item["id"] for item in without_words}
    team = world["police"].hub["id"]
    filtered = lead.ok(lead.get("/api/v1/cases", params={"team_id": team, "priority": "high", "q": surname,
                                                         "status": "open"}))["items"]
    assert [item["id"] for item in filtered] == [ours["id"]]
    lead.ok(lead.patch(f"/api/v1/cases/{hidden['id']}", {"review_due": "2021-02-03"}, {"If-Match": '"1"'}))
    overdue = lead.ok(lead.get("/api/v1/cases", params={"review_overdue": "true", "q": surname}))["items"]
    assert [(item["id"], item["review_overdue"]) for item in overdue if item["access"] == "full"] == \
        [(hidden["id"], True)]
    assert problem(lead.get("/api/v1/cases", params={"status": "pending", "q": "x"}), 422)["errors"].keys() == \
        {"status", "q"}
    assert lead.ok(lead.get("/api/v1/cases", params={"q": "%_"}))["items"] == [], "% and _ are literal"
    paged = lead.ok(lead.get("/api/v1/cases", params={"q": surname, "limit": 2, "sort": "reference"}))
    assert len(paged["items"]) == 2 and paged["next_cursor"] == "2"


# -- events: audit and notifications -------------------------------------------------------------------------------
def test_every_step_is_in_the_case_audit_log(world):
    lead = world["apis"]["lead"]
    subject = person(lead, "Ula")
    case = open_case(lead, participants=[{"profile_id": subject["id"], "role": "victim"}])
    path = f"/api/v1/cases/{case['id']}"
    lead.ok(lead.get(path))
    lead.ok(lead.patch(path, {"title": "Renamed"}, {"If-Match": '"1"'}))
    note = lead.ok(lead.post(path + "/notes", {"text": "Seen at home."}), 201)
    lead.ok(lead.post(f"{path}/notes/{note['id']}/corrections", {"text": "Seen at work.", "reason": "Wrong place"}),
            201)
    participant = lead.ok(lead.get(path))["participants"][0]
    assert lead.delete(f"{path}/participants/{participant['id']}").status_code == 204
    lead.ok(lead.post(path + "/close", {"outcome": "resolved"}))
    lead.ok(lead.post(path + "/reopen", {"reason": "Came back."}))
    wanted = {"created", "viewed", "updated", "participant_added", "participant_ended", "note_added",
              "note_corrected", "closed", "reopened"}

    def logged():
        answer = lead.get(f"/api/v1/audit/records/cases/{case['id']}")
        actions = {item["action"] for item in answer.json().get("items", [])} if answer.status_code == 200 else set()
        return actions if wanted <= actions else None
    wait_for(logged, timeout=20, message="the case's events in the audit log")
    entries = lead.ok(lead.get(f"/api/v1/audit/records/cases/{case['id']}"))["items"]
    updated = next(item for item in entries if item["action"] == "updated")
    assert updated["fields"] == {"title": {"before": "Noise and threats, Canal Wharf", "after": "Renamed"}}
    assert "Seen at" not in str(entries), "the words of notes stay in the case"


def test_a_team_is_told_when_it_is_given_a_case_and_when_one_is_transferred_to_it(world):
    lead, council = world["apis"]["lead"], world["apis"]["council"]
    case = open_case(lead)
    lead.ok(lead.post(f"/api/v1/cases/{case['id']}/grants", {
        "grantee_type": "team", "grantee_id": world["council"].hub["id"], "level": "view", "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)
    transfer = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/transfer", {"to_team_id": world["council"].hub["id"]}),
                       201)
    council.ok(council.post(f"/api/v1/transfers/{transfer['id']}/accept", {}))

    def told():
        items = council.ok(council.get("/api/v1/me/notifications"))["items"]
        kinds = {item["kind"] for item in items if (item.get("record") or {}).get("id") == case["id"]}
        return kinds if {"case.shared", "case.owner_changed"} <= kinds else None
    wait_for(told, timeout=20, message="notifications of the grant and the transfer")
    assert lead.ok(lead.get(f"/api/v1/cases/{case['id']}/why"))["can_view"] is False
    assert council.ok(council.get(f"/api/v1/cases/{case['id']}"))["owner"]["team_id"] == world["council"].hub["id"]


def test_partner_clients_need_the_cases_scopes(world):
    admin = world["admin"]

    def client(scopes):
        made = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                           "organisation_id": world["police"].org["id"],
                                                           "scopes": scopes}), 201)
        token = requests.post(world["url"] + "/api/v1/oauth/token", json={
            "grant_type": "client_credentials", "client_id": made["client_id"],
            "client_secret": made["client_secret"]}).json()["access_token"]
        return Api(world["url"], token)
    writer, reader = client(["cases:read", "cases:write"]), client(["profiles:read"])
    assert "owner_team_id" in problem(writer.post("/api/v1/cases", {"case_type": "asb", "title": "x"}), 422)["errors"]
    case = open_case(world["apis"]["lead"])
    assert writer.ok(writer.get(f"/api/v1/cases/{case['id']}"))["reference"] == case["reference"]
    assert writer.ok(writer.post(f"/api/v1/cases/{case['id']}/notes", {"text": "From the force's RMS."}),
                     201)["author"]["id"]
    assert reader.get("/api/v1/cases").status_code == 403
    assert reader.get(f"/api/v1/cases/{case['id']}").status_code == 403
