"""The ASB toolkit's rules against a real cases database (no broker): the power lifecycle, breaches, expiry,
complaints and the Community Trigger (threshold, window, once only — also under concurrency —, working days,
per-area settings, withdrawals), and that bad input writes nothing."""
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from concord_common import clock
from concord_common.context import new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Conflict, NotFound, ValidationFailed
from concord_common.schedule import Tick
from services.cases import community_trigger as ct, complaints, powers
from services.cases.models import Case, Participant
from tests.logic import world

LEAD, OTHER_ORG, STRANGER = world.LEAD, world.PARTNER, world.STRANGER
SETTINGS = ct.Settings()


@pytest.fixture
def db(cases_db):
    return cases_db


def uow(engine, caller):
    return unit_of_work(engine, "cases", caller, new_request_id())


def a_case(engine, team=world.TEAM_A1, case_type="asb", people=(), status="open") -> str:
    case_id, now = str(uuid.uuid4()), clock.now()
    with uow(engine, world.SYSTEM) as work:
        work.session.add(Case(id=case_id, reference=f"ASB-2026-{uuid.uuid4().int % 10**6:06d}", case_type=case_type,
                              title="Noise, Canal Wharf", priority="medium", status=status, opened_at=now, outcome="resolved" if status == "closed" else None,
                              closed_at=now if status == "closed" else None,
                              version=1, updated_at=now, owner_team_id=team,
                              owner_organisation_id=world.TEAMS[team], restricted=False))
        work.session.flush()
        for profile_id, name in people:
            work.session.add(Participant(id=str(uuid.uuid4()), case_id=case_id, profile_id=profile_id,
                                         profile_kind="person", display_name=name, role="complainant",
                                         added_at=now))
    return case_id


def count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def call(engine, caller, fn, *args):
    with uow(engine, caller) as work:
        return fn(work, *args)


def invalid(engine, caller, fn, *args) -> dict:
    with pytest.raises(ValidationFailed) as raised:
        call(engine, caller, fn, *args)
    return raised.value.errors


# -- powers ------------------------------------------------------------------------------------------------------
def test_a_power_moves_only_along_its_life(db):
    perp = str(uuid.uuid4())
    case_id = a_case(db, people=[(perp, "Sam Okafor")])
    cpw = call(db, LEAD, powers.add_power, case_id, {"power": "cpw", "profile_id": perp})
    assert cpw["status"] == "considered" and cpw["subject_name"] == "Sam Okafor"
    assert cpw["next_statuses"] == ["issued", "refused"]
    assert "served_on" in invalid(db, LEAD, powers.update_power, cpw["id"], {"status": "issued"})
    assert "status" in invalid(db, LEAD, powers.update_power, cpw["id"], {"status": "granted"})   # not a court's
    served = (clock.now().date() - timedelta(days=3)).isoformat()
    issued = call(db, LEAD, powers.update_power, cpw["id"], {"status": "issued", "served_on": served,
                                                             "expires_on": "2099-01-01"})
    assert issued["status"] == "issued" and issued["next_statuses"] == ["breached", "discharged", "expired"]
    assert "status" in invalid(db, LEAD, powers.update_power, cpw["id"], {"status": "considered"})
    injunction = call(db, LEAD, powers.add_power, case_id, {"power": "civil_injunction", "status": "applied"})
    assert "status" in invalid(db, LEAD, powers.update_power, injunction["id"], {"status": "issued"})
    refused = call(db, LEAD, powers.update_power, injunction["id"], {"status": "refused"})
    assert refused["next_statuses"] == []
    assert "status" in invalid(db, LEAD, powers.update_power, injunction["id"], {"status": "granted"})
    assert "status" in invalid(db, LEAD, powers.add_power, case_id, {"power": "cpn", "status": "granted"})
    kinds = [row[0] for row in db.connect().execute(text(
        "SELECT kind FROM case_timeline WHERE case_id = :id ORDER BY id"), {"id": case_id})]
    assert kinds == ["power_recorded", "power_updated", "power_recorded", "power_updated"]
    assert count(db, "SELECT count(*) FROM outbox WHERE event_type LIKE 'case.power_%'") == 4


def test_bad_power_input_writes_nothing(db):
    case_id = a_case(db)
    today = clock.now().date()
    assert "power" in invalid(db, LEAD, powers.add_power, case_id, {"power": "asbo"})
    assert "status" in invalid(db, LEAD, powers.add_power, case_id, {"power": "cpw", "status": "lapsed"})
    assert "expires_on" in invalid(db, LEAD, powers.add_power, case_id, {
        "power": "cpn", "status": "issued", "served_on": today.isoformat(),
        "expires_on": (today - timedelta(days=1)).isoformat()})
    assert "profile_id" in invalid(db, LEAD, powers.add_power, case_id, {"power": "cpw",
                                                                         "profile_id": str(uuid.uuid4())})
    cpw = call(db, LEAD, powers.add_power, case_id, {"power": "cpw"})
    assert "power_id" in invalid(db, LEAD, powers.add_breach, cpw["id"], {"occurred_on": today.isoformat(),
                                                                          "detail": "Music at 2am"})
    assert "expires_on" in invalid(db, LEAD, powers.update_power, cpw["id"], {
        "served_on": today.isoformat(), "expires_on": (today - timedelta(days=9)).isoformat()})
    assert count(db, "SELECT count(*) FROM case_powers") == 1
    assert count(db, "SELECT count(*) FROM case_power_breaches") == 0
    assert count(db, "SELECT count(*) FROM case_timeline") == 1
    with pytest.raises(NotFound):
        call(db, STRANGER, powers.add_power, case_id, {"power": "cpw"})
    with pytest.raises(NotFound):
        call(db, STRANGER, powers.update_power, cpw["id"], {"conditions": "x"})


def test_a_breach_marks_the_power_breached_and_expiry_turns_it_expired(db):
    case_id = a_case(db)
    today = clock.now().date()
    cpn = call(db, LEAD, powers.add_power, case_id, {"power": "cpn", "status": "issued",
                                                      "served_on": (today - timedelta(days=30)).isoformat(),
                                                      "expires_on": (today - timedelta(days=1)).isoformat()})
    soon = call(db, LEAD, powers.add_power, case_id, {"power": "cbo", "status": "granted",
                                                       "served_on": today.isoformat(),
                                                       "expires_on": (today + timedelta(days=5)).isoformat()})
    breach = call(db, LEAD, powers.add_breach, soon["id"], {"occurred_on": today.isoformat(), "detail": "Seen in "
                                                            "the exclusion zone", "action_taken": "Arrested"})
    assert breach["action_taken"] == "Arrested"
    assert count(db, "SELECT status FROM case_powers WHERE id = :id", id=soon["id"]) == "breached"
    assert count(db, "SELECT count(*) FROM outbox WHERE event_type = 'case.power_breached'") == 1
    assert [p["id"] for p in call(db, LEAD, powers.expiring, {"expiring_within_days": "7"})["items"]] == [soon["id"]]
    assert call(db, LEAD, powers.expiring, {"expiring_within_days": "3"})["items"] == []
    assert call(db, world.COLLEAGUE, powers.expiring, {"expiring_within_days": "7"})["items"] == []   # not lead
    tick = Tick("cases.powers_expire", clock.now(), None)
    assert call(db, world.SYSTEM, powers.expire_due, tick) == 1
    assert call(db, world.SYSTEM, powers.expire_due, tick) == 0
    assert count(db, "SELECT status FROM case_powers WHERE id = :id", id=cpn["id"]) == "expired"
    assert count(db, "SELECT count(*) FROM case_timeline WHERE kind = 'power_expired'") == 1


# -- complaints and the Community Trigger ----------------------------------------------------------------------
def complain(engine, case_id, profile_id, days_ago, settings=SETTINGS, caller=LEAD):
    received = (clock.now().date() - timedelta(days=days_ago)).isoformat()
    return call(engine, caller, complaints.add_complaint, case_id, {
        "complainant_profile_id": profile_id, "received_on": received, "summary": "Shouting and music"}, settings)


def test_three_complaints_across_cases_within_six_months_raise_one_activation(db):
    resident = str(uuid.uuid4())
    mine = a_case(db, people=[(resident, "Ada Brown")])
    theirs = a_case(db, team=world.TEAM_B1, people=[(resident, "Ada Brown")])
    complain(db, mine, resident, 200)                        # outside the window of the others
    complain(db, mine, resident, 100)
    third = complain(db, theirs, resident, 10, caller=OTHER_ORG)
    assert third["activation_id"] is None                    # 200 days ago is not within 6 months of it
    assert count(db, "SELECT count(*) FROM community_trigger_activations") == 0
    assert complain(db, mine, resident, 1)["activation_id"]
    assert complain(db, mine, resident, 0)["activation_id"] is None     # nothing fresh enough to make three
    assert count(db, "SELECT count(*) FROM community_trigger_activations") == 1
    third = call(db, OTHER_ORG, complaints.list_complaints, theirs)["items"][0]
    listed = call(db, LEAD, ct.list_activations, {})["items"]
    assert len(listed) == 1 and listed[0]["complainant_profile_id"] == resident
    assert {c["access"] for c in listed[0]["cases"]} == {"full", "signpost"}
    signpost = next(c for c in listed[0]["cases"] if c["access"] == "signpost")
    assert signpost["involved_organisations"] == [{"organisation_id": world.ORG_B}] and "title" not in signpost
    assert call(db, world.PARTNER, ct.list_activations, {})["items"][0]["id"] == listed[0]["id"]
    assert call(db, STRANGER, ct.list_activations, {})["items"] == []
    assert call(db, world.COLLEAGUE, ct.list_activations, {})["items"] == []     # same org, not a lead team
    assert count(db, "SELECT count(*) FROM outbox WHERE event_type = 'case.community_trigger_activated'") == 2
    # Three fresh complaints later raise a new one; a withdrawn complaint leaves the first standing.
    with pytest.raises(NotFound):                            # the other organisation's case: not ours to change
        call(db, LEAD, complaints.withdraw_complaint, third["id"], {"reason": "Complainant moved away"})
    call(db, OTHER_ORG, complaints.withdraw_complaint, third["id"], {"reason": "Complainant moved away"})
    listed = call(db, LEAD, ct.list_activations, {})["items"]
    assert listed[0]["complaints_withdrawn"] == 1 and listed[0]["status"] == "open"
    assert complain(db, mine, resident, 0)["activation_id"] is None
    assert complain(db, mine, resident, 0)["activation_id"]          # three fresh ones within the window
    assert count(db, "SELECT count(*) FROM community_trigger_activations") == 2


def test_two_complaints_arriving_at_once_raise_one_activation(db):
    resident = str(uuid.uuid4())
    cases = [a_case(db, people=[(resident, "Ada Brown")]) for _ in range(4)]
    complain(db, cases[0], resident, 5)
    complain(db, cases[1], resident, 4)
    barrier = threading.Barrier(2)

    def one(case_id):           # each the third: the complainant's lock counts them one after the other
        barrier.wait()
        complain(db, case_id, resident, 1)
    threads = [threading.Thread(target=one, args=(case_id,)) for case_id in cases[2:4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert count(db, "SELECT count(*) FROM community_trigger_activations") == 1
    assert count(db, "SELECT count(*) FROM community_trigger_complaints") == 3


def test_complaints_need_an_asb_case_and_a_complainant_on_it(db):
    resident = str(uuid.uuid4())
    iom = a_case(db, case_type="iom", people=[(resident, "Ada Brown")])
    asb = a_case(db, people=[(resident, "Ada Brown")])
    assert "case_id" in invalid(db, LEAD, complaints.add_complaint, iom, {
        "complainant_profile_id": resident, "received_on": "2026-01-01", "summary": "x"}, SETTINGS)
    assert "complainant_profile_id" in invalid(db, LEAD, complaints.add_complaint, asb, {
        "complainant_profile_id": str(uuid.uuid4()), "received_on": "2026-01-01", "summary": "x"}, SETTINGS)
    assert {"received_on", "summary"} <= set(invalid(db, LEAD, complaints.add_complaint, asb, {
        "complainant_profile_id": resident, "received_on": "2999-01-01", "summary": " "}, SETTINGS))
    assert count(db, "SELECT count(*) FROM asb_complaints") == 0
    closed = a_case(db, people=[(resident, "Ada Brown")], status="closed")
    with pytest.raises(Conflict):
        complain(db, closed, resident, 1)
    with pytest.raises(NotFound):
        complain(db, asb, resident, 1, caller=STRANGER)


def test_an_area_sets_its_own_threshold_and_review_days_skip_weekends(db):
    resident = str(uuid.uuid4())
    case_id = a_case(db, people=[(resident, "Ada Brown")])
    admin = world.user("orgadmin", world.TEAM_A2, roles=("org_admin",))
    with pytest.raises(Exception):
        call(db, LEAD, ct.set_threshold, world.ORG_A, {"complaints": 2, "window_months": 1,
                                                       "review_working_days": 5}, SETTINGS)
    assert "complaints" in invalid(db, admin, ct.set_threshold, world.ORG_A, {
        "complaints": 0, "window_months": 1, "review_working_days": 5}, SETTINGS)
    set_to = call(db, admin, ct.set_threshold, world.ORG_A, {"complaints": 2, "window_months": 1,
                                                             "review_working_days": 5}, SETTINGS)
    assert set_to["source"] == "area" and set_to["complaints"] == 2
    complain(db, case_id, resident, 40)
    complain(db, case_id, resident, 0)                       # 40 days apart: not within one month
    assert count(db, "SELECT count(*) FROM community_trigger_activations") == 0
    complain(db, case_id, resident, 0)
    assert count(db, "SELECT threshold FROM community_trigger_activations") == 2
    due = count(db, "SELECT review_due FROM community_trigger_activations")
    assert due == ct.add_working_days(clock.now().date(), 5)


def test_working_days_and_months():
    friday = date(2026, 12, 18)
    assert ct.add_working_days(friday, 1) == date(2026, 12, 21)
    assert ct.add_working_days(friday, 10) == date(2027, 1, 1)
    holidays = frozenset({date(2026, 12, 25), date(2026, 12, 28)})
    assert ct.add_working_days(friday, 10, holidays) == date(2027, 1, 5)
    assert ct.months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert ct.months_before(date(2026, 3, 15), 6) == date(2025, 9, 15)
    settings = ct.Settings.from_config({"COMMUNITY_TRIGGER_COMPLAINTS": "4",
                                        "COMMUNITY_TRIGGER_BANK_HOLIDAYS": "2026-12-25, 2026-12-28"}.get)
    assert settings.complaints == 4 and settings.window_months == 6 and date(2026, 12, 28) in settings.bank_holidays
