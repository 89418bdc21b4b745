"""The case pages (gateway/web/case_pages.py) over HTTP, as a browser without JavaScript uses them: open a case
from a profile, the case page, add a note and someone, close and reopen, the list with filters and sorting."""
import re
from datetime import date, timedelta
import uuid

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import Browser, error_summary, text_of
from tests.support import unique_surname


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_webcases") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    force, council = Directory(url, admin), Directory(url, admin)
    user = force.user("nadia", [(force.hub, "practitioner")])
    stranger = council.user("omar", [(council.hub, "practitioner")])
    return {"url": url, "user": user, "api": sign_in(url, user["username"]), "stranger": stranger, "force": force}


def case_id_from(response) -> str:
    return re.search(r"/cases/([0-9a-f-]{36})", response.headers["Location"]).group(1)


def test_open_a_case_from_a_profile_then_work_it(world):
    api, surname = world["api"], unique_surname()
    person = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Sam", "family_name": surname}),
                    201)
    browser = Browser(world["url"], world["user"]["username"])
    profile_page = browser.page(f"/profiles/{person['id']}")
    assert f'href="/cases/new?profile_id={person["id"]}"' in profile_page.text and "Not on any case" in \
        text_of(profile_page.text)
    form = browser.page(f"/cases/new?profile_id={person['id']}")
    assert form.status_code == 200 and f"about Sam {surname}" in text_of(form.text)

    refused = browser.submit("/cases/new", {"profile_id": person["id"], "title": "", "case_type": ""})
    assert refused.status_code == 422
    assert [text for _, text in error_summary(refused.text)] == ["Select the type of case", "Enter a title",
                                                               "Select their role on the case"]
    opened = browser.submit("/cases/new", {"profile_id": person["id"], "case_type": "asb", "title":
                                           f"Noise at {surname}'s flat", "priority": "high", "role": "perpetrator"})
    assert opened.status_code == 303, opened.text
    case_id = case_id_from(opened)
    page = browser.page(f"/cases/{case_id}?created=1")
    words = text_of(page.text)
    for expected in ("Case opened", f"Noise at {surname}'s flat", "Anti-social behaviour case ASB-", "High",
                     f"Sam {surname}", "Perpetrator", "Who leads this case", "Safeguarding Hub", "Timeline",
                     "Anti-social behaviour case opened"):
        assert expected in words, expected
    assert f'data-case="{case_id}"' in browser.page(f"/profiles/{person['id']}").text

    assert browser.submit(f"/cases/{case_id}/notes", {"text": "", "kind": "update"}).status_code == 422
    noted = browser.submit(f"/cases/{case_id}/notes", {"text": "Spoke to the neighbours at no. 5.",
                                                      "kind": "contact", "sensitive": "yes"})
    assert noted.status_code == 303
    page = text_of(browser.page(f"/cases/{case_id}").text)
    assert "Spoke to the neighbours at no. 5." in page and "Sensitive" in page

    pub = api.ok(api.post("/api/v1/profiles", {"kind": "premises", "name": f"The {surname} Arms", "address": {
        "line1": "1 High Street", "postcode": "LS1 6HQ"}}), 201)
    found = browser.page(f"/cases/{case_id}/participants/new?q={surname}+Arms")
    assert found.status_code == 200 and f"The {surname} Arms" in found.text
    assert [t for _, t in error_summary(browser.submit(f"/cases/{case_id}/participants", {
        "profile_id": pub["id"]}).text)] == ["Select their role on the case"]
    added = browser.submit(f"/cases/{case_id}/participants", {"profile_id": pub["id"],
                                                              "role": "premises_of_concern"})
    assert added.status_code == 303
    page = browser.page(f"/cases/{case_id}").text
    assert "Premises of concern" in text_of(page)
    participant = re.search(r'data-participant="([0-9a-f-]{36})"', page).group(1)
    assert browser.submit(f"/cases/{case_id}/participants/{participant}/end", {}).status_code == 303
    assert "No longer on the case (1)" in text_of(browser.page(f"/cases/{case_id}").text)

    assert "open action" not in text_of(browser.page(f"/cases/{case_id}/close").text)
    me = api.ok(api.get("/api/v1/me"), 200)
    for title in ("Visit the flat", "Call the landlord"):
        api.ok(api.post(f"/api/v1/cases/{case_id}/actions", {"title": title, "due": (date.today() + timedelta(
            days=3)).isoformat(), "assignee": {"team_id": me["teams"][0]["id"]}}), 201)
    assert "This case has 2 open actions. Closing it cancels them, and each assignee is told." in \
        text_of(browser.page(f"/cases/{case_id}/close").text)
    assert [t for _, t in error_summary(browser.submit(f"/cases/{case_id}/close", {}).text)] == \
        ["Select the outcome"]
    assert browser.submit(f"/cases/{case_id}/close", {"outcome": "resolved", "note": "Warning complied with."}) \
        .status_code == 303
    closed = text_of(browser.page(f"/cases/{case_id}?closed=1").text)
    assert "Case closed" in closed and "Resolved" in closed and "Reopen case" in closed
    assert {a["status"] for a in api.ok(api.get(f"/api/v1/cases/{case_id}/actions?status=all"), 200)["items"]} == \
        {"cancelled"}
    assert [t for _, t in error_summary(browser.submit(f"/cases/{case_id}/reopen", {"reason": ""}).text)] == \
        ["Enter why the case is being reopened"]
    assert browser.submit(f"/cases/{case_id}/reopen", {"reason": "Two new complaints."}).status_code == 303
    assert "Case reopened: Two new complaints." in text_of(browser.page(f"/cases/{case_id}").text)

    listed = browser.page(f"/cases?q={surname}")
    assert listed.status_code == 200 and f'data-case="{case_id}" data-access="full"' in listed.text
    assert 'aria-sort="descending"' not in listed.text
    sorted_page = browser.page(f"/cases?q={surname}&sort=priority")
    assert 'aria-sort="ascending"' in sorted_page.text
    assert browser.page("/cases?q=x").status_code == 422
    assert "No cases found" in text_of(browser.page(f"/cases?q={surname}&status=closed").text)


def test_a_case_the_caller_may_not_see_is_the_same_page_as_none(world):
    api = world["api"]
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Private"}), 201)
    stranger = Browser(world["url"], world["stranger"]["username"])
    for tail in ("", "/close", "/reopen", "/participants/new"):
        theirs, nobody = stranger.page(f"/cases/{case['id']}{tail}"), stranger.page(f"/cases/{uuid.uuid4()}{tail}")
        assert theirs.status_code == nobody.status_code == 404 and theirs.text == nobody.text
    assert stranger.page("/cases/not-a-uuid").status_code == 404
    posted = stranger.submit(f"/cases/{case['id']}/notes", {"text": "hello"})
    assert posted.status_code == 404
    assert stranger.submit(f"/cases/{case['id']}/notes", {"text": "hello"}, csrf=False).status_code == 403
