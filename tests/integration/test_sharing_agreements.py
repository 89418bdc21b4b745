"""Sharing agreements between organisations, against the running permissions service.

Who may make and end them, what bad input gets, and `active_agreement_between`,
which owning services ask while an owner grants access (no active agreement:
the grant needs a justification).
"""
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from concord_common import clock
from concord_common.context import Caller
from concord_common.errors import Forbidden, MalformedRequest, NotFound, Unauthenticated, ValidationFailed
from concord_common.messaging_tables import outbox
from services.permissions import models
from tests.integration.permissions_support import caller_of, directory, moved_clock, unique  # noqa: F401


def today() -> date:
    return clock.now().date()


@pytest.fixture(scope="module")
def world(directory):
    d = directory
    police, council, school, operators = (d.organisation(type="police"), d.organisation(type="council"),
                                          d.organisation(type="education"), d.organisation(type="other"))
    hub, care = d.team(police), d.team(council)
    people = {
        "system_admin": d.user(operators, roles=["system_admin"]),
        "police_admin": d.user(police, roles=["org_admin"]),
        "school_admin": d.user(school, roles=["org_admin"]),
        "practitioner": d.user(police, teams=[(hub, "supervisor")]),
        "council_worker": d.user(council, teams=[(care, "practitioner")]),
    }
    callers = {who: d.caller(person["username"]) for who, person in people.items()}
    client = d.system.create_api_client({"name": "Force records", "organisation_id": police["id"],
                                         "scopes": ["profiles:write"]})
    token = d.anonymous.client_token(client["client_id"], client["client_secret"])
    callers["api_client"] = caller_of(d.anonymous.resolve_token(token["access_token"]))
    callers["anonymous"] = Caller()
    return SimpleNamespace(police=police, council=council, school=school, callers=callers,
                           as_=lambda who: d.as_(callers[who]))


def agreement(world, **changes) -> dict:
    payload = {"name": unique("Leeds safeguarding partnership"), "purpose": "Safeguarding children at risk",
               "lawful_basis": "Children Act 2004 s11", "organisation_ids": [world.police["id"], world.council["id"]],
               "review_date": (today() + timedelta(days=365)).isoformat()}
    payload.update(changes)
    return payload


def agreement_counts(d) -> tuple:
    return d.count(models.SharingAgreement), d.count(models.SharingAgreementParty)


def outbox_events(d, event_type: str, record_id: str) -> list[dict]:
    with d.engine.connect() as conn:
        envelopes = conn.execute(select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()
        return [e for e in envelopes if (e["data"].get("record") or {}).get("id") == record_id]


# -- who may ------------------------------------------------------------------------------
CREATE = {"system_admin": None, "police_admin": None, "school_admin": Forbidden, "practitioner": Forbidden,
          "council_worker": Forbidden, "api_client": Forbidden, "anonymous": Unauthenticated}


@pytest.mark.parametrize("who", list(CREATE))
def test_who_may_make_and_end_an_agreement(directory, world, who):
    expected = CREATE[who]
    if expected is None:
        made = world.as_(who).create_sharing_agreement(agreement(world))
        assert made["status"] == "active" and made["active"] is True
        ended = world.as_(who).end_sharing_agreement(made["id"])
        assert ended["status"] == "ended" and ended["end_date"] == today().isoformat()
        return
    before = agreement_counts(directory)
    with pytest.raises(expected):
        world.as_(who).create_sharing_agreement(agreement(world))
    assert agreement_counts(directory) == before
    made = directory.system.create_sharing_agreement(agreement(world))
    with pytest.raises(expected):
        world.as_(who).end_sharing_agreement(made["id"])
    assert directory.system.get_sharing_agreement(made["id"])["status"] == "active"


def test_an_agreement_as_made_read_listed_and_its_events(directory, world):
    made = world.as_("police_admin").create_sharing_agreement(agreement(
        world, organisation_ids=[world.police["id"], world.council["id"], world.school["id"]], name="  Tri-partite  "))
    assert made["name"] == "Tri-partite" and made["start_date"] == today().isoformat() and made["end_date"] is None
    assert {party["id"] for party in made["parties"]} == {world.police["id"], world.council["id"], world.school["id"]}
    assert {party["name"] for party in made["parties"]} == {world.police["name"], world.council["name"],
                                                           world.school["name"]}
    assert made["created_by"] == world.callers["police_admin"].id and made["review_overdue"] is False
    assert world.as_("council_worker").get_sharing_agreement(made["id"]) == made
    listed = world.as_("practitioner").list_sharing_agreements(world.school["id"])
    assert made["id"] in {item["id"] for item in listed["items"]}
    assert all(world.school["id"] in {p["id"] for p in item["parties"]} for item in listed["items"])
    assert made["id"] in {item["id"] for item in world.as_("practitioner").list_sharing_agreements()["items"]}

    [created] = outbox_events(directory, "sharing_agreement.created", made["id"])
    assert created["data"]["record"] == {"type": "sharing_agreement", "id": made["id"]}
    assert created["caller"]["id"] == world.callers["police_admin"].id
    world.as_("police_admin").end_sharing_agreement(made["id"])
    again = world.as_("police_admin").end_sharing_agreement(made["id"])      # ending twice changes nothing
    assert again["status"] == "ended"
    assert len(outbox_events(directory, "sharing_agreement.ended", made["id"])) == 1


def test_reading_needs_a_signed_in_person(directory, world):
    made = directory.system.create_sharing_agreement(agreement(world))
    with pytest.raises(Unauthenticated):
        directory.anonymous.list_sharing_agreements()
    with pytest.raises(Forbidden):
        world.as_("api_client").get_sharing_agreement(made["id"])
    for missing in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        with pytest.raises(NotFound):
            world.as_("practitioner").get_sharing_agreement(missing)
        with pytest.raises(NotFound):
            directory.system.end_sharing_agreement(missing)
    with pytest.raises(ValidationFailed) as failed:
        world.as_("practitioner").list_sharing_agreements("nonsense")
    assert set(failed.value.errors) == {"organisation_id"}


# -- bad input ------------------------------------------------------------------------------
BAD = {
    "one organisation": (lambda w: {"organisation_ids": [w.police["id"]]}, {"organisation_ids"}),
    "an organisation twice": (lambda w: {"organisation_ids": [w.police["id"], w.police["id"]]}, {"organisation_ids"}),
    "unknown organisation": (lambda w: {"organisation_ids": [w.police["id"], "8b0f1a1e-0000-4000-8000-000000000000"]},
                             {"organisation_ids.1"}),
    "not an id": (lambda w: {"organisation_ids": [w.police["id"], "council"]}, {"organisation_ids.1"}),
    "review date in the past": (lambda w: {"review_date": (today() - timedelta(days=1)).isoformat()}, {"review_date"}),
    "end before start": (lambda w: {"start_date": (today() + timedelta(days=10)).isoformat(),
                                    "end_date": (today() + timedelta(days=5)).isoformat()}, {"end_date"}),
    "no name, purpose or basis": (lambda w: {"name": " ", "purpose": "", "lawful_basis": None},
                                  {"name", "purpose", "lawful_basis"}),
    "no review date": (lambda w: {"review_date": None}, {"review_date"}),
    "not a date": (lambda w: {"review_date": "next year"}, {"review_date"}),
    "unknown field": (lambda w: {"colour": "red"}, {"colour"}),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_agreements_name_the_field_and_write_nothing(directory, world, case):
    changes, fields = BAD[case]
    before = agreement_counts(directory)
    with pytest.raises(ValidationFailed) as failed:
        directory.system.create_sharing_agreement(agreement(world, **changes(world)))
    assert set(failed.value.errors) == fields, failed.value.errors
    assert agreement_counts(directory) == before


def test_a_body_that_is_not_an_object_is_malformed(directory, world):
    with pytest.raises(MalformedRequest):
        directory.system.create_sharing_agreement(["police", "council"])


def test_an_org_admin_may_only_make_agreements_their_organisation_is_party_to(directory, world):
    with pytest.raises(Forbidden):
        world.as_("school_admin").create_sharing_agreement(agreement(world))
    made = world.as_("school_admin").create_sharing_agreement(
        agreement(world, organisation_ids=[world.school["id"], world.council["id"]]))
    with pytest.raises(Forbidden):
        world.as_("police_admin").end_sharing_agreement(made["id"])


# -- is there an active agreement? ------------------------------------------------------------
@pytest.fixture
def pair(directory):
    """Two fresh organisations (no agreements yet) and a third."""
    return directory.organisation(), directory.organisation(), directory.organisation()


def test_active_agreement_between_two_organisations(directory, world, pair):
    a, b, c = pair
    ask = world.as_("practitioner").active_agreement_between
    assert ask(a["id"], b["id"]) is None
    made = directory.system.create_sharing_agreement(agreement(world, organisation_ids=[a["id"], b["id"], c["id"]]))
    assert ask(a["id"], b["id"])["id"] == made["id"]
    assert ask(b["id"], a["id"])["id"] == made["id"]
    assert ask(c["id"], b["id"])["id"] == made["id"]
    assert ask(a["id"], a["id"]) is None                        # one organisation needs no agreement
    assert ask(a["id"], world.police["id"]) is None
    assert ask(a["id"], "not-an-id") is None
    assert world.as_("api_client").active_agreement_between(a["id"], b["id"])["id"] == made["id"]
    with pytest.raises(Unauthenticated):
        directory.anonymous.active_agreement_between(a["id"], b["id"])
    directory.system.end_sharing_agreement(made["id"])
    assert ask(a["id"], b["id"]) is None                        # ended today means no longer, at once


def test_an_agreement_is_active_only_between_its_dates(directory, world, pair, moved_clock):
    a, b, _ = pair
    ask = directory.system.active_agreement_between
    later = directory.system.create_sharing_agreement(agreement(
        world, organisation_ids=[a["id"], b["id"]], start_date=(today() + timedelta(days=3)).isoformat(),
        end_date=(today() + timedelta(days=10)).isoformat()))
    assert later["status"] == "not_started" and ask(a["id"], b["id"]) is None
    moved_clock(timedelta(days=3))
    assert ask(a["id"], b["id"])["id"] == later["id"]
    moved_clock(timedelta(days=7))
    assert ask(a["id"], b["id"])["id"] == later["id"]           # the end date is the last day
    moved_clock(timedelta(days=1))
    assert ask(a["id"], b["id"]) is None
    assert directory.system.get_sharing_agreement(later["id"])["status"] == "ended"


def test_the_latest_started_of_several_active_agreements_answers(directory, world, pair):
    a, b, _ = pair
    older = directory.system.create_sharing_agreement(agreement(
        world, organisation_ids=[a["id"], b["id"]], start_date=(today() - timedelta(days=30)).isoformat()))
    newer = directory.system.create_sharing_agreement(agreement(world, organisation_ids=[a["id"], b["id"]]))
    assert directory.system.active_agreement_between(a["id"], b["id"])["id"] == newer["id"]
    directory.system.end_sharing_agreement(newer["id"])
    assert directory.system.active_agreement_between(a["id"], b["id"])["id"] == older["id"]


def test_an_overdue_review_shows_but_does_not_end_the_agreement(directory, world, pair, moved_clock):
    a, b, _ = pair
    made = directory.system.create_sharing_agreement(agreement(
        world, organisation_ids=[a["id"], b["id"]], review_date=(today() + timedelta(days=1)).isoformat()))
    moved_clock(timedelta(days=2))
    found = directory.system.active_agreement_between(a["id"], b["id"])
    assert found["id"] == made["id"] and found["review_overdue"] is True
