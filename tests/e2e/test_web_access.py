"""Getting access and handing over the lead in the browser, without JavaScript (gateway/web/access_pages.py,
record_access_pages.py, home_pages.py): ask from "No access", the lead team's inbox approves or refuses, the
requester withdraws; restrict; break-glass; a transfer offered, refused and accepted with consent confirmed;
who sees which inbox (a matrix); the same "Page not found" for what is absent and what is not yours; the home
page's sections."""
import re
import uuid

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from concord_common.context import Caller
from concord_common.errors import Forbidden, ValidationFailed
from gateway.auth import caller_from_principal
from tests import support
from tests.support import wait_for
from tests.e2e.test_web_profiles import Browser, error_summary, text_of

REASON = "Joint work on the ASB referral from the housing officer."


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_webaccess") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    force = Directory(url, admin, name=f"Leeds Police {uuid.uuid4().hex[:6]}")
    council = Directory(url, admin, name=f"Leeds Council {uuid.uuid4().hex[:6]}")
    people = {"lead": force.user("nadia", [(force.hub, "practitioner")]),
              "spoc": force.user("sara", [(force.hub, "spoc")]),
              "npt": force.user("pete", [(force.npt, "practitioner")]),        # same force, other team
              "asb": council.user("omar", [(council.hub, "practitioner")]),
              "council_npt": council.user("cleo", [(council.npt, "supervisor")])}
    return {"url": url, "config": config, "force": force, "council": council, "people": people,
            "api": {name: sign_in(url, person["username"]) for name, person in people.items()}}


def browser(world, who) -> Browser:
    return Browser(world["url"], world["people"][who]["username"])


def recent_part(web) -> str:
    """The home page's "Records you opened recently" (to its end)."""
    return web.page("/").text.split('id="recent"')[1].split("</section>")[0]


def new_case(world, title="Noise, Canal Wharf", **extra):
    api = world["api"]["lead"]
    return api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": title, **extra}), 201)


def test_ask_from_no_access_then_the_lead_team_approves_and_the_requester_opens_it(world):
    case = new_case(world)
    asb = browser(world, "asb")
    listed = asb.page(f"/cases?q={case['reference']}")
    assert f'href="/cases/{case["id"]}/access-request"' in listed.text and "No access" in text_of(listed.text)
    form = asb.page(f"/cases/{case['id']}/access-request")
    assert form.status_code == 200 and "Emergency access is recorded" in text_of(form.text)
    assert case["title"] not in form.text                    # the form shows nothing of the record

    empty = asb.submit(f"/cases/{case['id']}/access-request", {"reason": " "})
    assert empty.status_code == 422
    assert error_summary(empty.text) == [("#reason", "Enter why you need access to this case")]
    asked = asb.submit(f"/cases/{case['id']}/access-request", {"reason": REASON})
    assert asked.status_code == 200 and "Access requested" in text_of(asked.text)
    again = asb.submit(f"/cases/{case['id']}/access-request", {"reason": REASON})
    assert "You have already asked" in text_of(again.text)

    mine = text_of(asb.page("/access-requests").text)
    assert case["reference"] in mine and "Waiting" in mine

    spoc = browser(world, "spoc")
    inbox = spoc.page("/access-requests")
    request_id = re.search(r'href="/access-requests/([0-9a-f-]{36})"', inbox.text).group(1)
    assert REASON in text_of(inbox.text)
    assert "1 access request" in text_of(spoc.page("/").text)

    bad = spoc.submit(f"/access-requests/{request_id}/approve", {"level": "", "expires-day": "31",
                                                                "expires-month": "2", "expires-year": "2030"})
    assert bad.status_code == 422
    assert error_summary(bad.text) == [("#level", "Select what they may do with it"),
                                       ("#expires-day", "The date access ends must be a real date")]
    assert spoc.submit(f"/access-requests/{request_id}/approve", {"level": "view"}, csrf=False).status_code == 403
    assert world["api"]["asb"].get(f"/api/v1/cases/{case['id']}").status_code == 404      # nothing half-done
    approved = spoc.submit(f"/access-requests/{request_id}/approve", {"level": "view", "expires-day": "1",
                                                                     "expires-month": "1", "expires-year": "2099"})
    assert approved.status_code == 303 and approved.headers["Location"] == "/access-requests?done=approved"
    assert "Access approved" in text_of(spoc.page(approved.headers["Location"]).text)
    twice = spoc.submit(f"/access-requests/{request_id}/approve", {"level": "view"})
    assert twice.status_code == 404 or twice.status_code == 422        # decided: no form to decide again

    assert asb.page(f"/cases/{case['id']}").status_code == 200
    status = text_of(asb.page("/access-requests").text)
    assert "Approved" in status and "1 January 2099" in status


def test_refuse_needs_a_reason_and_the_requester_can_withdraw(world):
    refused, withdrawn = new_case(world, "Refused"), new_case(world, "Withdrawn")
    asb = world["api"]["asb"]
    one = asb.ok(asb.post(f"/api/v1/cases/{refused['id']}/access-requests", {"reason": REASON}), 201)
    two = asb.ok(asb.post(f"/api/v1/cases/{withdrawn['id']}/access-requests", {"reason": REASON}), 201)
    lead = browser(world, "lead")
    empty = lead.submit(f"/access-requests/{one['id']}/deny", {"deny_note": ""})
    assert empty.status_code == 422
    assert error_summary(empty.text) == [("#deny_note", "Enter why you are refusing access")]
    assert lead.submit(f"/access-requests/{one['id']}/deny", {"deny_note": "Not needed"}).status_code == 303
    assert asb.ok(asb.get(f"/api/v1/access-requests/{one['id']}"))["status"] == "denied"

    requester = browser(world, "asb")
    assert requester.submit(f"/access-requests/{two['id']}/withdraw", {}).status_code == 303
    assert asb.ok(asb.get(f"/api/v1/access-requests/{two['id']}"))["status"] == "withdrawn"
    words = text_of(requester.page("/access-requests").text)
    assert "Refused" in words and "Not needed" in words and "Withdrawn" in words
    # the lead team may not withdraw someone else's request; the requester may not approve their own
    assert lead.submit(f"/access-requests/{two['id']}/withdraw", {}).status_code in (403, 409)
    three = asb.ok(asb.post(f"/api/v1/cases/{refused['id']}/access-requests", {"reason": REASON}), 201)
    assert requester.submit(f"/access-requests/{three['id']}/approve", {"level": "view"}).status_code == 403


def test_who_sees_which_inbox(world):
    """The matrix: requester, lead team (practitioner, SPOC), the lead's organisation's other team, a third party."""
    case = new_case(world, "Matrix")
    asked = world["api"]["asb"].ok(world["api"]["asb"].post(f"/api/v1/cases/{case['id']}/access-requests",
                                                            {"reason": REASON}), 201)
    expected = {"asb": (True, False), "lead": (True, True), "spoc": (True, True), "npt": (False, False),
                "council_npt": (False, False)}
    for who, (sees, decides) in expected.items():
        web = browser(world, who)
        page = web.page(f"/access-requests/{asked['id']}")
        assert (page.status_code == 200) is sees, who
        if not sees:
            # The same page as "no such" in the same session (its header carries the session's sign-out token).
            missing = web.page(f"/access-requests/{uuid.uuid4()}")
            assert page.status_code == 404 and page.text == missing.text, who
        inbox = web.page("/access-requests").text
        assert (f'href="/access-requests/{asked["id"]}"' in inbox) is decides, who
        assert ('action="/access-requests/%s/approve"' % asked["id"] in page.text) is decides, who


def test_who_sees_which_transfer(world):
    """The matrix: the sending team (sees it, may cancel), the receiving team (sees it, may decide), the other team
    of each organisation and a third party (the same "Page not found" as a transfer that does not exist)."""
    case = new_case(world, "Transfer matrix")
    lead = world["api"]["lead"]
    offered = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/transfer", {"to_team_id": world["council"].hub["id"],
                                                                        "note": "Theirs now"}), 201)
    expected = {"lead": ("cancel", False), "spoc": ("cancel", False), "asb": ("accept", True),
                "npt": (None, False), "council_npt": (None, False)}
    for who, (form, offered_to_them) in expected.items():
        web = browser(world, who)
        page = web.page(f"/transfers/{offered['id']}")
        if form is None:        # the same page as "no such" in the same session (its header has the session's token)
            assert page.status_code == 404 and page.text == web.page(f"/transfers/{uuid.uuid4()}").text, who
        else:
            assert page.status_code == 200 and f'action="/transfers/{offered["id"]}/{form}"' in page.text, who
        inbox = web.page("/transfers").text.split('id="sent"')[0]
        assert (f'href="/transfers/{offered["id"]}"' in inbox) is offered_to_them, who
    assert browser(world, "council_npt").submit(f"/transfers/{offered['id']}/accept", {
        "confirmed": "yes"}).status_code in (403, 404)
    assert lead.ok(lead.get(f"/api/v1/transfers/{offered['id']}"))["status"] == "pending"
    lead.ok(lead.post(f"/api/v1/transfers/{offered['id']}/cancel"))          # the other tests count what waits


def test_restrict_and_lift_it_and_break_glass(world):
    case = new_case(world, "Restricted one")
    lead = browser(world, "lead")
    sharing = text_of(lead.page(f"/cases/{case['id']}/sharing").text)
    assert "Who can see this case" in sharing and "Restrict it" in sharing
    done = lead.submit(f"/cases/{case['id']}/restriction", {"restricted": "yes"})
    assert done.status_code == 303 and "Restricted" in text_of(lead.page(done.headers["Location"]).text)
    assert world["api"]["lead"].ok(world["api"]["lead"].get(f"/api/v1/cases/{case['id']}/access"))["restricted"]
    asb = browser(world, "asb")
    assert asb.submit(f"/cases/{case['id']}/restriction", {"restricted": "no"}).status_code == 404  # not theirs

    empty = asb.submit(f"/cases/{case['id']}/break-glass", {"glass_reason": ""})
    assert empty.status_code == 422 and error_summary(empty.text) == [
        ("#glass_reason", "Enter why you need emergency access now")]
    glass = asb.submit(f"/cases/{case['id']}/break-glass", {"glass_reason": "Child at risk tonight, duty officer"})
    assert glass.status_code == 303 and glass.headers["Location"] == f"/cases/{case['id']}?emergency=1"
    opened = asb.page(glass.headers["Location"])
    assert opened.status_code == 200 and "Emergency access: you may view this case" in text_of(opened.text)
    view_only = text_of(asb.page(f"/cases/{case['id']}/sharing").text)        # may see it, may not manage it
    assert "Who can see this case" in view_only and "Restrict it" not in view_only and "Share it" not in view_only
    lifted = lead.submit(f"/cases/{case['id']}/restriction", {"restricted": "no"})
    assert "The restriction is lifted" in text_of(lead.page(lifted.headers["Location"]).text)
    absent = asb.submit(f"/cases/{uuid.uuid4()}/break-glass", {"glass_reason": "Child at risk tonight"})
    assert absent.status_code == 404


def test_a_transfer_offered_refused_then_accepted_with_consent(world):
    lead, council = world["api"]["lead"], world["council"]
    person = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Ada",
                                                    "family_name": f"Moss{uuid.uuid4().hex[:6]}"}), 201)
    web = browser(world, "lead")
    sharing = f"/profiles/{person['id']}/sharing"
    empty = web.submit(f"/profiles/{person['id']}/transfer", {"to_team_id": "", "transfer_note": ""})
    assert empty.status_code == 422 and error_summary(empty.text) == [
        ("#to_team_id", "Select the team that should lead it"),
        ("#transfer_note", "Enter why the lead should move to that team")]
    offered = web.submit(f"/profiles/{person['id']}/transfer", {"to_team_id": council.hub["id"],
                                                               "transfer_note": "She moved to council housing"})
    assert offered.status_code == 303 and offered.headers["Location"] == sharing + "?transfer_asked=1"
    assert "has been asked to take the lead" in text_of(web.page(sharing).text)

    receiving = browser(world, "asb")
    inbox = receiving.page("/transfers")
    transfer_id = re.search(r'href="/transfers/([0-9a-f-]{36})"', inbox.text).group(1)
    assert "She moved to council housing" in text_of(inbox.text)
    assert f'href="/transfers/{transfer_id}"' not in browser(world, "council_npt").page("/transfers").text
    assert browser(world, "council_npt").page(f"/transfers/{transfer_id}").status_code == 404
    assert "1 record offered" in text_of(receiving.page("/").text)

    unconfirmed = receiving.submit(f"/transfers/{transfer_id}/accept", {"is_person": "1"})
    assert unconfirmed.status_code == 422 and error_summary(unconfirmed.text) == [
        ("#consent_status", "Select what the person said about sharing their record"),
        ("#confirmed", "Confirm that you have checked consent and will lead this record")]
    refused = receiving.submit(f"/transfers/{transfer_id}/reject", {"reject_note": ""})
    assert error_summary(refused.text) == [("#reject_note", "Enter why your team will not take the lead")]
    assert receiving.submit(f"/transfers/{transfer_id}/reject", {"reject_note": "Not ours yet"}).status_code == 303
    assert "Not ours yet" in text_of(web.page("/transfers").text)

    web.submit(f"/profiles/{person['id']}/transfer", {"to_team_id": council.hub["id"], "transfer_note": "Again"})
    transfer_id = re.search(r'href="/transfers/([0-9a-f-]{36})"', receiving.page("/transfers").text).group(1)
    accepted = receiving.submit(f"/transfers/{transfer_id}/accept", {"is_person": "1", "consent_status": "given",
                                                                     "confirmed": "yes"})
    assert accepted.status_code == 303 and "Your team now leads it" in text_of(
        receiving.page(accepted.headers["Location"]).text)
    assert world["api"]["asb"].ok(world["api"]["asb"].get(f"/api/v1/profiles/{person['id']}"))["owner"][
        "team_id"] == council.hub["id"]


def test_the_sending_team_cancels_from_the_sharing_page(world):
    case = new_case(world, "To cancel")
    web = browser(world, "lead")
    web.submit(f"/cases/{case['id']}/transfer", {"to_team_id": world["council"].hub["id"], "transfer_note": "Theirs"})
    page = web.page(f"/cases/{case['id']}/sharing")
    transfer_id = re.search(r'action="/transfers/([0-9a-f-]{36})/cancel"', page.text).group(1)
    cancelled = web.submit(f"/transfers/{transfer_id}/cancel", {"return_to": f"/cases/{case['id']}/sharing"})
    assert cancelled.headers["Location"] == f"/cases/{case['id']}/sharing?transfer_cancelled=1"
    assert "The transfer is cancelled" in text_of(web.page(cancelled.headers["Location"]).text)
    elsewhere = web.submit(f"/transfers/{transfer_id}/cancel", {"return_to": "https://evil.example/x/sharing"})
    assert elsewhere.status_code in (303, 409) and "evil" not in elsewhere.headers.get("Location", "")


def test_the_home_page_shows_my_teams_cases_my_notifications_and_what_i_opened(world):
    case = new_case(world, "On the dashboard")
    web = browser(world, "lead")
    web.page(f"/cases/{case['id']}")
    page = web.page("/")
    words = text_of(page.text)
    assert page.status_code == 200 and "Signed in as Nadia" in words
    assert case["reference"] in words and "Safeguarding Hub" in words
    assert "Records you opened recently" in words
    wait_for(lambda: f'href="/cases/{case["id"]}"' in recent_part(web), message="the view reached the audit log")
    assert 'href="/notifications"' in page.text and 'href="/account"' in page.text
    assert "MY ACTIONS" not in page.text                           # the marked place is a template comment
    account = web.page("/account")
    assert account.status_code == 200 and "Signed in as Nadia" in text_of(account.text)
    # another agency's practitioner does not get the case among their recent ones (they never opened it)
    other = browser(world, "council_npt").page("/")
    assert case["reference"] not in other.text


def test_my_recent_records_names_only_what_i_may_still_open(world):
    case = new_case(world, "Shared then revoked")
    lead = world["api"]["lead"]
    grant = lead.ok(lead.post(f"/api/v1/cases/{case['id']}/grants", {
        "grantee_type": "team", "grantee_id": world["council"].hub["id"], "level": "view",
        "lawful_basis": "Public task", "justification": "Joint ASB casework agreed at the panel."}), 201)
    web = browser(world, "asb")
    web.page(f"/cases/{case['id']}")
    wait_for(lambda: f'href="/cases/{case["id"]}"' in recent_part(web), message="the view reached the audit log")
    lead.delete(f"/api/v1/cases/{case['id']}/grants/{grant['id']}")
    assert case["id"] not in recent_part(web)


def as_person(world, who) -> Caller:
    with support.rpc_as(world["config"], timeout=20) as anonymous:
        return caller_from_principal(anonymous.permissions.resolve_token(world["api"][who].token))


def test_the_new_rpcs_answer_only_for_the_caller(world):
    """audit.my_recent_records: a person's own views, newest first, each record once; visible_names: only
    what the caller may open now, unknown and malformed ids left out, as if absent."""
    mine, theirs = new_case(world, "Mine"), new_case(world, "Also mine")
    lead = world["api"]["lead"]
    for case in (mine, theirs, mine):
        lead.ok(lead.get(f"/api/v1/cases/{case['id']}"))
    with support.rpc_as(world["config"], as_person(world, "lead"), timeout=20) as rpc:
        wait_for(lambda: [item["record"]["id"] for item in rpc.audit.my_recent_records({"limit": 2})["items"]]
                 == [mine["id"], theirs["id"]], message="the views reached the audit log")
        with pytest.raises(ValidationFailed):
            rpc.audit.my_recent_records({"limit": 0})
        named = rpc.cases.visible_names("case", [mine["id"], str(uuid.uuid4()), "not-an-id"])["items"]
        assert named == [{"id": mine["id"], "display_name": mine["reference"]}]
    with support.rpc_as(world["config"], as_person(world, "asb"), timeout=20) as rpc:
        assert mine["id"] not in [item["record"]["id"] for item in rpc.audit.my_recent_records()["items"]]
        assert rpc.cases.visible_names("case", [mine["id"]]) == {"items": []}          # not theirs to see
    client = Caller(kind="client", id=str(uuid.uuid4()), organisation_id=world["force"].org["id"],
                    scopes=("cases:read",))
    with support.rpc_as(world["config"], client, timeout=20) as rpc:
        with pytest.raises(Forbidden):
            rpc.audit.my_recent_records()
