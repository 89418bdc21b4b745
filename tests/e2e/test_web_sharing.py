"""Share a record with tick boxes (gateway/web/record_access_pages.py) over HTTP, as a browser without JavaScript
does: a case and a profile, errors summarised, the justification a missing sharing agreement needs, revoke."""
import re
import uuid

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import Browser, error_summary, text_of

LAWFUL = "UK GDPR Art. 6(1)(e) public task"


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_websharing") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    force = Directory(url, admin, name=f"Leeds Police {uuid.uuid4().hex[:6]}")
    council = Directory(url, admin, name=f"Leeds Council {uuid.uuid4().hex[:6]}")
    lead = force.user("nadia", [(force.hub, "practitioner")])
    asb = council.user("omar", [(council.hub, "practitioner")])
    return {"url": url, "force": force, "council": council, "lead": lead, "asb": asb,
            "api": sign_in(url, lead["username"]), "asb_api": sign_in(url, asb["username"])}


def test_share_a_case_with_tick_boxes_then_revoke(world):
    api, council = world["api"], world["council"]
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise, Canal Wharf"}), 201)
    browser = Browser(world["url"], world["lead"]["username"])
    assert f'href="/cases/{case["id"]}/sharing"' in browser.page(f"/cases/{case['id']}").text
    page = browser.page(f"/cases/{case['id']}/sharing")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Who can see this case" in words and "Nobody else: only the lead team" in words
    assert f'value="team:{council.hub["id"]}"' in page.text and f'value="organisation:{council.org["id"]}"' in page.text
    assert f'value="team:{world["force"].hub["id"]}"' not in page.text          # the lead team itself is not offered
    assert 'type="checkbox"' in page.text and "<script" not in page.text.split("</main>")[0].split("<main")[-1]

    nothing = browser.submit(f"/cases/{case['id']}/sharing", {"level": "", "lawful_basis": "",
                                                              "expires-day": "31", "expires-month": "2",
                                                              "expires-year": "2030"})
    assert nothing.status_code == 422
    assert error_summary(nothing.text) == [
        ("#grantee", "Select the teams or organisations to share it with"),
        ("#level", "Select what they may do with it"), ("#lawful_basis", "Enter the lawful basis for sharing"),
        ("#expires-day", "The date access ends must be a real date")]

    grantee = f"team:{council.hub['id']}"
    no_agreement = browser.submit(f"/cases/{case['id']}/sharing", {"grantee": grantee, "level": "edit",
                                                                   "lawful_basis": LAWFUL})
    assert no_agreement.status_code == 422
    (href, message), = error_summary(no_agreement.text)
    assert href == "#justification" and "sharing agreement" in message
    assert f'value="{grantee}" checked' in no_agreement.text                 # what was ticked stays ticked
    assert world["asb_api"].get(f"/api/v1/cases/{case['id']}").status_code == 404    # nothing was shared

    shared = browser.submit(f"/cases/{case['id']}/sharing", {
        "grantee": grantee, "level": "edit", "lawful_basis": LAWFUL, "expires-day": "1", "expires-month": "1",
        "expires-year": "2099", "justification": "Joint ASB casework agreed at the partnership meeting."})
    assert shared.status_code == 303 and shared.headers["Location"].endswith("/sharing?shared=1")
    page = browser.page(shared.headers["Location"])
    words = text_of(page.text)
    assert "Shared with 1 team or organisation" in words and "Safeguarding Hub (Leeds Council" in words
    assert "View and change" in words and "1 January 2099" in words
    assert world["asb_api"].get(f"/api/v1/cases/{case['id']}").status_code == 200

    grant_id = re.search(r'/sharing/([0-9a-f-]{36})/revoke', page.text).group(1)
    assert browser.submit(f"/cases/{case['id']}/sharing/{grant_id}/revoke", {}, csrf=False).status_code == 403
    revoked = browser.submit(f"/cases/{case['id']}/sharing/{grant_id}/revoke", {})
    assert revoked.status_code == 303
    assert "Access taken away" in text_of(browser.page(revoked.headers["Location"]).text)
    assert world["asb_api"].get(f"/api/v1/cases/{case['id']}").status_code == 404


def test_only_the_lead_team_shares_and_others_see_no_more_than_a_404(world):
    api = world["api"]
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Graffiti, Kirkgate"}), 201)
    stranger = Browser(world["url"], world["asb"]["username"])
    missing = stranger.page(f"/cases/{case['id']}/sharing")
    assert missing.status_code == 404 and missing.text == stranger.page(f"/cases/{uuid.uuid4()}/sharing").text
    assert stranger.submit(f"/cases/{case['id']}/sharing", {"grantee": f"team:{world['council'].hub['id']}",
                                                            "level": "edit", "lawful_basis": LAWFUL}).status_code == 404
    api.ok(api.post(f"/api/v1/cases/{case['id']}/grants", {
        "grantee_type": "organisation", "grantee_id": world["council"].org["id"], "level": "view",
        "lawful_basis": LAWFUL, "justification": "Joint ASB casework agreed at the partnership meeting."}), 201)
    viewer = stranger.page(f"/cases/{case['id']}/sharing")      # may see it: who leads it and why, no forms
    assert viewer.status_code == 200 and "Who can see this case" in text_of(viewer.text)
    assert f'action="/cases/{case["id"]}/sharing"' not in viewer.text and "<form" not in viewer.text.split(
        "<main")[1].split("</main>")[0]
    assert stranger.submit(f"/cases/{case['id']}/sharing", {"grantee": f"team:{world['council'].hub['id']}",
                                                            "level": "edit", "lawful_basis": LAWFUL}).status_code == 403


def test_the_same_page_shares_a_profile(world):
    api = world["api"]
    person = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Ada",
                                                  "family_name": f"Share{uuid.uuid4().hex[:6]}"}), 201)
    browser = Browser(world["url"], world["lead"]["username"])
    page = browser.page(f"/profiles/{person['id']}/sharing")
    assert page.status_code == 200 and "Who can see this profile" in text_of(page.text)
    shared = browser.submit(f"/profiles/{person['id']}/sharing", {
        "grantee": f"organisation:{world['council'].org['id']}", "level": "view", "lawful_basis": LAWFUL,
        "justification": "Joint ASB casework agreed at the partnership meeting."})
    assert shared.status_code == 303, error_summary(shared.text)
    assert world["asb_api"].get(f"/api/v1/profiles/{person['id']}").status_code == 200


def test_the_profile_page_offers_sharing_to_its_lead_team_only(world):
    """Everyone who may see it has "Who can see this profile"; only the lead team is offered to share it."""
    api = world["api"]
    person = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Ivy",
                                                  "family_name": f"Link{uuid.uuid4().hex[:6]}"}), 201)
    link = "Share this profile, or stop sharing it"
    assert link in Browser(world["url"], world["lead"]["username"]).page(f"/profiles/{person['id']}").text
    api.ok(api.post(f"/api/v1/profiles/{person['id']}/grants", {
        "grantee_type": "organisation", "grantee_id": world["council"].org["id"], "level": "edit",
        "lawful_basis": LAWFUL, "justification": "Joint ASB casework agreed at the partnership meeting."}), 201)
    granted = Browser(world["url"], world["asb"]["username"]).page(f"/profiles/{person['id']}")
    assert granted.status_code == 200 and link not in granted.text      # may edit, but only the lead team shares
    assert f'href="/profiles/{person["id"]}/sharing">Who can see this profile' in granted.text
