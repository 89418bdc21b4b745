"""Merge respects ownership (issue 11, item 7): merging needs the lead team's rights on both profiles; where
another team leads the duplicate, the merge is a request that team accepts (services/profiles/
merge_requests.py). Before, an edit grantee could fold another organisation's record into its own, and the
owner could not undo it."""
import pytest
from sqlalchemy import select

from concord_common.context import SYSTEM
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.profiles import duplicates, merge_requests
from services.profiles.models import MergeRequest, Profile
from tests.logic import world
from tests.logic.world import (COLLEAGUE, LEAD, ORG_A, ORG_C, PARTNER, PARTNER_ORG, STRANGER, TEAM_A1, TEAM_A2,
                               TEAM_C1, outcome)


@pytest.fixture
def records_of_two_organisations(uow):
    """A's record of Kim Rowe (led by A1, shared with organisation C for edit) and C's own record of her."""
    with uow(SYSTEM) as work:
        ours = world.person(work.session, "Kim", "Rowe", identifiers=[("nhs_number", "9434765919")])
        theirs = world.person(work.session, "Kym", "Rowe", team=TEAM_C1)
        world.grant(work.session, ours.id, "organisation", ORG_C, "edit")
        world.grant(work.session, theirs.id, "organisation", ORG_A, "view")
    return {"ours": ours.id, "theirs": theirs.id}


def merged_into(uow, profile_id):
    with uow(SYSTEM) as work:
        return work.session.get(Profile, profile_id).merged_into


def merge(uow, caller, survivor, duplicate, **extra):
    with uow(caller) as work:
        answer = duplicates.merge(work, survivor, {"duplicate_id": duplicate, **extra})
    return answer, work.committed_events


def test_an_edit_grantee_cannot_fold_the_owners_record_into_its_own_it_can_only_ask(uow, records_of_two_organisations):
    ours, theirs = records_of_two_organisations["ours"], records_of_two_organisations["theirs"]
    answer, events = merge(uow, PARTNER_ORG, theirs, ours, note="Same NHS number")
    asked = answer["merge_request"]
    assert merged_into(uow, ours) is None                               # nothing merged yet
    assert (asked["status"], asked["survivor"]["id"], asked["duplicate"]["id"]) == ("pending", theirs, ours)
    assert (asked["from_team_id"], asked["to_team_id"], asked["to_organisation_id"]) == (TEAM_C1, TEAM_A1, ORG_A)
    assert asked["note"] == "Same NHS number" and asked["requested_by"] == PARTNER_ORG.id
    [event] = events
    assert event["type"] == "profile.merge_requested" and event["data"]["record"] == {"type": "profile", "id": ours}
    assert event["data"]["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1}
    with pytest.raises(Conflict, match="already waiting"):
        merge(uow, PARTNER_ORG, theirs, ours)


def test_merging_into_a_record_needs_its_lead_team(uow, records_of_two_organisations):
    ours, theirs = records_of_two_organisations["ours"], records_of_two_organisations["theirs"]
    with uow(SYSTEM) as work:
        also_ours = world.person(work.session, "Kim", "Rowe").id
        world.grant(work.session, also_ours, "organisation", ORG_C, "edit")
    run = lambda caller, survivor, duplicate: outcome(              # noqa: E731
        uow, caller, lambda work: duplicates.merge(work, survivor, {"duplicate_id": duplicate}))
    assert run(PARTNER_ORG, ours, also_ours) == "403"       # edit on both, leads neither
    assert run(PARTNER_ORG, ours, theirs) == "403"          # edit on the survivor, leads the duplicate
    assert run(COLLEAGUE, ours, also_ours) == "404"         # same organisation, another team: may not see it
    assert run(PARTNER, ours, also_ours) == "404"
    assert run(STRANGER, ours, also_ours) == "404"
    assert run(LEAD, ours, also_ours) == "ok"               # leads both: merged at once
    with pytest.raises(Forbidden, match="Only the team that leads this profile"):
        merge(uow, PARTNER_ORG, ours, also_ours)


def test_the_team_leading_the_duplicate_accepts_and_the_merge_is_done_then(uow, records_of_two_organisations):
    ours, theirs = records_of_two_organisations["ours"], records_of_two_organisations["theirs"]
    asked = merge(uow, PARTNER_ORG, theirs, ours)[0]["merge_request"]
    refusals = [(PARTNER_ORG, Forbidden), (STRANGER, NotFound), (COLLEAGUE, NotFound)]   # asker: 403; others: 404
    for caller, error in refusals:
        with pytest.raises(error):
            with uow(caller) as work:
                merge_requests.accept(work, asked["id"])
    with uow(LEAD) as work:
        listed = merge_requests.list_merge_requests(work.session, LEAD, {"direction": "incoming"})
        assert [item["id"] for item in listed["items"]] == [asked["id"]]
        accepted = merge_requests.accept(work, asked["id"], {"note": "Agreed: same woman"})
    assert merged_into(uow, ours) == theirs and accepted["id"] == theirs
    assert {i["value"] for i in accepted["identifiers"]} == {"9434765919"}
    assert accepted["merge_request"]["status"] == "accepted" and accepted["merge_request"]["decided_by"] == LEAD.id
    assert accepted["merge_request"]["merge_id"] == accepted["merge"]["id"]
    assert [e["type"] for e in work.committed_events] == ["profile.merged", "profile.merged",
                                                         "profile.merge_request_accepted"]
    with pytest.raises(Conflict, match="already been accepted"):
        with uow(LEAD) as work:
            merge_requests.accept(work, asked["id"])
    # The owner can take its record back; so can the team that asked; a grantee of neither cannot.
    with uow(SYSTEM) as work:
        world.grant(work.session, theirs, "team", TEAM_A2, "edit")
    assert outcome(uow, COLLEAGUE, lambda work: duplicates.unmerge(work, theirs, {})) == "403"
    assert outcome(uow, PARTNER_ORG, lambda work: duplicates.unmerge(work, ours, {})) == "ok"
    with uow(LEAD) as work:
        undone = duplicates.unmerge(work, ours, {})
    assert undone["duplicate"]["merged_into"] is None and merged_into(uow, ours) is None


def test_a_request_is_rejected_by_the_receiving_team_or_cancelled_by_the_asking_one(uow, records_of_two_organisations):
    ours, theirs = records_of_two_organisations["ours"], records_of_two_organisations["theirs"]
    first = merge(uow, PARTNER_ORG, theirs, ours)[0]["merge_request"]
    assert outcome(uow, PARTNER_ORG, lambda work: merge_requests.reject(work, first["id"])) == "403"
    with uow(LEAD) as work:
        rejected = merge_requests.reject(work, first["id"], {"note": "Different people"})
    assert rejected["status"] == "rejected" and [e["type"] for e in work.committed_events] == [
        "profile.merge_request_rejected"]
    second = merge(uow, PARTNER_ORG, theirs, ours)[0]["merge_request"]        # may ask again
    assert outcome(uow, LEAD, lambda work: merge_requests.cancel(work, second["id"])) == "403"
    with uow(PARTNER_ORG) as work:
        assert merge_requests.cancel(work, second["id"])["status"] == "cancelled"
    assert merged_into(uow, ours) is None
    with uow(SYSTEM) as work:
        assert {r.status for r in work.session.execute(select(MergeRequest)).scalars()} == {"rejected", "cancelled"}


def test_accepting_after_a_lead_team_changed_is_refused(uow, records_of_two_organisations):
    ours, theirs = records_of_two_organisations["ours"], records_of_two_organisations["theirs"]
    asked = merge(uow, PARTNER_ORG, theirs, ours)[0]["merge_request"]
    with uow(SYSTEM) as work:
        work.session.get(Profile, theirs).owner_team_id = world._id()        # C's record moved to another team
    with pytest.raises(Conflict, match="lead team"):
        with uow(LEAD) as work:
            merge_requests.accept(work, asked["id"])
    assert merged_into(uow, ours) is None


def test_a_duplicate_the_caller_cannot_see_is_the_same_422_as_none(uow, records_of_two_organisations):
    with uow(SYSTEM) as work:
        hidden = world.person(work.session, "Kim", "Rowe", team=TEAM_C1).id
    for duplicate in (hidden, world._id()):
        with pytest.raises(ValidationFailed) as refused:
            merge(uow, LEAD, records_of_two_organisations["ours"], duplicate)
        assert refused.value.errors == {"duplicate_id": [duplicates.NO_DUPLICATE]}
