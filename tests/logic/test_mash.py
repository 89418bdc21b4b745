"""MASH referrals against a real cases database (no broker): refer (profile or person details), triage with
history and the RAG clock, research asked and answered once, decide (opening a case), the dashboard's counts,
who may see what, and that bad input writes nothing."""
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from concord_common import clock, schedule
from concord_common.context import Caller, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.cases import mash, mash_reminders
from tests.logic import world

MASH_TEAM, ASKED, REFERRER_TEAM, OTHER = world.TEAM_A1, world.TEAM_B1, world.TEAM_C1, world.TEAM_D1
MASH_MEMBER = world.user("mashworker", MASH_TEAM)
ASKED_MEMBER = world.user("asked", ASKED)
REFERRER = world.user("referrer", REFERRER_TEAM)
STRANGER = world.user("stranger", OTHER)
PARTNER = world.client(world.ORG_C, "mash:refer")
PARTNER_NO_SCOPE = world.client(world.ORG_C, "cases:write")
KNOWN = str(uuid.uuid4())             # a profile the referrer may see
HIDDEN = str(uuid.uuid4())            # one they may not


class Directory:
    def __init__(self, mash_teams=(MASH_TEAM,)):
        self.mash_team_ids = mash_teams

    def mash_teams(self):
        return [{"id": team, "name": "MASH", "organisation_id": world.TEAMS[team], "kind": "mash"}
                for team in self.mash_team_ids]

    def team(self, team_id):
        if team_id not in world.TEAMS:
            return None
        return {"id": team_id, "name": f"Team {team_id[:4]}", "organisation_id": world.TEAMS[team_id]}

    def team_organisation(self, team_id):
        return world.TEAMS[team_id]


class Profiles:
    def __init__(self):
        self.made = []

    def profile(self, profile_id):
        if profile_id != KNOWN:
            raise NotFound()
        return {"id": KNOWN, "kind": "person", "display_name": "Lily Evans"}

    def match_or_create(self, person, team_id, organisation_id, threshold):
        if person.get("family_name") == "Known":
            return {"profile_id": KNOWN, "display_name": "Lily Known", "kind": "person", "matched": True}
        self.made.append(person)
        return {"profile_id": str(uuid.uuid4()), "display_name": f"{person['given_name']} {person['family_name']}",
                "kind": "person", "matched": False}


@pytest.fixture
def db(cases_db):
    return cases_db


def call(engine, caller, fn, *args):
    with unit_of_work(engine, "cases", caller, new_request_id()) as work:
        return fn(work, *args)


def count(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def outstanding(engine, caller):
    with unit_of_work(engine, "cases", caller, new_request_id()) as work:
        return mash.outstanding_requests(work.session, caller)


def refer(engine, caller=REFERRER, **changes):
    body = {"subject": {"profile_id": KNOWN}, "category": "child", "concerns": "Bruising seen at school.",
            "referrer": {"name": "J Pearson", "organisation": "Park View Academy", "contact": "0113 000 0000"},
            **changes}
    return call(engine, caller, mash.create_referral, body, Profiles(), Directory())


def errors_of(engine, caller, fn, *args) -> dict:
    with pytest.raises(ValidationFailed) as raised:
        call(engine, caller, fn, *args)
    return raised.value.errors


def test_a_referral_is_received_with_a_readable_reference_led_by_the_mash_team(db):
    made = refer(db)
    assert made["status"] == "received" and made["access"] == "referrer"
    assert made["reference"].startswith(f"MASH-{clock.now().year}-") and made["mash_team_id"] == MASH_TEAM
    second = refer(db)
    assert int(second["reference"][-6:]) == int(made["reference"][-6:]) + 1
    full = call(db, MASH_MEMBER, mash.get_referral, made["id"])
    assert full["subject"] == {"profile_id": KNOWN, "display_name": "Lily Evans", "linked": "given"}
    assert full["referrer"]["organisation"] == "Park View Academy" and full["concerns"]
    assert call(db, REFERRER, mash.get_referral, made["id"])["access"] == "referrer"
    for outsider in (STRANGER, ASKED_MEMBER, PARTNER):
        with pytest.raises(NotFound):
            call(db, outsider, mash.get_referral, made["id"])


def test_person_details_link_the_best_match_or_make_a_profile(db):
    profiles = Profiles()
    body = {"category": "adult", "concerns": "Self-neglect.", "referrer": {"name": "A", "organisation": "B",
                                                                           "contact": "C"}}
    matched = call(db, MASH_MEMBER, mash.create_referral, {**body, "subject": {"given_name": "Lily",
                                                                              "family_name": "Known"}},
                   profiles, Directory())
    assert matched["subject"]["profile_id"] == KNOWN and matched["subject"]["linked"] == "matched"
    made = call(db, PARTNER, mash.create_referral, {**body, "subject": {"given_name": "New",
                                                                       "family_name": "Person",
                                                                       "date_of_birth": "2015-03-01"}},
                profiles, Directory())
    assert made["access"] == "referrer" and profiles.made == [{"given_name": "New", "family_name": "Person",
                                                              "date_of_birth": "2015-03-01"}]


def test_who_may_refer_and_which_mash_team(db):
    with pytest.raises(Forbidden):
        refer(db, PARTNER_NO_SCOPE)
    with pytest.raises(NotFound):                # a profile the referrer may not see: as a random id
        refer(db, subject={"profile_id": HIDDEN})
    body = {"subject": {"profile_id": KNOWN}, "category": "child", "concerns": "x",
            "referrer": {"name": "a", "organisation": "b", "contact": "c"}}
    two = Directory((MASH_TEAM, world.TEAM_A2))
    errors = errors_of(db, REFERRER, mash.create_referral, body, Profiles(), two)
    assert "mash_team_id" in errors
    chosen = call(db, REFERRER, mash.create_referral, {**body, "mash_team_id": world.TEAM_A2}, Profiles(), two)
    assert chosen["mash_team_id"] == world.TEAM_A2
    assert "mash_team_id" in errors_of(db, REFERRER, mash.create_referral, {**body, "mash_team_id": OTHER},
                                       Profiles(), two)


def test_bad_referrals_write_nothing(db):
    before = count(db, "SELECT count(*) FROM mash_referrals")
    good = {"subject": {"profile_id": KNOWN}, "category": "child", "concerns": "x",
            "referrer": {"name": "a", "organisation": "b", "contact": "c"}}
    cases = [({**good, "subject": {}}, "subject.profile_id"),
             ({**good, "category": "teen"}, "category"),
             ({**good, "concerns": "  "}, "concerns"),
             ({**good, "referrer": {"name": "a"}}, "referrer.organisation"),
             ({**good, "subject": {"profile_id": KNOWN, "given_name": "X"}}, "subject.profile_id"),
             ({**good, "subject": {"given_name": "New", "family_name": "Person"},
               "received_at": (clock.now() + timedelta(days=1)).isoformat()}, "received_at")]
    profiles = Profiles()
    for body, field in cases:
        assert field in errors_of(db, REFERRER, mash.create_referral, body, profiles, Directory()), field
    assert count(db, "SELECT count(*) FROM mash_referrals") == before
    assert profiles.made == []          # no profile made for a referral that was refused


def test_triage_sets_respond_by_from_the_rag_and_keeps_history(db):
    made = refer(db)
    settings = mash.Settings(red=2)
    red = call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red", "rationale": "Injury to a child."},
               settings)
    respond_by = datetime.fromisoformat(red["respond_by"])
    assert red["status"] == "triaged" and red["rag"] == "red"
    assert timedelta(hours=1, minutes=59) < respond_by - clock.now() <= timedelta(hours=2)
    amber = call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "amber", "rationale": "Explained by GP."})
    assert [t["rag"] for t in amber["triage_history"]] == ["amber", "red"]
    assert "rationale" in errors_of(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red"})
    assert "rag" in errors_of(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "purple", "rationale": "x"})
    assert count(db, "SELECT count(*) FROM mash_triages") == 2
    for outsider in (REFERRER, STRANGER, ASKED_MEMBER):
        with pytest.raises(NotFound):
            call(db, outsider, mash.triage, made["id"], {"rag": "green", "rationale": "x"})


def test_overdue_is_by_the_clock(db):
    made = refer(db)
    call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red", "rationale": "x"})
    with db.begin() as conn:
        conn.execute(text("UPDATE mash_referrals SET respond_by = now() - interval '1 minute'"))
    assert call(db, MASH_MEMBER, mash.get_referral, made["id"])["overdue"] is True
    board = call(db, MASH_MEMBER, mash.dashboard, {}, Directory())
    assert [row["reference"] for row in board["overdue"]] == [made["reference"]]


def test_research_is_asked_seen_by_the_asked_team_and_answered_once(db):
    made = refer(db)
    call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "amber", "rationale": "x"})
    asked = call(db, MASH_MEMBER, mash.request_research, made["id"], {"team_id": ASKED, "question": "Known to you?"},
                 Directory())
    due = asked["due"]
    assert asked["subject_name"] == "Lily Evans" and asked["question"] == "Known to you?" and due
    seen = call(db, ASKED_MEMBER, mash.get_research_request, asked["id"])
    assert seen["referral_id"] is None and "concerns" not in seen and seen["subject_name"] == "Lily Evans"
    assert [r["id"] for r in outstanding(db, ASKED_MEMBER)] == [asked["id"]]
    with pytest.raises(NotFound):
        call(db, STRANGER, mash.get_research_request, asked["id"])
    with pytest.raises(Forbidden):
        call(db, MASH_MEMBER, mash.answer_research, asked["id"], {"information": "x"})
    assert "information" in errors_of(db, ASKED_MEMBER, mash.answer_research, asked["id"], {})
    answered = call(db, ASKED_MEMBER, mash.answer_research, asked["id"], {"information": "Two call-outs in 2025."})
    assert answered["answer"] == "information"
    with pytest.raises(Conflict):
        call(db, ASKED_MEMBER, mash.answer_research, asked["id"], {"nothing_known": True})
    full = call(db, MASH_MEMBER, mash.get_referral, made["id"])
    assert full["research_requests"][0]["information"] == "Two call-outs in 2025."
    assert outstanding(db, ASKED_MEMBER) == []


def test_research_to_the_mash_team_or_no_team_is_refused(db):
    made = refer(db)
    for team_id in (MASH_TEAM, str(uuid.uuid4())):
        errors = errors_of(db, MASH_MEMBER, mash.request_research, made["id"], {"team_id": team_id,
                                                                                "question": "x"}, Directory())
        assert "team_id" in errors
    assert count(db, "SELECT count(*) FROM mash_research_requests") == 0


def test_decide_after_triage_opens_a_case_and_closes_the_referral(db):
    made = refer(db)
    decision = {"outcome": "s47_enquiry", "rationale": "Threshold met.",
                "open_case": {"case_type": "exploitation", "owner_team_id": MASH_TEAM}}
    with pytest.raises(Conflict):
        call(db, MASH_MEMBER, mash.decide, made["id"], decision, Directory())
    call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red", "rationale": "x"})
    assert "outcome" in errors_of(db, MASH_MEMBER, mash.decide, made["id"], {**decision, "outcome": "maybe"},
                                  Directory())
    assert "open_case.case_type" in errors_of(db, MASH_MEMBER, mash.decide, made["id"],
                                              {**decision, "open_case": {"case_type": "nope"}}, Directory())
    assert "open_case.owner_team_id" in errors_of(db, MASH_MEMBER, mash.decide, made["id"], {
        **decision, "open_case": {"case_type": "exploitation", "owner_team_id": ASKED}}, Directory())
    assert count(db, "SELECT count(*) FROM cases") == 0           # nothing half-written
    assert call(db, MASH_MEMBER, mash.get_referral, made["id"])["status"] == "triaged"
    decided = call(db, MASH_MEMBER, mash.decide, made["id"], decision, Directory())
    assert decided["status"] == "decided" and decided["outcome"] == "s47_enquiry" and decided["case_id"]
    with db.connect() as conn:
        case = conn.execute(text("SELECT owner_team_id FROM cases WHERE id = :id"), {"id": decided["case_id"]}).one()
        people = conn.execute(text("SELECT profile_id::text FROM case_participants WHERE case_id = :id"),
                              {"id": decided["case_id"]}).scalars().all()
    assert case.owner_team_id == MASH_TEAM and people == [KNOWN]
    with pytest.raises(Conflict):
        call(db, MASH_MEMBER, mash.decide, made["id"], decision, Directory())
    with pytest.raises(Conflict):
        call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red", "rationale": "x"})
    assert call(db, REFERRER, mash.get_referral, made["id"])["outcome"] == "s47_enquiry"



def test_deciding_closes_research_not_yet_answered(db):
    """Research the MASH no longer needs leaves the asked team's list and cannot be answered; what was answered
    stays answered; the dashboard no longer counts it; the decision's event names the teams whose request closed."""
    made = refer(db)
    call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "amber", "rationale": "x"})
    open_one = call(db, MASH_MEMBER, mash.request_research, made["id"], {"team_id": ASKED, "question": "Known?"},
                    Directory())
    assert [r["id"] for r in outstanding(db, ASKED_MEMBER)] == [open_one["id"]]
    assert call(db, MASH_MEMBER, mash.dashboard, {}, Directory())["research_outstanding"][0]["count"] == 1
    call(db, MASH_MEMBER, mash.decide, made["id"], {"outcome": "early_help", "rationale": "Enough known."},
         Directory())
    assert outstanding(db, ASKED_MEMBER) == []
    assert call(db, MASH_MEMBER, mash.dashboard, {}, Directory())["research_outstanding"] == []
    seen = call(db, ASKED_MEMBER, mash.get_research_request, open_one["id"])
    assert seen["closed_at"] and seen["answer"] is None and seen["overdue"] is False
    with pytest.raises(Conflict):
        call(db, ASKED_MEMBER, mash.answer_research, open_one["id"], {"information": "Too late."})
    assert count(db, "SELECT count(*) FROM mash_research_requests WHERE answer IS NOT NULL") == 0
    with db.connect() as conn:
        decided = conn.execute(text("SELECT envelope FROM outbox WHERE event_type = 'mash.decided'")).scalar_one()
    data = (decided if isinstance(decided, dict) else __import__("json").loads(decided))["data"]
    assert data["research_closed_team_ids"] == [ASKED]


def test_the_asked_team_is_reminded_once_when_research_is_nearly_due_and_once_when_overdue(db):
    """An amber request is given a day: nothing before its last six hours, then "due soon" once, then "overdue"
    once; an answered one, and one closed by the decision, are never reminded. Each run claims its own tick."""
    def remind():
        with unit_of_work(db, "cases", Caller(kind="system"), new_request_id()) as work:
            return schedule.run_once(work, mash_reminders.RESEARCH_REMINDERS, mash_reminders.send_reminders) or 0

    def told():
        with db.connect() as conn:
            return [(e["data"]["reminder"], e["data"]["request"]["id"]) for e in conn.execute(text(
                "SELECT envelope FROM outbox WHERE event_type = 'mash.research_reminder_sent' ORDER BY seq"))
                .scalars()]
    try:
        reminded, answered, closed = refer(db), refer(db), refer(db)
        for made in (reminded, answered, closed):
            call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "amber", "rationale": "x"})
        asked = [call(db, MASH_MEMBER, mash.request_research, made["id"], {"team_id": ASKED, "question": "q"},
                      Directory()) for made in (reminded, answered, closed)]
        call(db, ASKED_MEMBER, mash.answer_research, asked[1]["id"], {"nothing_known": True})
        call(db, MASH_MEMBER, mash.decide, closed["id"], {"outcome": "early_help", "rationale": "x"}, Directory())
        clock.advance(timedelta(hours=17))
        assert remind() == 0 and told() == []
        clock.advance(timedelta(hours=2))               # 19 hours in: five of the 24 left
        assert remind() == 1 and told() == [("due_soon", asked[0]["id"])]
        clock.advance(timedelta(minutes=15))
        assert remind() == 0
        clock.advance(timedelta(hours=5))               # past due
        assert remind() == 1 and told()[-1] == ("overdue", asked[0]["id"])
        clock.advance(timedelta(hours=1))
        assert remind() == 0 and len(told()) == 2
    finally:
        clock.reset()

def test_the_dashboard_counts_one_mash_teams_morning(db):
    received = refer(db)
    reds = [refer(db) for _ in range(2)]
    for made in reds:
        call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "red", "rationale": "x"})
    green = refer(db)
    call(db, MASH_MEMBER, mash.triage, green["id"], {"rag": "green", "rationale": "x"})
    call(db, MASH_MEMBER, mash.request_research, green["id"], {"team_id": ASKED, "question": "q"}, Directory())
    call(db, MASH_MEMBER, mash.request_research, reds[0]["id"], {"team_id": ASKED, "question": "q"}, Directory())
    call(db, MASH_MEMBER, mash.decide, reds[1]["id"], {"outcome": "early_help", "rationale": "x"}, Directory())
    board = call(db, MASH_MEMBER, mash.dashboard, {}, Directory())
    assert board["awaiting_triage"] == 1 and board["by_rag"] == {"red": 1, "amber": 0, "green": 1}
    assert board["decided_today"] == 1 and board["overdue"] == []
    assert board["research_outstanding"] == [{"organisation_id": world.ORG_B, "teams": [f"Team {ASKED[:4]}"],
                                              "count": 2, "overdue": 0}]
    assert received
    for outsider in (REFERRER, ASKED_MEMBER, STRANGER):
        with pytest.raises(Forbidden):
            call(db, outsider, mash.dashboard, {}, Directory())


def test_every_step_leaves_an_event_for_the_audit_and_notifications(db):
    made = refer(db)
    call(db, MASH_MEMBER, mash.triage, made["id"], {"rag": "amber", "rationale": "x"})
    asked = call(db, MASH_MEMBER, mash.request_research, made["id"], {"team_id": ASKED, "question": "q"},
                 Directory())
    call(db, ASKED_MEMBER, mash.answer_research, asked["id"], {"nothing_known": True})
    call(db, MASH_MEMBER, mash.decide, made["id"], {"outcome": "universal_services", "rationale": "x"}, Directory())
    with db.connect() as conn:
        kinds = conn.execute(text("SELECT event_type FROM outbox ORDER BY seq")).scalars().all()
    for kind in ("mash.referral_received", "mash.triaged", "mash.research_requested", "mash.research_answered",
                 "mash.decided"):
        assert kind in kinds
