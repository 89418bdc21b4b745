"""Sharing a profile end to end: grants and their rules, revocation, requests, transfers, break-glass."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.directory import Directory, bootstrap_admin, sign_in

LAWFUL = "Crime and Disorder Act 1998 s115"


@pytest.fixture
def agencies(system, service_config):
    admin = bootstrap_admin(system, service_config("permissions"))
    police, council = Directory(system, admin), Directory(system, admin)
    lead = sign_in(system, police.user("lead", [(police.hub, "practitioner")])["username"])
    social_worker = sign_in(system, council.user("sw", [(council.hub, "practitioner")])["username"])
    profile = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Shared",
                                                     "family_name": "Person", "date_of_birth": "2011-02-03"}), 201)
    return {"url": system, "admin": admin, "police": police, "council": council, "lead": lead,
            "sw": social_worker, "profile": profile}


def grant_body(**overrides):
    return {"grantee_type": "team", "level": "view", "lawful_basis": LAWFUL, **overrides}


def test_bad_grants_name_the_field_and_change_nothing(agencies):
    lead, pid, council = agencies["lead"], agencies["profile"]["id"], agencies["council"]
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    cases = [
        (grant_body(grantee_id=council.hub["id"], lawful_basis=None), "lawful_basis"),
        ({"grantee_type": "team", "grantee_id": council.hub["id"], "level": "view"}, "lawful_basis"),
        (grant_body(grantee_id=str(uuid.uuid4())), "grantee_id"),
        (grant_body(grantee_id="not-a-uuid"), "grantee_id"),
        (grant_body(grantee_id=council.hub["id"], expires_at=past), "expires_at"),
        (grant_body(grantee_id=council.hub["id"], level="admin"), "level"),
        (grant_body(grantee_id=council.hub["id"], grantee_type="person"), "grantee_type"),
        (grant_body(grantee_id=council.hub["id"]), "justification"),     # no sharing agreement
    ]
    for body, field in cases:
        response = lead.post(f"/api/v1/profiles/{pid}/grants", body)
        assert response.status_code in (400, 422), (body, response.text)
        assert field in response.json().get("errors", {}), (body, response.json())
    assert lead.ok(lead.get(f"/api/v1/profiles/{pid}/access"))["grants"] == []


def test_an_agreement_makes_justification_unnecessary_and_revoking_works_on_the_next_request(agencies):
    lead, sw, pid = agencies["lead"], agencies["sw"], agencies["profile"]["id"]
    police, council, admin = agencies["police"], agencies["council"], agencies["admin"]
    admin.ok(admin.post("/api/v1/sharing-agreements", {
        "name": "Leeds safeguarding partnership", "purpose": "Safeguarding children and adults at risk",
        "lawful_basis": LAWFUL, "organisation_ids": [police.org["id"], council.org["id"]],
        "review_date": (datetime.now(timezone.utc) + timedelta(days=365)).date().isoformat()}), 201)
    assert sw.get(f"/api/v1/profiles/{pid}").status_code == 404
    created = lead.ok(lead.post(f"/api/v1/profiles/{pid}/grants",
                                grant_body(grantee_id=council.hub["id"])), 201)
    assert created["level"] == "view" and created["lawful_basis"] == LAWFUL
    assert sw.ok(sw.get(f"/api/v1/profiles/{pid}"))["id"] == pid
    assert lead.delete(f"/api/v1/profiles/{pid}/grants/{created['id']}").status_code == 204
    assert sw.get(f"/api/v1/profiles/{pid}").status_code == 404


def test_refused_consent_needs_an_override_reason(agencies):
    lead, council = agencies["lead"], agencies["council"]
    refused = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "No", "family_name": "Consent",
                                                     "consent": {"status": "refused"}}), 201)
    body = grant_body(grantee_id=council.hub["id"])
    response = lead.post(f"/api/v1/profiles/{refused['id']}/grants", body)
    assert response.status_code == 422
    assert any("Consent" in message for message in response.json()["errors"]["justification"])
    ok = lead.post(f"/api/v1/profiles/{refused['id']}/grants",
                   {**body, "justification": "Risk of serious harm to the child outweighs the refusal."})
    assert ok.status_code == 201, ok.text


def test_restricting_keeps_the_record_a_signpost_for_others(agencies):
    lead, sw, pid = agencies["lead"], agencies["sw"], agencies["profile"]["id"]
    assert lead.ok(lead.patch(f"/api/v1/profiles/{pid}/access", {"restricted": True}))["restricted"] is True
    bad = lead.patch(f"/api/v1/profiles/{pid}/access", {"restricted": "yes"})
    assert bad.status_code == 422 and "restricted" in bad.json()["errors"]
    items = sw.ok(sw.get("/api/v1/profiles", params={"q": "Shared Person"}))["items"]
    assert [item["access"] for item in items if item["id"] == pid] == ["signpost"]
    assert sw.get(f"/api/v1/profiles/{pid}").status_code == 404


def test_access_request_approved_by_the_lead_team(agencies):
    lead, sw, pid = agencies["lead"], agencies["sw"], agencies["profile"]["id"]
    short = sw.post(f"/api/v1/profiles/{pid}/access-requests", {"reason": "pls"})
    assert short.status_code == 422 and "reason" in short.json()["errors"]
    asked = sw.ok(sw.post(f"/api/v1/profiles/{pid}/access-requests",
                          {"reason": "Allocated social worker for the child; need the police history."}), 201)
    assert asked["status"] == "pending"
    assert sw.post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"}).status_code in (403, 404)
    approved = lead.post(f"/api/v1/access-requests/{asked['id']}/approve", {"level": "view"})
    assert approved.status_code in (200, 201), approved.text
    assert sw.ok(sw.get(f"/api/v1/profiles/{pid}"))["id"] == pid
    assert "access request" in sw.ok(sw.get(f"/api/v1/profiles/{pid}/why"))["explanation"]


def test_transfer_is_pending_until_accepted_with_consent_reconfirmed(agencies):
    lead, sw, pid, council = agencies["lead"], agencies["sw"], agencies["profile"]["id"], agencies["council"]
    transfer = lead.ok(lead.post(f"/api/v1/profiles/{pid}/transfer", {"to_team_id": council.hub["id"]}), 201)
    assert sw.get(f"/api/v1/profiles/{pid}").status_code == 404          # nothing moves while pending
    missing = sw.post(f"/api/v1/transfers/{transfer['id']}/accept", {})
    assert missing.status_code == 422 and "consent" in missing.json()["errors"]
    accepted = sw.post(f"/api/v1/transfers/{transfer['id']}/accept", {"consent": {"status": "given"}})
    assert accepted.status_code in (200, 201), accepted.text
    profile = sw.ok(sw.get(f"/api/v1/profiles/{pid}"))
    assert profile["owner"] == {"organisation_id": council.org["id"], "team_id": council.hub["id"]}
    assert profile["consent"]["status"] == "given"
    assert lead.get(f"/api/v1/profiles/{pid}").status_code == 404        # the old lead team no longer sees it


def test_break_glass_gives_time_limited_view_and_stands_out(agencies):
    sw, pid = agencies["sw"], agencies["profile"]["id"]
    assert sw.post(f"/api/v1/profiles/{pid}/break-glass", {"reason": "short"}).status_code == 422
    opened = sw.ok(sw.post(f"/api/v1/profiles/{pid}/break-glass",
                           {"reason": "Child missing overnight; need to know who to contact."}), 201)
    expires = datetime.fromisoformat(opened["expires_at"])
    assert timedelta(minutes=55) < expires - datetime.now(timezone.utc) <= timedelta(minutes=60)
    assert sw.ok(sw.get(f"/api/v1/profiles/{pid}"))["id"] == pid
    assert sw.patch(f"/api/v1/profiles/{pid}", {"given_name": "X"}, {"If-Match": '"1"'}).status_code == 403


def test_people_are_told_about_requests_decisions_and_break_glass(agencies):
    from tests import support
    lead, sw, pid = agencies["lead"], agencies["sw"], agencies["profile"]["id"]

    def titles(api):
        return [item["title"] for item in api.ok(api.get("/api/v1/me/notifications"))["items"]]

    asked = sw.ok(sw.post(f"/api/v1/profiles/{pid}/access-requests",
                          {"reason": "Allocated social worker; need the police history."}), 201)
    support.wait_for(lambda: "Access requested" in titles(lead), message="the lead team to be told")
    assert lead.post(f"/api/v1/access-requests/{asked['id']}/deny", {"note": "Ask the MASH"}).status_code == 200
    support.wait_for(lambda: "Access request denied" in titles(sw), message="the requester to be told")

    sw.ok(sw.post(f"/api/v1/profiles/{pid}/break-glass", {"reason": "Child missing; need contacts now."}), 201)
    support.wait_for(lambda: "Emergency access used" in titles(lead), message="the lead team to be told")
    note = next(item for item in lead.ok(lead.get("/api/v1/me/notifications"))["items"]
                if item["title"] == "Emergency access used")
    assert note["record"] == {"type": "profile", "id": pid} and note["read"] is False
    assert lead.post(f"/api/v1/me/notifications/{note['id']}/read").status_code == 204
    unread = lead.ok(lead.get("/api/v1/me/notifications", params={"unread": "1"}))["items"]
    assert note["id"] not in [item["id"] for item in unread]
    assert sw.post(f"/api/v1/me/notifications/{note['id']}/read").status_code == 404   # not theirs
