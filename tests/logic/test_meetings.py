"""Meetings and panels (services/cases/meetings.py) against a real cases database, as callers, no broker.

The world (tests/logic/world.py): team A1 leads the case; the meeting is chaired by A2 (same organisation),
attended by the teams A1 and B1 and by the whole organisation C; D1 is invited to nothing.
"""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from concord_common import clock
from concord_common.access import records
from concord_common.access.store import grants
from concord_common.context import new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import ConcordError, Forbidden, NotFound
from services.cases import meetings
from services.cases.logic import CASE
from services.cases.models import Action, AgendaItem, Case, Decision, Meeting, Minutes, TimelineEntry
from services.notifications.logic import notices_for
from tests.logic import world
from tests.logic.world import (COLLEAGUE, LEAD, ORG_A, ORG_C, ORG_D, PARTNER, PARTNER_ORG, STRANGER, TEAM_A1,
                               TEAM_A2, TEAM_B1, TEAM_C1, TEAM_D1, TEAMS, client)

LAWFUL = "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115"
CHAIR = COLLEAGUE                                  # a member of A2, the chair team
ORG_MEMBER = PARTNER_ORG                           # in C1: invited as organisation C


@pytest.fixture
def db(cases_db):
    """The shared cases logic-test database (conftest.py), emptied; the clock back to now after each test."""
    clock.reset()
    yield cases_db
    clock.reset()


@pytest.fixture
def uow(db):
    def open_as(caller):
        return unit_of_work(db, "cases", caller, new_request_id())
    return open_as


def outcome(uow, caller, action) -> str:
    """Run action(unit of work) as `caller` and keep what it wrote: "ok", or the refusal's status."""
    try:
        with uow(caller) as work:
            action(work)
        return "ok"
    except ConcordError as error:
        return {Forbidden: "403", NotFound: "404"}.get(type(error), str(error.status))


def a_case(uow, team=TEAM_A1, title="Noise and threats, Canal Wharf") -> str:
    with uow(LEAD) as work:
        now = clock.now()
        case = Case(id=str(uuid.uuid4()), reference=f"ASB-2026-{uuid.uuid4().int % 10**6:06d}", case_type="asb",
                    title=title, priority="medium", status="open", opened_at=now, version=1, updated_at=now,
                    owner_team_id=team, owner_organisation_id=TEAMS[team], restricted=False)
        work.session.add(case)
    return case.id


class Assignees:
    """The permissions service's answers about teams (service.RpcAssignees), from the world's teams."""

    def team(self, team_id):
        return {"id": team_id, "name": f"Team {team_id[:4]}", "organisation_id": TEAMS[team_id]} \
            if team_id in TEAMS else None

    def user(self, user_id):
        return None


ASSIGNEES = Assignees()


def meeting_body(**changes) -> dict:
    body = {"kind": "asb_panel", "title": "Eastside ASB panel", "starts_at": (clock.now() + timedelta(days=2)).isoformat(),
            "location": "Room 4, Civic Centre", "chair_team_id": TEAM_A2,
            "attendees": [{"team_id": TEAM_A1}, {"team_id": TEAM_B1}, {"organisation_id": ORG_C}]}
    body.update(changes)
    return body


def a_meeting(uow, **changes) -> dict:
    with uow(CHAIR) as work:
        return meetings.create_meeting(work, meeting_body(**changes), world.Directory())


def on_agenda(uow, meeting_id, case_id, caller=LEAD) -> dict:
    with uow(caller) as work:
        return meetings.add_agenda_item(work, meeting_id, {"case_id": case_id, "lawful_basis": LAWFUL})


def count(db, model) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar()


def can_view_case(uow, caller, case_id) -> bool:
    return outcome(uow, caller, lambda w: records.require(caller, records.load(w.session, CASE, case_id)[1],
                                                          "view")) == "ok"


# -- arranging a meeting ---------------------------------------------------------------------------------------------
def test_a_meeting_is_arranged_with_its_attendees(uow, db):
    meeting = a_meeting(uow)
    assert meeting["status"] == "scheduled" and meeting["chair_organisation_id"] == ORG_A and meeting["is_chair"]
    assert {(a["team_id"], a["organisation_id"]) for a in meeting["attendees"]} == {
        (TEAM_A1, ORG_A), (TEAM_B1, TEAMS[TEAM_B1]), (None, ORG_C)}
    assert meeting["agenda"] == []


@pytest.mark.parametrize("changes, field", [
    ({"kind": "tea_party"}, "kind"),
    ({"starts_at": "2020-01-01T10:00:00+00:00"}, "starts_at"),
    ({"attendees": []}, "attendees"),
    ({"attendees": [{"team_id": TEAM_A2}]}, "attendees"),
    ({"chair_team_id": str(uuid.uuid4())}, "chair_team_id"),
    ({"chair_team_id": TEAM_B1}, "chair_team_id"),                 # exists, but not the caller's team
    ({"attendees": [{"team_id": str(uuid.uuid4())}]}, "attendees.0.team_id"),
    ({"attendees": [{"team_id": TEAM_B1}, {"organisation_id": str(uuid.uuid4())}]}, "attendees.1.organisation_id"),
    ({"attendees": [{"team_id": TEAM_B1, "organisation_id": ORG_C}]}, "attendees.0.team_id"),
    ({"title": "  "}, "title"),
    ({"online_link": "http://example.org/x"}, "online_link"),
])
def test_bad_meetings_are_refused_naming_the_field_and_nothing_is_written(uow, db, changes, field):
    with pytest.raises(ConcordError) as refused:
        a_meeting(uow, **changes)
    assert refused.value.status == 422 and field in refused.value.errors, refused.value.errors
    assert count(db, Meeting) == 0


ACCESS = {"chair team member": CHAIR, "attendee team member": PARTNER, "attendee organisation member": ORG_MEMBER,
          "lead team (attending) member": LEAD, "not invited": STRANGER}


@pytest.mark.parametrize("who, sees", [
    ("chair team member", True), ("attendee team member", True), ("attendee organisation member", True),
    ("lead team (attending) member", True), ("not invited", False)])
def test_who_sees_a_meeting(uow, db, who, sees):
    meeting = a_meeting(uow)
    a_meeting(uow, title="Another panel", attendees=[{"team_id": TEAM_B1}])
    caller = ACCESS[who]
    with uow(caller) as work:
        listed = [m["title"] for m in meetings.list_meetings(work, {})["items"]]
    assert ("Eastside ASB panel" in listed) is sees
    assert outcome(uow, caller, lambda w: meetings.get_meeting(w, meeting["id"])) == ("ok" if sees else "404")


def test_an_uninvited_callers_404_is_the_one_for_no_meeting_and_the_refusal_is_marked_for_audit(uow, db):
    meeting = a_meeting(uow)
    with pytest.raises(NotFound) as hidden:
        with uow(STRANGER) as work:
            meetings.get_meeting(work, meeting["id"])
    with pytest.raises(NotFound) as absent:
        with uow(STRANGER) as work:
            meetings.get_meeting(work, str(uuid.uuid4()))
    assert str(hidden.value) == str(absent.value) and hidden.value.detail == absent.value.detail
    assert hidden.value.denied["record"] == {"type": "meeting", "id": meeting["id"]}


def test_a_client_sees_the_meetings_its_organisation_chairs_or_attends(uow, db):
    a_meeting(uow)
    for organisation, sees in ((ORG_C, True), (ORG_A, True), (ORG_D, False)):
        with uow(client(organisation, "cases:read")) as work:
            assert bool(meetings.list_meetings(work, {})["items"]) is sees


def test_the_list_is_soonest_first_within_from_and_to(uow, db):
    later = a_meeting(uow, title="Later", starts_at=(clock.now() + timedelta(days=20)).isoformat())
    sooner = a_meeting(uow, title="Sooner", starts_at=(clock.now() + timedelta(days=1)).isoformat())
    with uow(PARTNER) as work:
        assert [m["id"] for m in meetings.list_meetings(work, {})["items"]] == [sooner["id"], later["id"]]
        day = (clock.now() + timedelta(days=10)).date().isoformat()
        assert [m["id"] for m in meetings.list_meetings(work, {"to": day})["items"]] == [sooner["id"]]
        assert [m["id"] for m in meetings.list_meetings(work, {"from": day})["items"]] == [later["id"]]
    assert outcome(uow, PARTNER, lambda w: meetings.list_meetings(w, {"from": "soon"})) == "422"


# -- the agenda -----------------------------------------------------------------------------------------------------
def test_the_lead_team_puts_a_case_on_the_agenda_and_the_attendees_may_view_it_until_7_days_after(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    assert not can_view_case(uow, PARTNER, case_id) and not can_view_case(uow, ORG_MEMBER, case_id)
    with uow(LEAD) as work:
        item = meetings.add_agenda_item(work, meeting["id"], {"case_id": case_id, "lawful_basis": LAWFUL})
        events = work
    assert item["case"]["access"] == "full" and item["position"] == 1
    for caller in (CHAIR, PARTNER, ORG_MEMBER):
        assert can_view_case(uow, caller, case_id)
    assert not can_view_case(uow, STRANGER, case_id)
    with db.connect() as conn:
        made = conn.execute(select(grants).where(grants.c.record_id == case_id)).all()
    starts = clock.now() + timedelta(days=2)
    assert {(g.grantee_type, g.grantee_id) for g in made} == {("team", TEAM_A2), ("team", TEAM_B1),
                                                             ("organisation", ORG_C)}     # not A1: it leads
    assert {g.source for g in made} == {"meeting"} and {g.source_id for g in made} == {meeting["id"]}
    assert all(abs((g.expires_at - (starts + timedelta(days=7))).total_seconds()) < 60 for g in made)
    types = [e["type"] for e in events.committed_events]
    assert types.count("case.shared") == 3 and "case.agenda_added" in types
    added = next(e for e in events.committed_events if e["type"] == "case.agenda_added")["data"]
    assert set(added["attendee_team_ids"]) == {TEAM_A2, TEAM_B1}
    with db.connect() as conn:
        assert conn.execute(select(TimelineEntry.kind).where(TimelineEntry.case_id == case_id)).scalars().all() == [
            "agenda_added"]
    # the access list (what GET /cases/{id}/access shows) names the meeting
    with uow(LEAD) as work:
        listed = records.access_list(work, CASE, case_id)["grants"]
    assert {(g["source"], g["source_id"]) for g in listed} == {("meeting", meeting["id"])}
    assert all(meeting["title"] in g["justification"] for g in listed)

    clock.advance(timedelta(days=9, hours=1))           # a week after the meeting
    for caller in (CHAIR, PARTNER, ORG_MEMBER):
        assert not can_view_case(uow, caller, case_id)
    assert can_view_case(uow, LEAD, case_id)
    with uow(PARTNER) as work:
        seen = meetings.get_meeting(work, meeting["id"])["agenda"][0]
    assert seen["case"] == {"access": "signpost", "organisation_id": ORG_A} and seen["minutes"] == []
    assert "lawful_basis" not in seen


@pytest.mark.parametrize("caller, expected", [
    (LEAD, "ok"),
    (PARTNER, "403"),                 # sees the case (granted), does not lead it
    (ORG_MEMBER, "404"),              # cannot see the case
    (STRANGER, "404"),                # cannot see the meeting
    (CHAIR, "404"),                   # chair, cannot see the case
])
def test_only_the_cases_lead_team_puts_it_on_an_agenda(uow, db, caller, expected):
    meeting, case_id = a_meeting(uow), a_case(uow)
    with uow(LEAD) as work:    # B1 may view the case (an ordinary grant)
        work.session.execute(grants.insert().values(
            id=str(uuid.uuid4()), record_type="case", record_id=case_id, grantee_type="team", grantee_id=TEAM_B1,
            grantee_organisation_id=TEAMS[TEAM_B1], level="edit", lawful_basis=LAWFUL, source="grant",
            granted_by=LEAD.id, granted_at=clock.now()))
    assert outcome(uow, caller, lambda w: meetings.add_agenda_item(
        w, meeting["id"], {"case_id": case_id, "lawful_basis": LAWFUL})) == expected
    assert count(db, AgendaItem) == (1 if expected == "ok" else 0)


def test_bad_agenda_items_are_refused_and_nothing_is_written(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    for body in ({"case_id": case_id}, {"case_id": case_id, "lawful_basis": " "}, {"case_id": "x", "lawful_basis": LAWFUL}):
        assert outcome(uow, LEAD, lambda w: meetings.add_agenda_item(w, meeting["id"], body)) == "422"
    on_agenda(uow, meeting["id"], case_id)
    assert outcome(uow, LEAD, lambda w: meetings.add_agenda_item(
        w, meeting["id"], {"case_id": case_id, "lawful_basis": LAWFUL})) == "409"          # on it already
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(grants)).scalar() == 3


def test_taking_a_case_off_the_agenda_revokes_the_meetings_grants(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    item = on_agenda(uow, meeting["id"], case_id)
    assert outcome(uow, PARTNER, lambda w: meetings.remove_agenda_item(w, meeting["id"], item["id"])) == "403"
    with uow(LEAD) as work:
        meetings.remove_agenda_item(work, meeting["id"], item["id"])
        types = [e["type"] for e in work.events]
    assert types.count("case.unshared") == 3 and "case.agenda_removed" in types
    assert not can_view_case(uow, PARTNER, case_id) and not can_view_case(uow, CHAIR, case_id)
    with uow(LEAD) as work:
        assert meetings.get_meeting(work, meeting["id"])["agenda"] == []
        assert records.access_list(work, CASE, case_id)["grants"] == []
    on_agenda(uow, meeting["id"], case_id)                      # and back on again
    assert can_view_case(uow, PARTNER, case_id)


def test_cancelling_a_meeting_revokes_every_agenda_cases_grants(uow, db):
    meeting, first, second = a_meeting(uow), a_case(uow), a_case(uow, title="Second")
    on_agenda(uow, meeting["id"], first)
    on_agenda(uow, meeting["id"], second)
    assert outcome(uow, PARTNER, lambda w: meetings.cancel_meeting(w, meeting["id"])) == "403"
    with uow(CHAIR) as work:
        assert meetings.cancel_meeting(work, meeting["id"])["status"] == "cancelled"
    for case_id in (first, second):
        assert not can_view_case(uow, PARTNER, case_id) and not can_view_case(uow, ORG_MEMBER, case_id)
    assert outcome(uow, CHAIR, lambda w: meetings.cancel_meeting(w, meeting["id"])) == "409"
    assert outcome(uow, LEAD, lambda w: meetings.add_agenda_item(
        w, meeting["id"], {"case_id": a_case(uow), "lawful_basis": LAWFUL})) == "409"


# -- minutes --------------------------------------------------------------------------------------------------------
def test_the_chair_team_minutes_an_item_with_decisions_on_the_case_timeline(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    item = on_agenda(uow, meeting["id"], case_id)
    body = {"discussion": "Noise continues; landlord engaged.",
            "decisions": [{"text": "Warning letter from housing"}, {"text": "Review at next panel"}]}
    with uow(CHAIR) as work:
        written = meetings.record_minutes(work, meeting["id"], item["id"], body, ASSIGNEES)
        types = [e["type"] for e in work.events]
    assert [d["text"] for d in written["minutes"]["decisions"]] == ["Warning letter from housing", "Review at next panel"]
    assert types.count("case.decision_recorded") == 2 and "case.minutes_recorded" in types
    with db.connect() as conn:
        kinds = conn.execute(select(TimelineEntry.kind).where(TimelineEntry.case_id == case_id)
                             .order_by(TimelineEntry.id)).scalars().all()
    assert kinds == ["agenda_added", "minutes", "decision", "decision"]
    with uow(PARTNER) as work:
        seen = meetings.get_meeting(work, meeting["id"])["agenda"][0]
    assert seen["minutes"][0]["discussion"] == body["discussion"]


@pytest.mark.parametrize("caller, body, expected, field", [
    (PARTNER, {"discussion": "Talked"}, "403", None),
    (LEAD, {"discussion": "Talked"}, "403", None),                   # leads the case, does not chair
    (STRANGER, {"discussion": "Talked"}, "404", None),
    (CHAIR, {"discussion": "  "}, "422", "discussion"),
    (CHAIR, {}, "422", "discussion"),
    (CHAIR, {"discussion": "Talked", "decisions": [{"text": ""}]}, "422", "decisions.0.text"),
    (CHAIR, {"discussion": "Talked", "decisions": [{"text": "Do it"}, {"text": "Act", "action": {"title": "x"}}]},
     "422", "decisions.1.action.assignee"),
    (CHAIR, {"discussion": "Talked", "decisions": [{"text": "Act", "action": {
        "assignee": {"team_id": TEAM_D1}, "title": "Visit", "due": "2099-01-01"}}]}, "422", "decisions.0.action.assignee"),
    (CHAIR, {"discussion": "Talked", "decisions": [{"text": "Act", "action": {
        "assignee": {"team_id": TEAM_B1}, "title": " ", "due": "2099-01-01"}}]}, "422", "decisions.0.action.title"),
])
def test_bad_minutes_are_refused_and_nothing_is_written(uow, db, caller, body, expected, field):
    meeting, case_id = a_meeting(uow), a_case(uow)
    item = on_agenda(uow, meeting["id"], case_id)
    with pytest.raises(ConcordError) as refused:
        with uow(caller) as work:
            meetings.record_minutes(work, meeting["id"], item["id"], body, ASSIGNEES)
    assert str(refused.value.status) == expected
    if field:
        assert field in refused.value.errors, refused.value.errors
    assert count(db, Minutes) == 0 and count(db, Decision) == 0 and count(db, Action) == 0
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TimelineEntry.__table__)).scalar() == 1


def test_an_unknown_or_removed_item_is_404(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    item = on_agenda(uow, meeting["id"], case_id)
    with uow(LEAD) as work:
        meetings.remove_agenda_item(work, meeting["id"], item["id"])
    for item_id in (item["id"], str(uuid.uuid4()), "nope"):
        assert outcome(uow, CHAIR, lambda w: meetings.record_minutes(
            w, meeting["id"], item_id, {"discussion": "x"}, ASSIGNEES)) == "404"


# -- notifications ----------------------------------------------------------------------------------------------------
def test_attendee_teams_are_told_of_an_agenda_case_once(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    with uow(LEAD) as work:
        meetings.add_agenda_item(work, meeting["id"], {"case_id": case_id, "lawful_basis": LAWFUL})
        events = list(work.events)
    told = [notice for event in events for notice in notices_for(event["type"], event["data"])]
    assert sorted(recipient for _, recipient, _, _ in told) == sorted([TEAM_A2, TEAM_B1])
    assert all(kind == "team" and "Eastside ASB panel" in body and "Noise" not in body for kind, _, _, body in told)
    assert not [t for t in (TEAM_C1, TEAM_D1) if t in {r for _, r, _, _ in told}]


def test_a_decision_sets_an_action_on_the_case_for_a_team_that_can_view_it(uow, db):
    meeting, case_id = a_meeting(uow), a_case(uow)
    item = on_agenda(uow, meeting["id"], case_id)
    due = (clock.now() + timedelta(days=14)).date().isoformat()
    body = {"discussion": "Agreed a joint visit.", "decisions": [
        {"text": "Police to visit with housing", "action": {"title": "Joint visit", "assignee": {"team_id": TEAM_B1},
                                                            "due": due, "priority": "high"}},
        {"text": "No further action on the noise complaint"}]}
    with uow(CHAIR) as work:
        written = meetings.record_minutes(work, meeting["id"], item["id"], body, ASSIGNEES)
        types = [e["type"] for e in work.events]
    first, second = written["minutes"]["decisions"]
    assert first["action_id"] and second["action_id"] is None
    with db.connect() as conn:
        action = conn.execute(select(Action.__table__).where(Action.__table__.c.id == first["action_id"])).one()
        kinds = conn.execute(select(TimelineEntry.kind).where(TimelineEntry.case_id == case_id)
                             .order_by(TimelineEntry.id)).scalars().all()
    assert (action.case_id, action.assignee_team_id, action.title, action.set_by) == (case_id, TEAM_B1, "Joint visit",
                                                                                    CHAIR.id)
    assert "case.action_set" in types and kinds == ["agenda_added", "minutes", "action_set", "decision", "decision"]
