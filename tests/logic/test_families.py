"""Families (services/profiles/families.py) on a real profiles database: making one of people the caller
may see, reading it (members the caller may not see are signposts), adding and removing members."""
from datetime import date

import pytest

from concord_common.context import SYSTEM
from concord_common.errors import NotFound, ValidationFailed
from services.profiles import families
from tests.logic import world
from tests.logic.world import LEAD, ORG_A, PARTNER, STRANGER, TEAM_A1, TEAM_B1, TEAM_D1, outcome


@pytest.fixture
def people(uow):
    """A mother and child led by team A1, a father led by team D1 (a stranger to A1), and a pub."""
    with uow(SYSTEM) as work:
        s = work.session
        made = {"mother": world.person(s, "Mina", "Harrow", date_of_birth=date(1985, 1, 2)),
                "child": world.person(s, "Tobi", "Harrow", date_of_birth=date(2016, 3, 4)),
                "father": world.person(s, "Dai", "Harrow", team=TEAM_D1),
                "pub": world.person(s, None, None, kind="premises", name="The Swan")}
    return {name: profile.id for name, profile in made.items()}


def new_family(uow, people, caller=LEAD, **extra) -> tuple[dict, list]:
    payload = {"name": "The Harrows", "members": [{"profile_id": people["mother"], "role": "parent"},
                                                  {"profile_id": people["child"], "role": "child"}], **extra}
    with uow(caller) as work:
        made = families.create_family(work, payload, world.Directory())
    return made, work.committed_events


def test_a_family_of_people_the_caller_may_see_is_led_by_their_team(uow, people):
    made, [event] = new_family(uow, people)
    assert made["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1} and made["version"] == 1
    assert sorted(made["members"], key=lambda member: member["role"], reverse=True) == [
        {"profile_id": people["mother"], "role": "parent", "display_name": "Mina Harrow", "access": "full"},
        {"profile_id": people["child"], "role": "child", "display_name": "Tobi Harrow", "access": "full"}]
    assert event["type"] == "family.created" and event["data"]["name"] == "The Harrows"
    assert event["data"]["members"] == [{"profile_id": people["mother"], "role": "parent"},  # as asked
                                        {"profile_id": people["child"], "role": "child"}]
    partner_system = world.client(ORG_A, "profiles:read", "profiles:write")
    by_client, _ = new_family(uow, people, partner_system, owner_team_id=TEAM_A1)
    assert by_client["owner"] == made["owner"]
    with pytest.raises(ValidationFailed) as unnamed:            # a client must say which team leads it
        new_family(uow, people, partner_system)
    assert "owner_team_id" in unnamed.value.errors


def test_a_family_names_only_people_the_caller_may_see_and_only_people(uow, people):
    with pytest.raises(ValidationFailed) as refused:
        with uow(LEAD) as work:
            families.create_family(work, {"name": "Mixed", "members": [
                {"profile_id": people["mother"], "role": "parent"}, {"profile_id": people["father"], "role": "parent"},
                {"profile_id": people["pub"], "role": "other"}, {"profile_id": world._id(), "role": "child"}]},
                world.Directory())
    assert refused.value.errors == {"members.1.profile_id": ["There is no such profile that you can see."],
                                    "members.2.profile_id": ["That profile is not a person."],
                                    "members.3.profile_id": ["There is no such profile that you can see."]}
    for payload, field in (({"name": ""}, "name"), ({"name": "X", "members": [
            {"profile_id": people["mother"], "role": "aunt"}]}, "members")):
        with pytest.raises(ValidationFailed) as invalid:
            with uow(LEAD) as work:
                families.create_family(work, payload, world.Directory())
        assert any(key.startswith(field) for key in invalid.value.errors), payload


def test_reading_a_family_shows_members_the_caller_may_not_open_as_signposts(uow, people):
    with uow(SYSTEM) as work:
        family = world.family(work.session, "The Harrows", [(people["mother"], "parent"),
                                                            (people["father"], "parent")])
    with uow(LEAD) as work:
        read = families.get_family(work, family.id)
    assert {m["profile_id"]: (m["display_name"], m["access"]) for m in read["members"]} == {
        people["mother"]: ("Mina Harrow", "full"), people["father"]: ("Dai Harrow", "signpost")}   # a signpost: the name only
    [event] = work.committed_events
    assert event["type"] == "family.viewed" and event["data"]["level"] == "edit"
    assert outcome(uow, STRANGER, lambda work: families.get_family(work, family.id)) == "404"
    assert outcome(uow, LEAD, lambda work: families.get_family(work, world._id())) == "404"


def test_adding_a_member_or_changing_their_role_moves_the_version_on(uow, people):
    made, _ = new_family(uow, people)
    with uow(SYSTEM) as work:
        world.grant(work.session, people["father"], "team", TEAM_A1, "view")     # now A1 may see him
    with uow(LEAD) as work:
        added = families.add_family_member(work, made["id"], {"profile_id": people["father"], "role": "parent"})
    assert added["version"] == 2 and len(added["members"]) == 3
    [event] = work.committed_events
    assert event["type"] == "family.member_added"
    assert event["data"]["fields"] == {"members": {"before": None, "after": "parent"}}
    with uow(LEAD) as work:
        again = families.add_family_member(work, made["id"], {"profile_id": people["father"], "role": "parent"})
    assert again["version"] == 2 and work.committed_events == []                  # the same again: nothing
    with uow(LEAD) as work:
        changed = families.add_family_member(work, made["id"], {"profile_id": people["child"], "role": "sibling"})
    assert changed["version"] == 3
    assert work.committed_events[0]["data"]["fields"] == {"members": {"before": "child", "after": "sibling"}}
    with pytest.raises(ValidationFailed) as unseen:
        with uow(LEAD) as work:
            families.add_family_member(work, made["id"], {"profile_id": world._id(), "role": "child"})
    assert "profile_id" in unseen.value.errors


def test_removing_a_member(uow, people):
    made, _ = new_family(uow, people)
    with uow(LEAD) as work:
        families.remove_family_member(work, made["id"], people["child"])
    [event] = work.committed_events
    assert event["type"] == "family.member_removed"
    assert event["data"]["member"] == {"profile_id": people["child"], "role": "child"}
    with uow(LEAD) as work:
        read = families.get_family(work, made["id"])
    assert read["version"] == 2 and [m["profile_id"] for m in read["members"]] == [people["mother"]]
    with pytest.raises(NotFound):
        with uow(LEAD) as work:
            families.remove_family_member(work, made["id"], people["child"])


def test_only_those_with_edit_access_change_a_family(uow, people):
    made, _ = new_family(uow, people)
    with uow(SYSTEM) as work:
        world.grant(work.session, made["id"], "team", TEAM_B1, "view", record_type="family")
        world.grant(work.session, people["mother"], "team", TEAM_B1, "view")
    add = {"profile_id": people["mother"], "role": "carer"}
    assert outcome(uow, PARTNER, lambda work: families.get_family(work, made["id"])) == "ok"
    assert outcome(uow, PARTNER, lambda work: families.add_family_member(work, made["id"], add)) == "403"
    assert outcome(uow, PARTNER, lambda work: families.remove_family_member(work, made["id"], people["child"])) \
        == "403"
    assert outcome(uow, STRANGER, lambda work: families.add_family_member(work, made["id"], add)) == "404"


def test_the_families_a_profile_is_in_are_those_the_caller_may_see(uow, people):
    mine, _ = new_family(uow, people)
    with uow(SYSTEM) as work:
        theirs = world.family(work.session, "Harrow household", [(people["mother"], "carer")], team=TEAM_D1)
    with uow(LEAD) as work:
        listed = families.profile_families(work, people["mother"])
    assert [(f["id"], f["role"]) for f in listed["items"]] == [(mine["id"], "parent")]
    with uow(STRANGER) as work:                  # D1 leads the household, but may not see the mother
        with pytest.raises(NotFound):
            families.profile_families(work, people["mother"])
    with uow(SYSTEM) as work:
        world.grant(work.session, people["mother"], "team", TEAM_D1, "view")
    with uow(STRANGER) as work:                  # now they may: their household, not A1's family
        listed = families.profile_families(work, people["mother"])
    assert [(f["id"], f["role"]) for f in listed["items"]] == [(theirs.id, "carer")]
