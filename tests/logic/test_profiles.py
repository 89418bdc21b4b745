"""People and premises (services/profiles/profiles.py) on a real profiles database: who leads a new
profile, reading it, changing it with If-Match, its history, and a partner's create-or-update."""
import pytest
from sqlalchemy import select

from concord_common.access import records
from concord_common.context import SYSTEM, Caller
from concord_common.errors import (Conflict, Forbidden, NotFound, PreconditionFailed, PreconditionRequired,
                                   ValidationFailed)
from services.profiles import duplicates, profiles
from services.profiles.models import History
from tests.logic import world
from tests.logic.world import (CALLERS, LEAD, ORG_A, PARTNER, STRANGER, TEAM_A1, TEAM_A2, TEAM_B1, TEAM_D1,
                               outcome)

NHS_NUMBER = "9434765919"
AVERY = {"kind": "person", "given_name": "Avery", "family_name": "Quill", "date_of_birth": "2012-04-05",
         "identifiers": [{"scheme": "nhs_number", "value": "943 476 5919"}], "flags": ["cse_risk"],
         "addresses": [{"line1": "1 Park Row", "postcode": "ls1 4ap"}], "roles": ["victim"]}


TWO_TEAMS = Caller(kind="user", id="u-two", organisation_id=ORG_A, teams=({"id": TEAM_A1}, {"id": TEAM_A2}))


def create(uow, payload=AVERY, caller=LEAD, directory=None) -> dict:
    with uow(caller) as work:
        return profiles.create_profile(work, payload, directory or world.Directory())


def update(uow, profile_id, payload, if_match, caller=LEAD) -> tuple[dict, list]:
    with uow(caller) as work:
        answer = profiles.update_profile(work, profile_id, payload, if_match)
    return answer, work.committed_events


def history(uow, profile_id, caller=LEAD) -> list[dict]:
    with uow(caller) as work:
        return profiles.profile_history(work, profile_id, {})["items"]


def test_a_new_person_is_led_by_the_creators_team_and_recorded(uow):
    with uow(LEAD) as work:
        made = profiles.create_profile(work, AVERY, world.Directory())
    assert made["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1} and made["access"] == "full"
    assert (made["version"], made["restricted"], made["consent"]) == (1, False, {"status": "not_sought",
                                                                                 "detail": None})
    assert made["identifiers"] == [{"scheme": "nhs_number", "value": NHS_NUMBER}]      # normalised
    assert [a["postcode"] for a in made["addresses"]] == ["LS1 4AP"]
    assert [(f["flag"], f["set_by"]) for f in made["flags"]] == [("cse_risk", LEAD.id)]
    assert made["is_young_person"] is True and made["display_name"] == "Avery Quill"
    [event] = work.committed_events
    assert event["type"] == "profile.created" and event["data"]["profile"] == made
    assert {(item["field"], item["by"]) for item in history(uow, made["id"])} >= {
        ("created", LEAD.id), ("given_name", LEAD.id), ("identifiers", LEAD.id), ("flags", LEAD.id)}


def test_a_new_profile_comes_with_its_likely_duplicates(uow):
    first = create(uow)
    with uow(LEAD) as work:
        second = profiles.create_profile_with_duplicates(work, {**AVERY, "given_name": "Avery"}, world.Directory())
    [likely] = second["possible_duplicates"]
    assert likely["profile"]["id"] == first["id"] and likely["score"] >= duplicates.ON_CREATE["min_score"]
    assert "same_nhs_number" in [reason["code"] for reason in likely["reasons"]]


@pytest.mark.parametrize("caller, owner_team_id, error", [
    (TWO_TEAMS, None, ValidationFailed),                           # which of them?
    (LEAD, TEAM_A2, ValidationFailed),                             # not one of their teams
    (Caller(kind="user", id="u-none", organisation_id=ORG_A), None, Forbidden),
    (world.client(ORG_A, "profiles:write"), None, ValidationFailed),       # a client names the team
    (world.client(ORG_A, "profiles:write"), TEAM_B1, ValidationFailed),    # … one of its organisation's
    (Caller(), None, Forbidden),
], ids=["several teams", "not their team", "no team", "client names none", "client names another's", "anonymous"])
def test_who_may_lead_a_new_profile(uow, caller, owner_team_id, error):
    with pytest.raises(error) as refused:
        create(uow, {**AVERY, "owner_team_id": owner_team_id}, caller)
    if error is ValidationFailed:
        assert "owner_team_id" in refused.value.errors


def test_a_person_in_several_teams_or_a_client_names_the_lead_team(uow):
    assert create(uow, {**AVERY, "owner_team_id": TEAM_A2}, TWO_TEAMS)["owner"]["team_id"] == TEAM_A2
    made = create(uow, {**AVERY, "owner_team_id": TEAM_A1}, world.client(ORG_A, "profiles:write"))
    assert made["owner"] == {"organisation_id": ORG_A, "team_id": TEAM_A1}


@pytest.mark.parametrize("payload, fields", [
    ({"kind": "person", "given_name": "Avery"}, {"family_name"}),
    ({"kind": "person", "given_name": "Avery", "family_name": "Quill", "premises_type": "business"},
     {"premises_type"}),
    ({"kind": "premises", "name": "The Swan", "gender": "male"}, {"gender"}),
    ({"kind": "person", "given_name": "A", "family_name": "Q", "date_of_birth": "2999-01-01"}, {"date_of_birth"}),
    ({"kind": "person", "given_name": "A", "family_name": "Q",
      "identifiers": [{"scheme": "nhs_number", "value": "9434765918"}]}, {"identifiers.0.value"}),
    ({"kind": "alien"}, {"kind"}),
])
def test_a_profile_that_cannot_be_made_says_which_fields_are_wrong(uow, payload, fields):
    with pytest.raises(ValidationFailed) as refused:
        create(uow, payload)
    assert fields <= set(refused.value.errors)


def test_reading_a_profile_is_for_those_who_may_and_every_read_is_recorded(uow):
    made = create(uow)
    with uow(LEAD) as work:
        read = profiles.get_profile(work, made["id"])
    assert read == made
    [event] = work.committed_events
    assert event["type"] == "profile.viewed" and event["data"]["level"] == "edit"
    assert event["data"]["break_glass"] is False
    for who, expected in (("stranger", "404"), ("other team, same org", "404"), ("client, no scopes", "403"),
                          ("client, read+write", "ok"), ("anonymous", "404")):
        assert outcome(uow, CALLERS[who], lambda work: profiles.get_profile(work, made["id"])) == expected, who
    with uow(STRANGER) as work:
        records.break_glass(work, world.PROFILE_KIND, made["id"], {"reason": "Found alone, needs care now"}, 60)
    with uow(STRANGER) as work:
        assert profiles.get_profile(work, made["id"])["id"] == made["id"]
    assert work.committed_events[0]["data"]["break_glass"] is True


def test_the_profile_page_call_reads_each_part_as_its_own_call_does_and_records_one_view(uow):
    from services.profiles import attachments, families, web_support
    made = create(uow)
    create(uow, {**AVERY, "identifiers": []})                      # a likely duplicate, for the matches part
    with uow(LEAD) as work:
        page = web_support.profile_page(work, made["id"])
    one_call = work.committed_events
    with uow(LEAD) as work:
        parts = {"profile": profiles.get_profile(work, made["id"]),
                 "level": records.check_access(work.session, LEAD, world.PROFILE_KIND, made["id"], "view")["level"],
                 "families": families.profile_families(work, made["id"])["items"],
                 "matches": duplicates.profile_matches(work, made["id"], {})["items"],
                 "attachments": attachments.list_attachments(work, made["id"], {"limit": 100})["items"],
                 "premises": web_support.profile_premises(work.session, LEAD, made["id"])["items"]}
    assert page == parts and page["level"] == "edit" and page["matches"]
    separately = {event["type"]: event["data"] for event in work.committed_events}
    assert list(separately) == ["profile.viewed", "profile.families_viewed", "profile.matches_checked",
                                "profile.attachments_viewed"]
    checked, view = one_call                        # the page: one view naming the parts read (a check is no read)
    assert (checked["type"], checked["data"]) == ("profile.matches_checked", separately["profile.matches_checked"])
    assert view["type"] == "profile.viewed"
    assert view["data"] == {**separately["profile.viewed"], "parts": ["families", "attachments"]}
    assert outcome(uow, STRANGER, lambda work: web_support.profile_page(work, made["id"])) == "404"


def test_a_change_needs_the_version_read_and_moves_it_on(uow):
    made = create(uow)
    with pytest.raises(PreconditionRequired):
        update(uow, made["id"], {"gender": "female"}, None)
    with pytest.raises(PreconditionFailed, match="version 1"):
        update(uow, made["id"], {"gender": "female"}, "2")
    changed, events = update(uow, made["id"], {"gender": "female", "roles": ["witness", "victim", "witness"]}, '"1"')
    assert (changed["version"], changed["gender"], changed["roles"]) == (2, "female", ["victim", "witness"])
    [event] = events
    assert event["type"] == "profile.updated"
    assert event["data"]["fields"] == {"gender": {"before": None, "after": "female"},
                                       "roles": {"before": ["victim"], "after": ["victim", "witness"]}}
    same, events = update(uow, made["id"], {"gender": "female"}, 2)
    assert same["version"] == 2 and events == []                   # nothing changed: no new version, no event
    with pytest.raises(PreconditionFailed):
        update(uow, made["id"], {"gender": "male"}, 1)             # a stale copy


def test_lists_are_replaced_whole_and_each_change_is_in_the_history(uow):
    made = create(uow)
    changed, [event] = update(uow, made["id"], {
        "aliases": [{"given_name": "Ava", "family_name": "Quill"}], "flags": ["cse_risk", "mental_health"],
        "addresses": [], "identifiers": [{"scheme": "nhs_number", "value": NHS_NUMBER}]}, 1)
    assert changed["aliases"] == [{"given_name": "Ava", "family_name": "Quill"}] and changed["addresses"] == []
    assert sorted(f["flag"] for f in changed["flags"]) == ["cse_risk", "mental_health"]
    assert set(event["data"]["fields"]) == {"aliases", "flags", "addresses"}     # identifiers unchanged
    assert event["data"]["fields"]["aliases"] == {"before": [], "after": [{"given_name": "Ava",
                                                                           "family_name": "Quill"}]}
    fields = [item["field"] for item in history(uow, made["id"])]
    assert fields[0] == "created" and set(fields[-3:]) == {"aliases", "flags", "addresses"}
    assert all(item["profile_id"] == made["id"] for item in history(uow, made["id"]))


def test_only_those_with_edit_access_may_change_a_profile(uow):
    made = create(uow)
    with uow(SYSTEM) as work:
        world.grant(work.session, made["id"], "team", TEAM_B1, "view")
    assert outcome(uow, PARTNER, lambda work: profiles.update_profile(work, made["id"], {"gender": "male"}, 1)) \
        == "403"
    assert outcome(uow, STRANGER, lambda work: profiles.update_profile(work, made["id"], {"gender": "male"}, 1)) \
        == "404"
    with pytest.raises(ValidationFailed) as wrong_kind:
        update(uow, made["id"], {"premises_type": "business"}, 1)
    assert "premises_type" in wrong_kind.value.errors
    with pytest.raises(NotFound):
        history(uow, made["id"], STRANGER)


def test_a_merged_away_profile_cannot_be_changed_and_its_history_joins_the_survivors(uow):
    survivor, duplicate = create(uow), create(uow, {**AVERY, "given_name": "Ava"})
    with uow(LEAD) as work:
        duplicates.merge(work, survivor["id"], {"duplicate_id": duplicate["id"]})
    with pytest.raises(Conflict, match="merged into"):
        update(uow, duplicate["id"], {"gender": "female"}, 2)
    whose = {item["profile_id"] for item in history(uow, survivor["id"])}
    assert whose == {survivor["id"], duplicate["id"]}


def test_a_partner_creates_then_updates_by_its_own_reference(uow, directory):
    partner = world.client(ORG_A, "profiles:write", "profiles:read")
    body = {"kind": "person", "given_name": "Avery", "family_name": "Quill", "owner_team_id": TEAM_A1}
    with uow(partner) as work:
        first, created = profiles.upsert_by_external_ref(work, "niche-rms", "P-1", body, directory)
    assert created and first["external_ref"] == {"system": "niche-rms", "id": "P-1"}
    with uow(partner) as work:
        second, created = profiles.upsert_by_external_ref(work, "niche-rms", "P-1", {**body, "gender": "female"},
                                                          directory)
    assert not created and second["id"] == first["id"] and (second["version"], second["gender"]) == (2, "female")
    with pytest.raises(ValidationFailed) as kind:
        with uow(partner) as work:
            profiles.upsert_by_external_ref(work, "niche-rms", "P-1", {"kind": "premises"}, directory)
    assert "kind" in kind.value.errors
    with pytest.raises(Conflict, match="already on a profile"):
        create(uow, {**AVERY, "external_ref": {"system": "niche-rms", "id": "P-1"}})
    someone_else = world.client(world.ORG_D, "profiles:write")
    with pytest.raises(Conflict, match="may not change"):
        with uow(someone_else) as work:
            profiles.upsert_by_external_ref(work, "niche-rms", "P-1", {**body, "owner_team_id": TEAM_D1}, directory)
    with uow(SYSTEM) as work:
        count = len(work.session.execute(select(History.id).where(History.profile_id == first["id"])).all())
    assert count >= 3                                              # created, its fields, the gender change


@pytest.mark.parametrize("payload", [
    AVERY,
    {**{k: v for k, v in AVERY.items() if k != "date_of_birth"}, "given_name": "Robin", "gender": "female",
     "roles": [], "external_ref": {"system": "niche", "id": "R-7"}, "contact": {"phone": "0113 496 0000"}},
    {"kind": "person", "given_name": "Sam", "family_name": "Odd"},
    {"kind": "premises", "name": "The Red Lion", "premises_type": "licensed_premises",
     "address": {"line1": "2 Kirkgate", "postcode": "LS2 7DJ"}},
], ids=["everything", "external ref and contact", "bare", "premises"])
def test_profile_fields_are_what_the_profile_schema_dumps(uow, profiles_db, payload):
    """profile_fields writes ProfileSchema's dump out by hand for speed: the two agree, from the ORM object (a
    profile read) and from a Core row (a search result row), and in the same key order."""
    from sqlalchemy.orm import Session
    from services.profiles.answers import ProfileSchema
    from services.profiles.profile_views import profile_fields
    from services.profiles.models import Profile

    made = create(uow, payload)
    schema = ProfileSchema()
    with Session(profiles_db) as session:
        profile = session.get(Profile, made["id"])
        row = session.execute(select(Profile.__table__).where(Profile.__table__.c.id == made["id"])).one()
        for source in (profile, row):
            assert list(profile_fields(source).items()) == list(schema.dump(source).items())
