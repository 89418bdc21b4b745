"""Actions (services/cases/actions.py) against the real cases database, with no broker: bad input (and nothing
half-written), My actions' filters, order, counts and visibility, and the reminders job's once-only rule.

The directory's answers (teams, people) come from `Assignees` below, in memory. Organisation A leads the cases
(team A1); B's team B1 is given view access to the case, C's organisation edit access; D sees nothing.
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from concord_common import clock
from concord_common.access.store import grants
from concord_common.context import SYSTEM, Caller, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from concord_common.schedule import Tick
from services.cases import actions, logic
from services.cases.models import Action, TimelineEntry



def _id() -> str:
    return str(uuid.uuid4())


ORG_A, ORG_B, ORG_C, ORG_D = _id(), _id(), _id(), _id()
A1, A2, B1, B2, C1, D1 = _id(), _id(), _id(), _id(), _id(), _id()
TEAMS = {A1: ("Leeds ASB hub", ORG_A), A2: ("Leeds housing", ORG_A), B1: ("West Yorkshire Police ASB", ORG_B),
         B2: ("WYP response", ORG_B), C1: ("Leeds Youth Justice", ORG_C), D1: ("Elsewhere", ORG_D)}


def person(name, team, org=None):
    return Caller(kind="user", id=_id(), organisation_id=org or TEAMS[team][1], teams=({"id": team,
                                                                                       "role": "practitioner"},),
                  display_name=name)


LEAD, POLICE, POLICE_MATE, YOUTH, HOUSING, STRANGER = (person("Lena Lead", A1), person("Pat Police", B1),
                                                       person("Max Mate", B1), person("Yan Youth", C1),
                                                       person("Hal Housing", A2), person("Sam Stranger", D1))
PEOPLE = {p.id: p for p in (LEAD, POLICE, POLICE_MATE, YOUTH, HOUSING, STRANGER)}


class Assignees:
    """The permissions service's answers about teams and people (service.RpcAssignees), in memory."""

    def team(self, team_id):
        if team_id not in TEAMS:
            return None
        return {"id": team_id, "name": TEAMS[team_id][0], "organisation_id": TEAMS[team_id][1]}

    def user(self, user_id):
        found = PEOPLE.get(user_id)
        return None if found is None else {"id": found.id, "display_name": found.display_name, "disabled": False,
                                           "organisation_id": found.organisation_id,
                                           "teams": [{"id": t["id"], "name": TEAMS[t["id"]][0]} for t in found.teams]}


@pytest.fixture
def db(cases_db):
    yield cases_db
    clock.reset()


def run(engine, caller, fn, *args):
    with unit_of_work(engine, "cases", caller, new_request_id()) as uow:
        return fn(uow, *args)


def open_case(engine, title="Noise, Canal Wharf"):
    """A case led by A1, shared with team B1 (view) and organisation C (edit)."""
    case = run(engine, LEAD, logic.create_case, {"case_type": "asb", "title": title}, None, None)
    with engine.begin() as conn:
        for grantee_type, grantee_id, organisation, level in (("team", B1, ORG_B, "view"),
                                                              ("organisation", ORG_C, ORG_C, "edit")):
            conn.execute(grants.insert().values(
                id=_id(), record_type="case", record_id=case["id"], grantee_type=grantee_type, grantee_id=grantee_id,
                grantee_organisation_id=organisation, level=level, lawful_basis="Public task", granted_by=LEAD.id))
    return case


def day(offset: int) -> str:
    return (clock.now().date() + timedelta(days=offset)).isoformat()


def set_action(engine, case, caller=LEAD, **fields):
    payload = {"title": "Visit the flat", "assignee": {"team_id": B1}, "due": day(7), **fields}
    return run(engine, caller, actions.create_action, case["id"], payload, Assignees())


def counts(engine, case_id):
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(Action).where(Action.case_id == case_id)),
                conn.scalar(select(func.count()).select_from(TimelineEntry).where(TimelineEntry.case_id == case_id)),
                conn.scalar(text("SELECT count(*) FROM outbox WHERE event_type LIKE 'case.action%'")))


# -- set ---------------------------------------------------------------------------------------------------------
def test_an_action_is_set_for_a_team_that_can_view_the_case_and_told_in_the_timeline_and_an_event(db):
    case = open_case(db)
    made = set_action(db, case, detail="Speak to the tenant about the dog.", priority="high")
    assert made["status"] == "open" and made["overdue"] is False and made["case_reference"] == case["reference"]
    assert made["assignee"] == {"team_id": B1, "user_id": None, "organisation_id": ORG_B,
                                "display_name": "West Yorkshire Police ASB"}
    assert made["set_by"] == {"id": LEAD.id, "display_name": "Lena Lead"} and made["can_change_due"]
    with db.connect() as conn:
        event = conn.execute(text("SELECT envelope FROM outbox WHERE event_type = 'case.action_set'")).scalar_one()
        timeline = conn.execute(select(TimelineEntry.kind, TimelineEntry.summary)
                                .where(TimelineEntry.kind == "action_set")).one()
    told = event["data"]
    assert told["action"]["title"] == "Visit the flat" and told["reference"] == case["reference"]
    assert "Speak to the tenant" not in str(told)            # never the detail: the audit log is read more widely
    assert "West Yorkshire Police ASB" in timeline.summary


def test_a_person_is_given_the_action_through_their_team_that_can_view_the_case(db):
    case = open_case(db)
    made = set_action(db, case, assignee={"user_id": YOUTH.id})      # C's organisation was granted the case
    assert made["assignee"]["user_id"] == YOUTH.id and made["assignee"]["team_id"] == C1


@pytest.mark.parametrize("fields, field, words", [
    ({"due": "2020-01-01"}, "due", "past"),
    ({"title": "  "}, "title", "blank"),
    ({"priority": "urgent"}, "priority", "one of"),
    ({"assignee": {}}, "assignee", "one of them"),
    ({"assignee": {"team_id": A1, "user_id": POLICE.id}}, "assignee", "one of them"),
    ({"assignee": {"team_id": A2}}, "assignee", "share the case"),        # same organisation, not shared
    ({"assignee": {"team_id": B2}}, "assignee", "share the case"),        # B1 was granted, not B2
    ({"assignee": {"team_id": D1}}, "assignee", "share the case"),
    ({"assignee": {"user_id": HOUSING.id}}, "assignee", "share the case"),
    ({"assignee": {"team_id": _id()}}, "assignee", "no such team"),
    ({"assignee": {"user_id": _id()}}, "assignee", "no such person"),
    ({"assignee": {"team_id": "not-a-uuid"}}, "assignee.team_id", "UUID"),
])
def test_bad_input_names_the_field_and_writes_nothing(db, fields, field, words):
    case = open_case(db)
    before = counts(db, case["id"])
    with pytest.raises(ValidationFailed) as refused:
        set_action(db, case, **fields)
    assert words.lower() in " ".join(refused.value.errors[field]).lower(), refused.value.errors
    assert counts(db, case["id"]) == before


def test_who_may_set_an_action_the_lead_team_and_edit_grantees(db):
    case = open_case(db)
    assert set_action(db, case, caller=YOUTH)["set_by"]["id"] == YOUTH.id       # organisation C: edit
    with pytest.raises(Forbidden):
        set_action(db, case, caller=POLICE)                                     # team B1: view only
    with pytest.raises(NotFound):
        set_action(db, case, caller=HOUSING)                                    # same organisation, not shared
    run(db, LEAD, logic.close_case, case["id"], {"outcome": "resolved"})
    with pytest.raises(Conflict):
        set_action(db, case)


# -- change --------------------------------------------------------------------------------------------------------
def test_status_goes_open_in_progress_done_with_a_note_and_then_stays(db):
    case = open_case(db)
    made = set_action(db, case)
    moved = run(db, POLICE_MATE, actions.update_action, made["id"], {"status": "in_progress"})   # the team
    assert moved["status"] == "in_progress"
    for payload, field in (({"status": "done"}, "note"), ({"status": "cancelled", "note": " "}, "note"),
                           ({"status": "finished", "note": "x"}, "status"), ({"status": "open"}, "status"),
                           ({"note": "just a note"}, "status"), ({}, "_schema"), ({"due": "2020-01-01"}, "due")):
        with pytest.raises(ValidationFailed) as refused:
            run(db, LEAD, actions.update_action, made["id"], payload)
        assert field in refused.value.errors, (payload, refused.value.errors)
    done = run(db, POLICE, actions.update_action, made["id"], {"status": "done", "note": "Visited; all quiet."})
    assert done["status"] == "done" and done["status_note"] == "Visited; all quiet." and done["finished_at"]
    with pytest.raises(Conflict):
        run(db, LEAD, actions.update_action, made["id"], {"status": "in_progress"})
    with db.connect() as conn:
        kinds = conn.execute(text("SELECT event_type FROM outbox WHERE event_type LIKE 'case.action%' "
                                  "ORDER BY seq")).scalars().all()
    assert kinds == ["case.action_set", "case.action_updated", "case.action_done"]


def test_only_the_lead_team_changes_the_due_date(db):
    case = open_case(db)
    made = set_action(db, case)
    for caller, refusal in ((POLICE, Forbidden), (YOUTH, Forbidden), (HOUSING, NotFound), (STRANGER, NotFound)):
        with pytest.raises(refusal):
            run(db, caller, actions.update_action, made["id"], {"due": day(10)})
    moved = run(db, LEAD, actions.update_action, made["id"], {"due": day(10)})
    assert moved["due"] == day(10)
    with pytest.raises(NotFound):
        run(db, LEAD, actions.update_action, _id(), {"status": "in_progress"})


# -- my actions ------------------------------------------------------------------------------------------------------
def test_my_actions_are_mine_and_my_teams_soonest_first_filtered_and_counted(db):
    first, second = open_case(db, "First"), open_case(db, "Second")
    team_later = set_action(db, first, due=day(20), title="Team, later")
    mine_soon = set_action(db, second, due=day(1), title="Mine, soon", assignee={"user_id": POLICE.id})
    set_action(db, second, due=day(2), title="Max's own", assignee={"user_id": POLICE_MATE.id})
    overdue = set_action(db, first, due=day(3), title="Will be overdue")
    finished = set_action(db, first, due=day(4), title="Finished")
    run(db, POLICE, actions.update_action, finished["id"], {"status": "cancelled", "note": "Not needed."})
    clock.advance(timedelta(days=5))                # `overdue` (and `mine_soon`) are now past their date
    listed = run(db, POLICE, actions.my_actions, {})
    assert [item["title"] for item in listed["items"]] == ["Mine, soon", "Will be overdue", "Team, later"]
    assert [item["overdue"] for item in listed["items"]] == [True, True, False]
    assert listed["counts"]["active"] == 3 and listed["counts"]["overdue"] == 2
    only_overdue = run(db, POLICE, actions.my_actions, {"overdue": "true"})
    assert {item["id"] for item in only_overdue["items"]} == {mine_soon["id"], overdue["id"]}
    assert [i["title"] for i in run(db, POLICE, actions.my_actions, {"status": "cancelled"})["items"]] == ["Finished"]
    paged = run(db, POLICE, actions.my_actions, {"limit": "2"})
    assert len(paged["items"]) == 2 and paged["next_cursor"] == "2"
    assert run(db, POLICE, actions.my_actions, {"cursor": "2"})["items"][0]["id"] == team_later["id"]
    with pytest.raises(ValidationFailed) as refused:
        run(db, POLICE, actions.my_actions, {"status": "someday"})
    assert "status" in refused.value.errors
    # Due this week: from today to Sunday.
    clock.reset()
    week = run(db, POLICE, actions.my_actions, {"due_this_week": "true"})
    end = actions.week_end(clock.now().date())
    assert all(clock.now().date().isoformat() <= item["due"] <= end.isoformat() for item in week["items"])
    assert week["counts"]["due_this_week"] == len(week["items"])


def test_my_actions_leave_out_cases_i_may_no_longer_view(db):
    case = open_case(db)
    set_action(db, case)
    assert len(run(db, POLICE, actions.my_actions, {})["items"]) == 1
    with db.begin() as conn:
        conn.execute(grants.update().where(grants.c.record_id == case["id"], grants.c.grantee_id == B1)
                     .values(revoked_at=clock.now()))
    assert run(db, POLICE, actions.my_actions, {})["items"] == []
    with pytest.raises(NotFound):
        run(db, POLICE, actions.case_actions, case["id"], {})



def test_my_actions_follow_the_case_when_its_lead_team_changes(db):
    """The counts read the case's lead team copied beside each action (migration 0012's triggers): set from the
    case when the action is written, rewritten when the case changes hands, whichever code path changed it."""
    case = run(db, LEAD, logic.create_case, {"case_type": "asb", "title": "Own case"}, None, None)
    for offset in (-2, 3):
        set_action(db, case, assignee={"team_id": A1}, due=day(offset) if offset > 0 else day(1))
    clock.advance(timedelta(days=2))
    mine = run(db, LEAD, actions.my_actions, {})
    assert mine["counts"] == {"active": 2, "overdue": 1, "due_this_week": mine["counts"]["due_this_week"]}
    with db.connect() as conn:
        assert set(conn.scalars(select(Action.case_owner_team_id).where(Action.case_id == case["id"]))) == {A1}
    with db.begin() as conn:            # a transfer to Leeds Youth Justice, as the shared access code applies it
        conn.execute(text("UPDATE cases SET owner_team_id = :team, owner_organisation_id = :org WHERE id = :id"),
                     {"team": C1, "org": ORG_C, "id": case["id"]})
    with db.connect() as conn:
        assert set(conn.scalars(select(Action.case_owner_team_id).where(Action.case_id == case["id"]))) == {C1}
    gone = run(db, LEAD, actions.my_actions, {})
    assert gone["items"] == [] and gone["counts"]["active"] == 0
    with db.begin() as conn:            # and once shared back with the old team, they count again (the other way)
        conn.execute(grants.insert().values(
            id=_id(), record_type="case", record_id=case["id"], grantee_type="team", grantee_id=A1,
            grantee_organisation_id=ORG_A, level="view", lawful_basis="Public task", granted_by=YOUTH.id))
    back = run(db, LEAD, actions.my_actions, {})
    assert len(back["items"]) == 2 and back["counts"]["active"] == 2 and back["counts"]["overdue"] == 1


def test_closing_a_case_cancels_its_open_actions_and_tells_each(db):
    case = open_case(db)
    waiting, started, finished = (set_action(db, case, title=title) for title in ("Visit", "Call", "Write"))
    run(db, POLICE, actions.update_action, started["id"], {"status": "in_progress"})
    run(db, POLICE, actions.update_action, finished["id"], {"status": "done", "note": "Letter sent."})
    run(db, LEAD, logic.close_case, case["id"], {"outcome": "resolved"})
    listed = {a["title"]: a for a in run(db, LEAD, actions.case_actions, case["id"], {"status": "all"})["items"]}
    assert {title: a["status"] for title, a in listed.items()} == {"Visit": "cancelled", "Call": "cancelled",
                                                                   "Write": "done"}
    assert listed["Visit"]["status_note"] == actions.CLOSED_CASE_NOTE and listed["Write"]["status_note"] == \
        "Letter sent."
    assert run(db, POLICE, actions.my_actions, {})["counts"]["active"] == 0
    with db.connect() as conn:
        told = conn.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'case.action_cancelled'")).scalar()
        lines = conn.scalars(select(TimelineEntry.summary).where(TimelineEntry.case_id == case["id"],
                                                               TimelineEntry.kind == "action_cancelled")).all()
    assert told == 2 and len(lines) == 2 and all("case was closed" in line for line in lines)
    assert waiting

# -- reminders -----------------------------------------------------------------------------------------------------
def remind(engine) -> int:
    now = clock.now()
    return run(engine, SYSTEM, actions.send_reminders, Tick("cases.action_reminders", now, None))


def reminders(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [(row.envelope["data"]["action"]["title"], row.envelope["data"]["reminder"]) for row in conn.execute(
            text("SELECT envelope FROM outbox WHERE event_type = 'case.action_reminder_sent' ORDER BY seq"))]


def test_the_assignee_is_reminded_the_day_before_and_once_when_overdue_never_twice(db):
    case = open_case(db)
    set_action(db, case, due=day(2), title="In two days")
    set_action(db, case, due=day(1), title="Tomorrow")          # the notice it was set says so: no reminder
    done = set_action(db, case, due=day(2), title="Done early")
    run(db, POLICE, actions.update_action, done["id"], {"status": "done", "note": "Done."})
    assert remind(db) == 0
    clock.advance(timedelta(days=1))
    assert remind(db) == 1 and remind(db) == 0
    assert reminders(db) == [("In two days", "due_soon")]
    clock.advance(timedelta(days=1))              # "In two days" is due today: nothing more to say of it yet
    assert remind(db) == 1 and remind(db) == 0
    assert reminders(db)[1:] == [("Tomorrow", "overdue")]
    clock.advance(timedelta(days=1))
    assert remind(db) == 1 and remind(db) == 0
    assert reminders(db)[2:] == [("In two days", "overdue")]
    with db.connect() as conn:
        kinds = conn.execute(select(TimelineEntry.kind).where(TimelineEntry.kind == "action_reminder")).scalars()
        assert len(list(kinds)) == 3


def test_a_new_due_date_is_reminded_again_and_a_missed_day_before_is_told_on_the_day(db):
    case = open_case(db)
    made = set_action(db, case, due=day(3))
    clock.advance(timedelta(days=3))                            # no run the day before (the job was down)
    assert remind(db) == 1 and reminders(db) == [("Visit the flat", "due_soon")]
    clock.advance(timedelta(days=1))
    assert remind(db) == 1 and reminders(db)[-1] == ("Visit the flat", "overdue")
    run(db, LEAD, actions.update_action, made["id"], {"due": day(2)})
    assert remind(db) == 0
    clock.advance(timedelta(days=1))
    assert remind(db) == 1 and reminders(db)[-1] == ("Visit the flat", "due_soon")


def test_a_reminder_is_told_with_its_mark_or_not_at_all(db):
    """The mark and the event are one transaction: a run that fails leaves both for the next run."""
    case = open_case(db)
    set_action(db, case, due=day(2))
    clock.advance(timedelta(days=1))
    with pytest.raises(RuntimeError):
        with unit_of_work(db, "cases", SYSTEM, new_request_id()) as uow:
            assert actions.send_reminders(uow, Tick("x", datetime.now(timezone.utc), None)) == 1
            raise RuntimeError("the replica died before committing")
    assert reminders(db) == []
    assert remind(db) == 1 and remind(db) == 0
