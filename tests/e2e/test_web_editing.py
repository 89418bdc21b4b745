"""Editing in the browser (issue 16) over HTTP with a cookie session, as a browser without JavaScript: a
profile's details and lists (with If-Match from the form's version), the Herbert Protocol, premises and
their linked people, families and their members, and the duplicate check before a new person is saved.
Each form: the service's errors on the fields, CSRF, a stale version, 403 for view-only, the one 404."""
import re
import uuid

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import LAWFUL, JUSTIFY, Browser, error_summary, text_of
from tests.support import new_nhs_number, unique_surname

NOWHERE = "00000000-0000-4000-8000-000000000000"
STALE = "Someone else changed this profile while you were editing it"


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_webedit") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    force = Directory(url, admin, name=f"Leeds Police {uuid.uuid4().hex[:6]}")
    council = Directory(url, admin, name=f"Leeds Council {uuid.uuid4().hex[:6]}")
    elsewhere = Directory(url, admin, name=f"Wakefield Council {uuid.uuid4().hex[:6]}")
    lead = force.user("nadia", [(force.hub, "practitioner")])
    viewer = council.user("omar", [(council.hub, "practitioner")])
    stranger = elsewhere.user("ivy", [(elsewhere.hub, "practitioner")])
    return {"url": url, "api": sign_in(url, lead["username"]), "council": council, "elsewhere": elsewhere,
            "lead": Browser(url, lead["username"]), "viewer": Browser(url, viewer["username"]),
            "viewer_api": sign_in(url, viewer["username"]), "stranger": Browser(url, stranger["username"]),
            "stranger_api": sign_in(url, stranger["username"])}


def new_person(world, **details):
    api = world["api"]
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Maya",
                                                "family_name": unique_surname(), **details}), 201)


def share_view(world, record, record_id):
    api = world["api"]
    api.ok(api.post(f"/api/v1/{record}/{record_id}/grants", {
        "grantee_type": "team", "grantee_id": world["council"].hub["id"], "level": "view",
        "lawful_basis": LAWFUL, "justification": JUSTIFY}), 201)


def current(world, profile_id):
    return world["api"].ok(world["api"].get(f"/api/v1/profiles/{profile_id}"))


def version_in(page) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_details_change_with_errors_csrf_and_a_stale_version(world):
    browser, person = world["lead"], new_person(world, date_of_birth="2011-02-14")
    form = browser.page(f"/profiles/{person['id']}/edit")
    assert form.status_code == 200 and "Change details" in form.text and version_in(form.text) == "1"
    assert 'value="Maya"' in form.text and 'name="date_of_birth-year" type="text" inputmode="numeric" value="2011"' \
        in form.text
    good = {"version": "1", "given_name": "Maya", "family_name": person["family_name"], "date_of_birth-day": "14",
            "date_of_birth-month": "2", "date_of_birth-year": "2011", "gender": "female", "roles": ["victim"],
            "contact_phone": "0113 496 0000", "contact_email": "maya@example.org", "contact_preferred": "email",
            "consent_status": "given", "consent_detail": "Agreed at the visit"}
    assert browser.submit(f"/profiles/{person['id']}/edit", good, csrf=False).status_code == 403
    bad = browser.submit(f"/profiles/{person['id']}/edit", {**good, "given_name": "", "contact_email": "nope",
                                                              "contact_phone": "call me"})
    assert bad.status_code == 422
    assert dict(error_summary(bad.text)) == {"#given_name": "Enter a given name",
                                             "#contact_phone": "That is not a phone number",
                                             "#contact_email": "Not a valid email address"}
    assert current(world, person["id"])["version"] == 1                     # nothing written
    future = browser.submit(f"/profiles/{person['id']}/edit", {**good, "date_of_birth-month": "13"})
    assert future.status_code == 422 and error_summary(future.text)[0][0] == "#date_of_birth-month"
    saved = browser.submit(f"/profiles/{person['id']}/edit", good)
    assert saved.status_code == 303 and saved.headers["Location"].startswith(f"/profiles/{person['id']}")
    now = current(world, person["id"])
    assert now["version"] == 2 and now["gender"] == "female" and now["roles"] == ["victim"]
    assert now["contact"]["email"] == "maya@example.org" and now["consent"] == {"status": "given",
                                                                                 "detail": "Agreed at the visit"}
    assert "Details changed" in browser.page(saved.headers["Location"]).text
    stale = browser.submit(f"/profiles/{person['id']}/edit", {**good, "given_name": "Mia"})   # still version 1
    assert stale.status_code == 409 and STALE in text_of(stale.text)
    assert version_in(stale.text) == "2" and 'value="maya@example.org"' in stale.text      # the current values
    assert current(world, person["id"])["given_name"] == "Maya"


def test_identifiers_aliases_and_addresses_are_added_and_removed(world):
    browser, person = world["lead"], new_person(world)
    pid = person["id"]
    page = browser.page(f"/profiles/{pid}/edit/identifiers")
    assert page.status_code == 200 and "Add an identifier" in page.text
    wrong = browser.submit(f"/profiles/{pid}/edit/identifiers", {"version": "1", "identifier_scheme": "nhs_number",
                                                                  "identifier_value": "943 476 5910"})
    assert wrong.status_code == 422 and error_summary(wrong.text)[0][0] == "#identifier_value"
    assert 'value="943 476 5910"' in wrong.text
    ni = browser.submit(f"/profiles/{pid}/edit/identifiers", {"version": "1", "identifier_scheme": "ni_number",
                                                               "identifier_value": "DA123456C"})
    assert ni.status_code == 422 and error_summary(ni.text)[0][0] == "#identifier_value"
    nhs = new_nhs_number()
    for scheme, value in (("nhs_number", nhs), ("pnc_id", "01/123456A")):
        version = str(current(world, pid)["version"])
        added = browser.submit(f"/profiles/{pid}/edit/identifiers", {"version": version, "identifier_scheme": scheme,
                                                                      "identifier_value": value})
        assert added.status_code == 303, error_summary(added.text)
    assert [i["scheme"] for i in current(world, pid)["identifiers"]] == ["nhs_number", "pnc_id"]
    stale = browser.submit(f"/profiles/{pid}/edit/identifiers/remove", {"version": "1", "index": "0"})
    assert stale.status_code == 409 and STALE in text_of(stale.text)
    assert len(current(world, pid)["identifiers"]) == 2
    removed = browser.submit(f"/profiles/{pid}/edit/identifiers/remove", {"version": "3", "index": "0"})
    assert removed.status_code == 303 and [i["scheme"] for i in current(world, pid)["identifiers"]] == ["pnc_id"]

    alias = browser.submit(f"/profiles/{pid}/edit/aliases", {"version": "4"})
    assert alias.status_code == 422 and error_summary(alias.text) == [("#alias_given_name",
                                                                       "Give a given name or a family name")]
    assert browser.submit(f"/profiles/{pid}/edit/aliases", {"version": "4", "alias_given_name": "Mai"}) \
        .status_code == 303

    address = {"version": "5", "address_line1": "12 Chapel Street", "address_town": "Leeds",
               "address_postcode": "ls9 8aa", "address_from-day": "1", "address_from-month": "3",
               "address_from-year": "2020", "address_to-day": "1", "address_to-month": "1", "address_to-year": "2019"}
    backwards = browser.submit(f"/profiles/{pid}/edit/addresses", address)
    assert backwards.status_code == 422 and error_summary(backwards.text) == [
        ("#address_to-day", "An address cannot end before it starts")]
    nowhere = browser.submit(f"/profiles/{pid}/edit/addresses", {**address, "address_postcode": "XYZ",
                                                                 "address_to-year": "", "address_to-day": "",
                                                                 "address_to-month": ""})
    assert nowhere.status_code == 422 and error_summary(nowhere.text)[0][0] == "#address_postcode"
    half = browser.submit(f"/profiles/{pid}/edit/addresses", {**address, "address_to-month": ""})
    assert half.status_code == 422 and error_summary(half.text)[0][0] == "#address_to-month"
    saved = browser.submit(f"/profiles/{pid}/edit/addresses", {**address, "address_to-year": "2024"})
    assert saved.status_code == 303
    stored = current(world, pid)["addresses"]
    assert stored == [{"line1": "12 Chapel Street", "line2": None, "town": "Leeds", "postcode": "LS9 8AA",
                       "uprn": None, "from": "2020-03-01", "to": "2024-01-01"}]
    # Changing an address in place (they did not move out after all): the form comes filled in.
    change = browser.page(f"/profiles/{pid}/edit/addresses", params={"change": "0"})
    assert change.status_code == 200 and "Change an address" in change.text
    assert 'value="12 Chapel Street"' in change.text and 'name="index" value="0"' in change.text
    assert browser.submit(f"/profiles/{pid}/edit/addresses", {**address, "version": "6", "index": "3",
                                                              "address_to-day": ""}).status_code == 409
    moved = browser.submit(f"/profiles/{pid}/edit/addresses", {**address, "version": "6", "index": "0",
                                                               "address_to-day": "", "address_to-month": "",
                                                               "address_to-year": ""})
    assert moved.status_code == 303 and moved.headers["Location"].endswith("?changed=1")
    assert [(a["line1"], a["to"]) for a in current(world, pid)["addresses"]] == [("12 Chapel Street", None)]
    assert "Changed" in browser.page(moved.headers["Location"]).text
    profile_page = text_of(browser.page(f"/profiles/{pid}").text)
    assert "Mai" in profile_page and "PNC ID" in profile_page and "1 March 2020" in profile_page


def test_flags_and_the_herbert_protocol(world):
    browser, person = world["lead"], new_person(world)
    pid = person["id"]
    unknown = browser.submit(f"/profiles/{pid}/edit/flags", {"version": "1", "flag": "purple"})
    assert unknown.status_code == 422 and error_summary(unknown.text)[0][0] == "#flag"
    assert browser.submit(f"/profiles/{pid}/edit/flags", {"version": "1", "flag": "risk_to_staff",
                                                          "flag_detail": "Dog at the address"}).status_code == 303
    dementia = browser.submit(f"/profiles/{pid}/edit/flags", {"version": "2", "flag": "dementia"})
    assert dementia.status_code == 303 and dementia.headers["Location"].endswith("/edit/herbert-protocol?added=1")
    form = browser.page(f"/profiles/{pid}/edit/herbert-protocol")
    assert form.status_code == 200 and "Places they may go" in form.text
    herbert = {"version": "3", "herbert_description": "Tall, grey coat", "herbert_life_history": "Miner in Castleford",
               "herbert_places_they_may_go": "Roundhay Park\n\nThe old pit", "herbert_medication_and_needs": "Insulin"}
    assert browser.submit(f"/profiles/{pid}/edit/herbert-protocol", herbert, csrf=False).status_code == 403
    long = browser.submit(f"/profiles/{pid}/edit/herbert-protocol", {**herbert, "herbert_description": "x" * 5001})
    assert long.status_code == 422 and error_summary(long.text)[0][0] == "#herbert_description"
    assert browser.submit(f"/profiles/{pid}/edit/herbert-protocol", herbert).status_code == 303
    flags = {flag["flag"]: flag for flag in current(world, pid)["flags"]}
    assert flags["risk_to_staff"]["detail"] == "Dog at the address"
    assert flags["dementia"]["detail"] == {"description": "Tall, grey coat", "life_history": "Miner in Castleford",
                                           "places_they_may_go": ["Roundhay Park", "The old pit"],
                                           "medication_and_needs": "Insulin"}
    stale = browser.submit(f"/profiles/{pid}/edit/herbert-protocol", herbert)
    assert stale.status_code == 409 and STALE in text_of(stale.text) and "Tall, grey coat" in stale.text
    assert browser.submit(f"/profiles/{pid}/edit/flags/remove", {"version": "4", "index": "0"}).status_code == 303
    assert [flag["flag"] for flag in current(world, pid)["flags"]] == ["dementia"]


def test_only_edit_access_sees_the_forms_and_others_get_403_or_the_one_404(world):
    person = new_person(world)
    share_view(world, "profiles", person["id"])
    viewer, stranger, lead = world["viewer"], world["stranger"], world["lead"]
    assert 'id="edit-links"' in lead.page(f"/profiles/{person['id']}").text
    seen = viewer.page(f"/profiles/{person['id']}")
    assert seen.status_code == 200 and 'id="edit-links"' not in seen.text and "/edit/" not in seen.text
    for path in ("/edit", "/edit/identifiers", "/edit/herbert-protocol"):
        refused = viewer.page(f"/profiles/{person['id']}{path}")
        assert refused.status_code == 403 and "You cannot change this profile" in refused.text, path
        posted = viewer.submit(f"/profiles/{person['id']}{path}", {"version": "1", "given_name": "X"})
        assert posted.status_code == 403, path
    assert current(world, person["id"])["version"] == 1
    unknown = stranger.page(f"/profiles/{NOWHERE}/edit")
    assert unknown.status_code == 404
    for path in ("/edit", "/edit/aliases", "/edit/herbert-protocol", "/edit/nonsense"):
        hidden = stranger.page(f"/profiles/{person['id']}{path}")
        assert hidden.status_code == 404 and hidden.text == unknown.text, path
    assert stranger.submit(f"/profiles/{person['id']}/edit/aliases/remove", {"version": "1", "index": "0"}) \
        .text == unknown.text
    assert stranger.page("/profiles/not-a-uuid/edit").text == unknown.text


def test_premises_are_created_edited_and_linked_to_people(world):
    browser, person = world["lead"], new_person(world, date_of_birth="1990-01-01")
    assert browser.page("/premises/new").status_code == 200
    empty = browser.submit("/premises/new", {"address_line1": "1 Canal Wharf", "address_postcode": "nowhere"})
    assert empty.status_code == 422
    assert [href for href, _ in error_summary(empty.text)] == ["#name", "#address_postcode"]
    made = browser.submit("/premises/new", {"name": "The Red Lion", "premises_type": "licensed_premises",
                                            "address_line1": "1 Canal Wharf", "address_town": "Leeds",
                                            "address_postcode": "ls1 4ap"})
    assert made.status_code == 303
    premises_id = made.headers["Location"].split("/")[2].split("?")[0]
    assert current(world, premises_id)["address"]["postcode"] == "LS1 4AP"
    renamed = browser.submit(f"/profiles/{premises_id}/edit", {"version": "1", "name": "The Red Lion Inn",
                                                               "premises_type": "licensed_premises",
                                                               "address_line1": "1 Canal Wharf",
                                                               "address_postcode": "LS1 4AP", "address_uprn": "12ab"})
    assert renamed.status_code == 422 and error_summary(renamed.text)[0][0] == "#address_uprn"
    assert browser.submit(f"/profiles/{premises_id}/edit", {"version": "1", "name": "The Red Lion Inn",
                                                            "premises_type": "licensed_premises",
                                                            "address_line1": "1 Canal Wharf",
                                                            "address_postcode": "LS1 4AP"}).status_code == 303
    assert browser.page(f"/profiles/{person['id']}/edit/people").status_code == 404       # a person has no people
    found = browser.page(f"/profiles/{premises_id}/edit/people", params={"q": person["family_name"]})
    assert found.status_code == 200 and f'data-person="{person["id"]}"' in found.text
    linked = browser.submit(f"/profiles/{premises_id}/edit/people", {"version": "2", "profile_id": person["id"]})
    assert linked.status_code == 303
    assert current(world, premises_id)["linked_people"] == [person["id"]]
    assert "The Red Lion Inn" in text_of(browser.page(f"/profiles/{person['id']}").text)
    assert f'href="/profiles/{person["id"]}"' in browser.page(f"/profiles/{premises_id}").text
    unseen = browser.submit(f"/profiles/{premises_id}/edit/people", {"version": "3", "profile_id": NOWHERE})
    assert unseen.status_code == 422 and error_summary(unseen.text)[0][0] == "#q"
    assert browser.submit(f"/profiles/{premises_id}/edit/people/remove", {"version": "3", "index": "0"}) \
        .status_code == 303
    assert current(world, premises_id)["linked_people"] == []
    assert browser.submit("/premises/new", {"name": "X"}, csrf=False).status_code == 403


def test_families_are_created_with_members_added_and_removed(world):
    browser = world["lead"]
    maya, dele = new_person(world), new_person(world)
    start = browser.page(f"/families/new?profile_id={maya['id']}")
    assert start.status_code == 200 and "Maya" in start.text
    blank = browser.submit("/families/new", {"profile_id": maya["id"]})
    assert blank.status_code == 422 and [h for h, _ in error_summary(blank.text)] == ["#name", "#role"]
    assert browser.submit("/families/new", {"name": "The Okafors", "profile_id": maya["id"], "role": "child"},
                          csrf=False).status_code == 403
    made = browser.submit("/families/new", {"name": "The Okafors", "profile_id": maya["id"], "role": "child"})
    assert made.status_code == 303
    family_id = made.headers["Location"].split("/")[2].split("?")[0]
    page = browser.page(made.headers["Location"])
    assert page.status_code == 200 and "Family created" in page.text
    assert f'href="/families/{family_id}/sharing"' in page.text and f'data-member="{maya["id"]}"' in page.text
    found = browser.page(f"/families/{family_id}", params={"q": dele["family_name"]})
    assert found.status_code == 200 and f'value="{dele["id"]}"' in found.text
    no_role = browser.submit(f"/families/{family_id}/members", {"profile_id": dele["id"], "q": dele["family_name"]})
    assert no_role.status_code == 422 and error_summary(no_role.text)[0][0] == "#role"
    added = browser.submit(f"/families/{family_id}/members", {"profile_id": dele["id"], "role": "parent"})
    assert added.status_code == 303
    family = world["api"].ok(world["api"].get(f"/api/v1/families/{family_id}"))
    assert {m["profile_id"]: m["role"] for m in family["members"]} == {maya["id"]: "child", dele["id"]: "parent"}
    assert f'href="/families/{family_id}"' in browser.page(f"/profiles/{dele['id']}").text
    assert browser.submit(f"/families/{family_id}/members/{dele['id']}/remove", {}).status_code == 303
    assert len(world["api"].ok(world["api"].get(f"/api/v1/families/{family_id}"))["members"]) == 1

    share_view(world, "families", family_id)
    seen = world["viewer"].page(f"/families/{family_id}")
    assert seen.status_code == 200 and "Remove" not in seen.text and "Add a member" not in seen.text
    assert world["viewer"].submit(f"/families/{family_id}/members/{maya['id']}/remove", {}).status_code == 403
    unknown = world["stranger"].page(f"/families/{NOWHERE}")
    hidden = world["stranger"].page(f"/families/{family_id}")
    assert unknown.status_code == hidden.status_code == 404 and hidden.text == unknown.text
    assert world["stranger"].submit(f"/families/{family_id}/members", {"profile_id": maya["id"], "role": "child"}) \
        .text == unknown.text


def test_the_duplicate_check_runs_before_a_new_person_is_saved(world):
    browser, api = world["lead"], world["api"]
    known = new_person(world, date_of_birth="2011-02-14")
    theirs = world["stranger_api"].ok(world["stranger_api"].post("/api/v1/profiles", {
        "kind": "person", "given_name": "Maya", "family_name": known["family_name"], "date_of_birth": "2011-02-14"}),
        201)
    typed = {"given_name": "Maya", "family_name": known["family_name"], "date_of_birth-day": "14",
             "date_of_birth-month": "2", "date_of_birth-year": "2011", "address_postcode": ""}

    def how_many():
        return len(api.ok(api.get("/api/v1/profiles", params={"q": known["family_name"]}))["items"])
    before = how_many()
    check = browser.submit("/profiles/new", typed)
    assert check.status_code == 200 and "already known?" in check.text
    cards = dict(re.findall(r'data-match="([^"]+)" data-access="(full|signpost)"', check.text))
    assert cards == {known["id"]: "full", theirs["id"]: "signpost"}
    assert f'href="/profiles/{known["id"]}"' in check.text and f'href="/profiles/{theirs["id"]}"' not in check.text
    assert world["elsewhere"].org["name"] in text_of(check.text) and "(no access)" in check.text
    assert how_many() == before                                                  # nothing saved yet
    back = browser.submit("/profiles/new", {**typed, "change": "1"})
    assert back.status_code == 200 and "Create a person profile" in back.text
    assert f'value="{known["family_name"]}"' in back.text and how_many() == before
    anyway = browser.submit("/profiles/new", {**typed, "create_anyway": "1"})
    assert anyway.status_code == 303 and how_many() == before + 1
    fresh = browser.submit("/profiles/new", {"given_name": "Zed", "family_name": unique_surname()})
    assert fresh.status_code == 303                          # no likely match: saved straight away
