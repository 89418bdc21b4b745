"""A record's access list (concord_common/access/records.py) on the profiles database's tables: who may
read it, share it, restrict it, break the glass and move it, and what each change leaves behind."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.access.store import grants
from concord_common.context import SYSTEM
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.profiles.models import Profile
from tests.logic import world
from tests.logic.world import (AGREEMENTS, CALLERS, COLLEAGUE, LEAD, ORG_A, ORG_B, ORG_C, ORG_D, PARTNER,
                               PARTNER_ORG, PROFILE_KIND, STRANGER, TEAM_A1, TEAM_A2, TEAM_B1, TEAM_D1, outcome)

REASON = {"reason": "Child seen at A&E out of hours with injuries"}
SHARE_WITH_B = {"grantee_type": "team", "grantee_id": TEAM_B1, "level": "edit",
                "lawful_basis": "Children Act 1989 s.47"}


@pytest.fixture
def shared(uow):
    """A person led by team A1, shared with team B1 (view) and organisation C (edit): {id, grant ids}."""
    with uow(SYSTEM) as work:
        profile = world.person(work.session, "Avery", "Quill")
        team_grant = world.grant(work.session, profile.id, "team", TEAM_B1, "view")
        org_grant = world.grant(work.session, profile.id, "organisation", ORG_C, "edit")
    return {"id": profile.id, "team_grant": team_grant, "org_grant": org_grant}


ACTIONS = {
    "view": lambda work, rec: records.check_access(work.session, work.caller, PROFILE_KIND, rec["id"], "view"),
    "edit": lambda work, rec: records.check_access(work.session, work.caller, PROFILE_KIND, rec["id"], "edit"),
    "share": lambda work, rec: records.check_access(work.session, work.caller, PROFILE_KIND, rec["id"], "share"),
    "audit": lambda work, rec: records.check_access(work.session, work.caller, PROFILE_KIND, rec["id"], "audit"),
    "access list": lambda work, rec: records.access_list(work, PROFILE_KIND, rec["id"]),
    "add grant": lambda work, rec: records.add_grant(work, PROFILE_KIND, rec["id"], SHARE_WITH_B, world.Directory()),
    "revoke grant": lambda work, rec: records.revoke_grant(work, PROFILE_KIND, rec["id"], rec["team_grant"]),
    "restrict": lambda work, rec: records.set_restricted(work, PROFILE_KIND, rec["id"], {"restricted": True}),
    "break-glass": lambda work, rec: records.break_glass(work, PROFILE_KIND, rec["id"], REASON, 60),
    "transfer": lambda work, rec: records.apply_transfer(work, PROFILE_KIND, rec["id"], {
        "to_team_id": TEAM_A2, "to_organisation_id": ORG_A, "consent": {"status": "given"}}),
}

# "ok" allowed; "403" may know the record exists; "404" may not (the same answer as no record at all).
EXPECTED = {                  # view  edit  share audit list  grant revoke restrict glass transfer
    "lead team member":       "ok    ok    ok    ok    ok    ok    ok    ok    ok    403",
    "other team, same org":   "404   404   404   404   404   404   404   404   ok    403",
    "granted team":           "ok    403   403   403   403   403   403   403   ok    403",
    "granted organisation":   "ok    ok    403   403   ok    403   403   403   ok    403",
    "client, read+write":     "ok    ok    403   403   ok    403   403   403   403   403",
    "client, no scopes":      "403   403   403   403   403   403   403   403   403   403",
    "client of granted org":  "ok    403   403   403   ok    403   403   403   403   403",
    "stranger":               "404   404   404   404   404   404   404   404   ok    403",
    "anonymous":              "404   404   404   404   404   404   404   404   403   403",
    "system":                 "ok    ok    ok    ok    ok    ok    ok    ok    403   ok",
}


def why(uow, caller, record_id) -> dict:
    with uow(caller) as work:
        return records.why(work, PROFILE_KIND, record_id)


@pytest.mark.parametrize("who", EXPECTED)
def test_who_may_do_what_to_a_shared_record(uow, shared, who):
    caller = CALLERS[who]
    found = {action: outcome(uow, caller, lambda work: run(work, shared)) for action, run in ACTIONS.items()}
    assert found == dict(zip(ACTIONS, EXPECTED[who].split())), who


@pytest.mark.parametrize("who", EXPECTED)
def test_why_agrees_with_what_the_caller_may_do_and_never_reveals_a_hidden_record(uow, shared, who):
    expected = dict(zip(ACTIONS, EXPECTED[who].split()))
    with uow(CALLERS[who]) as work:
        answer = records.why(work, PROFILE_KIND, shared["id"])
        missing = records.why(work, PROFILE_KIND, world._id())
        malformed = records.why(work, PROFILE_KIND, "not-a-uuid")
    assert (answer["can_view"], answer["can_edit"], answer["can_share"]) == \
        (expected["view"] == "ok", expected["edit"] == "ok", expected["share"] == "ok")
    assert missing == malformed == {"can_view": False, "can_edit": False, "can_share": False,
                                    "explanation": records.NOT_VISIBLE}
    if expected["view"] == "404":
        assert answer == missing            # the same words as for no record at all
    else:
        assert answer["explanation"] and answer["restricted"] is False


def test_a_missing_or_malformed_record_is_404_for_everyone(uow):
    for caller in (LEAD, SYSTEM):
        for record_id in (world._id(), "not-a-uuid", None):
            assert outcome(uow, caller, lambda work: records.check_access(
                work.session, work.caller, PROFILE_KIND, record_id, "view")) == "404"


def test_why_explains_each_way_in_and_each_way_out(uow, shared):
    with uow(SYSTEM) as work:
        expired = world.grant(work.session, shared["id"], "team", TEAM_D1, "edit",
                              expires_at=clock.now() - timedelta(minutes=1))
        assert expired
    lead, partner, partner_org, stranger = (why(uow, caller, shared["id"])
                                            for caller in (LEAD, PARTNER, PARTNER_ORG, STRANGER))
    assert lead["level"] == "edit" and "member of the team that leads" in lead["explanation"]
    assert partner["level"] == "view" and "Your team was given view access by the owning team" in partner["explanation"]
    assert partner_org["level"] == "edit" and "Your organisation was given edit access" in partner_org["explanation"]
    assert stranger["explanation"] == records.NOT_VISIBLE           # an expired grant shows nothing either


def test_the_access_list_shows_the_owner_and_the_live_grants_only(uow, shared):
    with uow(SYSTEM) as work:
        world.grant(work.session, shared["id"], "team", TEAM_D1, "view", revoked_at=clock.now())
    with uow(LEAD) as work:
        listed = records.access_list(work, PROFILE_KIND, shared["id"])
    assert listed["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1} and listed["restricted"] is False
    assert {(g["id"], g["grantee_type"], g["grantee_id"], g["level"], g["status"]) for g in listed["grants"]} == {
        (shared["team_grant"], "team", TEAM_B1, "view", "active"),
        (shared["org_grant"], "organisation", ORG_C, "edit", "active")}
    with pytest.raises(Forbidden, match="edit access"):
        with uow(PARTNER) as work:
            records.access_list(work, PROFILE_KIND, shared["id"])


# -- sharing ----------------------------------------------------------------------------
def test_sharing_with_a_team_under_an_agreement_lets_its_members_in(uow, directory):
    with uow(LEAD) as work:
        profile = world.person(work.session, "Bryn", "Tallis")
    assert outcome(uow, PARTNER, lambda work: records.check_access(
        work.session, PARTNER, PROFILE_KIND, profile.id, "view")) == "404"
    with uow(LEAD) as work:
        created = records.add_grant(work, PROFILE_KIND, profile.id, SHARE_WITH_B, directory)
    assert created["grantee_organisation_id"] == ORG_B and created["status"] == "active"
    assert created["level"] == "edit" and created["granted_by"] == LEAD.id and created["justification"] is None
    [event] = work.committed_events
    assert event["type"] == "profile.shared" and event["caller"]["id"] == LEAD.id
    assert event["data"]["record"] == {"type": "profile", "id": profile.id}
    assert event["data"]["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1}
    assert event["data"]["sharing_agreement_id"] == AGREEMENTS[frozenset((ORG_A, ORG_B))]["id"]
    assert event["data"]["grant"] == created
    with uow(PARTNER) as work:
        assert records.check_access(work.session, PARTNER, PROFILE_KIND, profile.id, "edit")["level"] == "edit"


def test_sharing_without_an_agreement_or_against_refused_consent_needs_a_justification(uow, directory):
    with uow(LEAD) as work:
        plain = world.person(work.session, "Cai", "Lorrimer")
        refused = world.person(work.session, "Dee", "Lorrimer", consent="refused")
    to_c = {"grantee_type": "organisation", "grantee_id": ORG_C, "level": "view", "lawful_basis": "GDPR 6(1)(e)"}
    with pytest.raises(ValidationFailed) as no_agreement:
        with uow(LEAD) as work:
            records.add_grant(work, PROFILE_KIND, plain.id, to_c, directory)
    assert no_agreement.value.errors == {"justification": [
        "No active sharing agreement covers that organisation: say why sharing is justified."]}
    with pytest.raises(ValidationFailed) as against_consent:
        with uow(LEAD) as work:
            records.add_grant(work, PROFILE_KIND, refused.id, SHARE_WITH_B, directory)
    assert against_consent.value.errors == {"justification": [
        "Consent to share was refused: record the reason for overriding it."]}
    justified = "Immediate safeguarding risk to a child"
    with uow(LEAD) as work:
        made = records.add_grant(work, PROFILE_KIND, plain.id, {**to_c, "justification": justified}, directory)
    assert made["justification"] == justified and made["grantee_organisation_id"] == ORG_C
    assert work.committed_events[0]["data"]["sharing_agreement_id"] is None
    with uow(PARTNER_ORG) as work:
        assert records.check_access(work.session, PARTNER_ORG, PROFILE_KIND, plain.id, "view")["level"] == "view"


@pytest.mark.parametrize("payload, field, message", [
    ({"grantee_type": "team", "grantee_id": TEAM_A1}, "grantee_id", "That team already leads this record."),
    ({"grantee_type": "team", "grantee_id": world._id()}, "grantee_id", "There is no such team."),
    ({"grantee_type": "organisation", "grantee_id": world._id()}, "grantee_id", "There is no such organisation."),
    ({"grantee_type": "user", "grantee_id": TEAM_B1}, "grantee_type", None),
    ({"level": "own"}, "level", None),
    ({"expires_at": "2001-01-01T00:00:00+00:00"}, "expires_at", "Must be in the future."),
])
def test_a_grant_that_cannot_be_made_says_which_field_is_wrong(uow, directory, payload, field, message):
    with uow(LEAD) as work:
        profile = world.person(work.session, "Eli", "Fenwick")
    with pytest.raises(ValidationFailed) as refused:
        with uow(LEAD) as work:
            records.add_grant(work, PROFILE_KIND, profile.id, {**SHARE_WITH_B, **payload}, directory)
    assert field in refused.value.errors
    if message:
        assert refused.value.errors[field] == [message]
    with uow(LEAD) as work:
        assert records.access_list(work, PROFILE_KIND, profile.id)["grants"] == []


def test_revoking_a_grant_shuts_its_grantee_out_at_once(uow, shared):
    with uow(COLLEAGUE) as work:       # the lead team's business: another team of the organisation gets 404
        with pytest.raises(NotFound):
            records.revoke_grant(work, PROFILE_KIND, shared["id"], shared["team_grant"])
    with uow(LEAD) as work:
        records.revoke_grant(work, PROFILE_KIND, shared["id"], shared["team_grant"])
    [event] = work.committed_events
    assert event["type"] == "profile.unshared" and event["data"]["grant"]["id"] == shared["team_grant"]
    assert event["data"]["grant"]["grantee_id"] == TEAM_B1
    assert outcome(uow, PARTNER, lambda work: records.check_access(
        work.session, PARTNER, PROFILE_KIND, shared["id"], "view")) == "404"
    with uow(LEAD) as work:
        row = work.session.execute(select(grants).where(grants.c.id == shared["team_grant"])).one()
        listed = records.access_list(work, PROFILE_KIND, shared["id"])
        assert row.revoked_by == LEAD.id and row.revoked_at is not None
        assert [g["id"] for g in listed["grants"]] == [shared["org_grant"]]
        with pytest.raises(NotFound):      # once only; and an unknown grant is 404 too
            records.revoke_grant(work, PROFILE_KIND, shared["id"], shared["team_grant"])
        with pytest.raises(NotFound):
            records.revoke_grant(work, PROFILE_KIND, shared["id"], world._id())


def test_an_expired_grant_gives_nothing_and_says_so(uow):
    with uow(SYSTEM) as work:
        profile = world.person(work.session, "Fay", "Garland")
        world.grant(work.session, profile.id, "team", TEAM_B1, "edit", expires_at=clock.now() - timedelta(seconds=1))
        live = world.grant(work.session, profile.id, "organisation", ORG_B, "view",
                           expires_at=clock.now() + timedelta(days=1))
    with uow(PARTNER) as work:          # the expired team grant is named; the organisation's grant still counts
        found = records.why(work, PROFILE_KIND, profile.id)
        assert found["level"] == "view" and "has expired" in found["explanation"]
        assert records.check_access(work.session, PARTNER, PROFILE_KIND, profile.id, "view")["allowed"]
    with uow(LEAD) as work:
        listed = records.access_list(work, PROFILE_KIND, profile.id)
    assert {g["id"]: g["status"] for g in listed["grants"]}[live] == "active"
    assert sorted(g["status"] for g in listed["grants"]) == ["active", "expired"]


# -- restriction -------------------------------------------------------------------------
def test_restricting_changes_the_flag_once_and_keeps_the_access_list(uow, shared):
    with uow(LEAD) as work:
        answer = records.set_restricted(work, PROFILE_KIND, shared["id"], {"restricted": True})
    assert answer == {"owner": {"organisation_id": ORG_A, "team_id": TEAM_A1}, "restricted": True}
    [event] = work.committed_events
    assert event["type"] == "profile.restricted"
    assert event["data"]["fields"] == {"restricted": {"before": False, "after": True}}
    with uow(LEAD) as work:
        records.set_restricted(work, PROFILE_KIND, shared["id"], {"restricted": True})
    assert work.committed_events == []                       # no change, no event
    with uow(PARTNER) as work:                               # grants still hold on a restricted record
        assert records.why(work, PROFILE_KIND, shared["id"])["restricted"] is True
    with uow(STRANGER) as work:                              # … and a stranger learns nothing of it
        assert records.why(work, PROFILE_KIND, shared["id"])["explanation"] == records.NOT_VISIBLE
    with uow(LEAD) as work:
        records.set_restricted(work, PROFILE_KIND, shared["id"], {"restricted": False})
    assert [e["type"] for e in work.committed_events] == ["profile.unrestricted"]
    with pytest.raises(ValidationFailed) as not_boolean:
        with uow(LEAD) as work:
            records.set_restricted(work, PROFILE_KIND, shared["id"], {"restricted": "yes"})
    assert "restricted" in not_boolean.value.errors


# -- break-glass ---------------------------------------------------------------------------
def test_break_glass_gives_a_stranger_view_access_for_a_while_and_is_loud(uow, shared):
    with uow(STRANGER) as work:
        answer = records.break_glass(work, PROFILE_KIND, shared["id"], REASON, 30)
    assert answer["level"] == "view" and answer["record"] == {"type": "profile", "id": shared["id"]}
    expires = answer["expires_at"]
    [event] = work.committed_events
    assert event["type"] == "profile.break_glass" and event["caller"]["id"] == STRANGER.id
    assert event["data"]["reason"] == REASON["reason"] and event["data"]["display_name"] == "Avery Quill"
    assert event["data"]["expires_at"] == expires
    with uow(STRANGER) as work:
        why = records.why(work, PROFILE_KIND, shared["id"])
        assert (why["can_view"], why["can_edit"], why["can_share"]) == (True, False, False)
        assert "by emergency (break-glass) access until" in why["explanation"]
        with pytest.raises(Forbidden):
            records.require(STRANGER, records.load(work.session, PROFILE_KIND, shared["id"])[1], "edit")
    with uow(LEAD) as work:
        [glass] = [g for g in records.access_list(work, PROFILE_KIND, shared["id"])["grants"]
                   if g["source"] == "break_glass"]
    assert (glass["grantee_type"], glass["grantee_id"], glass["grantee_organisation_id"]) == ("user", STRANGER.id,
                                                                                              ORG_D)
    assert glass["expires_at"] == expires and glass["justification"] == REASON["reason"]
    assert abs((datetime.fromisoformat(expires) - clock.now()).total_seconds() - 30 * 60) < 60


def test_break_glass_needs_a_person_a_reason_and_a_record(uow, shared):
    assert outcome(uow, CALLERS["client, read+write"], lambda work: records.break_glass(
        work, PROFILE_KIND, shared["id"], REASON, 60)) == "403"
    for short in ({"reason": "because"}, {"reason": " " * 12}, {}):
        with pytest.raises(ValidationFailed) as refused:
            with uow(STRANGER) as work:
                records.break_glass(work, PROFILE_KIND, shared["id"], short, 60)
        assert "reason" in refused.value.errors
    assert outcome(uow, STRANGER, lambda work: records.break_glass(work, PROFILE_KIND, world._id(), REASON, 60)) \
        == "404"


# -- requests to the lead team, through the directory -----------------------------------------
def test_asking_for_access_and_offering_a_transfer_go_to_the_directory(uow, shared, directory):
    with uow(STRANGER) as work:
        records.request_access(work, PROFILE_KIND, shared["id"], REASON, directory)
    [(record, reason)] = directory.access_requests
    assert reason == REASON["reason"]
    assert record == {"type": "profile", "id": shared["id"], "display_name": "Avery Quill", "owner_team_id": TEAM_A1,
                      "owner_organisation_id": ORG_A, "is_person": True}
    with pytest.raises(Conflict):
        with uow(PARTNER) as work:
            records.request_access(work, PROFILE_KIND, shared["id"], REASON, directory)
    with uow(LEAD) as work:
        records.request_transfer(work, PROFILE_KIND, shared["id"], {"to_team_id": TEAM_B1, "note": "Moved"}, directory)
    assert directory.transfers == [(record, {"to_team_id": TEAM_B1, "note": "Moved"})]
    assert outcome(uow, PARTNER, lambda work: records.request_transfer(
        work, PROFILE_KIND, shared["id"], {"to_team_id": TEAM_B1}, directory)) == "403"


# -- asked by the permissions service, as the system ----------------------------------------
def test_an_approved_transfer_moves_the_record_and_its_access(uow, shared):
    move = {"to_team_id": TEAM_B1, "to_organisation_id": ORG_B, "transfer_id": world._id(), "accepted_by": "u-b"}
    with pytest.raises(ValidationFailed) as no_consent:       # a person's record moves only with consent again
        with uow(SYSTEM) as work:
            records.apply_transfer(work, PROFILE_KIND, shared["id"], move)
    assert "consent" in no_consent.value.errors
    consent = {"status": "given", "detail": "Mother agreed by phone"}
    with uow(SYSTEM) as work:
        answer = records.apply_transfer(work, PROFILE_KIND, shared["id"], {**move, "consent": consent},
                                        lambda given: {"consent_status": given["status"],
                                                       "consent_detail": given["detail"]})
    assert answer == {"owner": {"organisation_id": ORG_B, "team_id": TEAM_B1}}
    [event] = work.committed_events
    assert event["type"] == "profile.owner_changed" and event["data"]["transfer_id"] == move["transfer_id"]
    assert event["data"]["fields"] == {"owner_team_id": {"before": TEAM_A1, "after": TEAM_B1},
                                       "owner_organisation_id": {"before": ORG_A, "after": ORG_B}}
    with uow(SYSTEM) as work:
        row = work.session.get(Profile, shared["id"])
        assert (row.owner_team_id, row.version, row.consent_status, row.consent_detail) == \
            (TEAM_B1, 2, "given", "Mother agreed by phone")
        again = records.apply_transfer(work, PROFILE_KIND, shared["id"], {**move, "consent": consent})
    assert again == answer and work.committed_events == []     # a retried call changes nothing
    assert outcome(uow, LEAD, lambda work: records.check_access(
        work.session, LEAD, PROFILE_KIND, shared["id"], "view")) == "404"
    assert outcome(uow, PARTNER, lambda work: records.check_access(
        work.session, PARTNER, PROFILE_KIND, shared["id"], "share")) == "ok"


def test_an_approved_access_request_grants_once_however_often_it_is_retried(uow, shared):
    approved = {"grantee_type": "user", "grantee_id": STRANGER.id, "grantee_organisation_id": ORG_D, "level": "view",
                "lawful_basis": "Approved access request", "source_id": world._id(), "granted_by": LEAD.id}
    assert outcome(uow, LEAD, lambda work: records.apply_access_grant(work, PROFILE_KIND, shared["id"], approved)) \
        == "403"
    with uow(SYSTEM) as work:
        first = records.apply_access_grant(work, PROFILE_KIND, shared["id"], approved)
    assert first["source"] == "access_request" and [e["type"] for e in work.committed_events] == ["profile.shared"]
    with uow(SYSTEM) as work:
        again = records.apply_access_grant(work, PROFILE_KIND, shared["id"], approved)
    assert again == first and work.committed_events == []
    with uow(STRANGER) as work:
        why = records.why(work, PROFILE_KIND, shared["id"])
    assert why["can_view"] and "after your access request was approved" in why["explanation"]
