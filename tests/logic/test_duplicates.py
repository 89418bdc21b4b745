"""Likely duplicates with their reasons, merging one profile into another and undoing it
(services/profiles/duplicates.py) on a real profiles database."""
from datetime import date

import pytest
from sqlalchemy import select

from concord_common.context import SYSTEM
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.profiles import duplicates
from services.profiles.models import FamilyMember, History, Merge, Profile
from tests.logic import world
from tests.logic.world import LEAD, ORG_D, PARTNER, PARTNER_ORG, STRANGER, TEAM_B1, TEAM_D1

NHS_NUMBER, OTHER_NHS_NUMBER = "9434765919", "9434765870"
BORN = date(1980, 5, 6)


def matches(uow, profile_id, caller=LEAD, **params) -> dict:
    """{profile id: match} for `profile_id`, as `caller` sees them."""
    with uow(caller) as work:
        items = duplicates.profile_matches(work, profile_id, params)["items"]
    return {item["profile"]["id"]: item for item in items}


def codes(reasons) -> list[str]:
    return [reason["code"] for reason in reasons]


@pytest.fixture
def candidates(uow):
    """William Quennell (born 1980-05-06, NHS number, 1 Park Row) and people like him in different ways."""
    with uow(SYSTEM) as work:
        s = work.session
        made = {
            "subject": world.person(s, "William", "Quennell", date_of_birth=BORN,
                                    identifiers=[("nhs_number", NHS_NUMBER)], addresses=[("1 Park Row", "LS1 4AP")]),
            "same number": world.person(s, "Bill", "Kennet", identifiers=[("nhs_number", NHS_NUMBER)]),
            "name and birth": world.person(s, "William", "Quennell", date_of_birth=BORN),
            "similar at address": world.person(s, "Wiliam", "Quennel", addresses=[("1 Park Row", "LS1 4AP")]),
            "born another day": world.person(s, "William", "Quennell", date_of_birth=date(1991, 1, 1)),
            "another number": world.person(s, "William", "Quennell", date_of_birth=BORN,
                                           identifiers=[("nhs_number", OTHER_NHS_NUMBER)]),
            "theirs": world.person(s, "William", "Quennell", date_of_birth=BORN, team=TEAM_D1),
            "merged away": world.person(s, "William", "Quennell", date_of_birth=BORN,
                                        identifiers=[("nhs_number", NHS_NUMBER)]),
            "unlike": world.person(s, "Zebedee", "Oxtoby", date_of_birth=BORN),
        }
        made["merged away"].merged_into = made["name and birth"].id
    return {name: profile.id for name, profile in made.items()}


def test_likely_duplicates_come_best_first_with_their_reasons(uow, candidates):
    found = matches(uow, candidates["subject"])
    by_name = {name: found.get(profile_id) for name, profile_id in candidates.items()}
    assert by_name["subject"] is None and by_name["merged away"] is None and by_name["unlike"] is None
    assert by_name["born another day"] is None and by_name["another number"] is None    # counter-evidence
    number, birth, address = by_name["same number"], by_name["name and birth"], by_name["similar at address"]
    assert (number["score"], codes(number["reasons"]), number["against"]) == (0.97, ["same_nhs_number"], [])
    assert number["reasons"] == [{"code": "same_nhs_number", "description": "Same NHS number"}]
    assert (birth["score"], birth["reasons"]) == (0.85, [{"code": "name_and_date_of_birth",
                                                          "description": "The same name and the same date of birth"}])
    assert codes(address["reasons"]) == ["name", "name_and_address"] and address["score"] == 0.68
    assert address["reasons"][1]["description"] == "A similar name at the same address"
    assert [item["score"] for item in found.values()] == sorted((item["score"] for item in found.values()),
                                                                 reverse=True)
    assert number["profile"]["access"] == "full" and number["profile"]["identifiers"][0]["value"] == NHS_NUMBER


def test_counter_evidence_lowers_a_score_and_is_given_as_a_reason_against(uow, candidates):
    found = matches(uow, candidates["subject"], min_score="0")
    other = found[candidates["another number"]]
    assert codes(other["reasons"]) == ["name_and_date_of_birth"]
    assert other["against"] == [{"code": "different_nhs_number", "description": "Different NHS number"}]
    assert other["score"] == round(0.85 * 0.3, 3)
    assert candidates["born another day"] not in found            # nothing for it: no reason, however low


def test_a_likely_duplicate_the_caller_may_not_open_is_a_signpost(uow, candidates):
    theirs = matches(uow, candidates["subject"])[candidates["theirs"]]
    assert theirs["profile"] == {"id": candidates["theirs"], "access": "signpost", "kind": "person",
                                 "display_name": "William Quennell",
                                 "involved_organisations": [{"organisation_id": ORG_D}],
                                 "request_access": f"/api/v1/profiles/{candidates['theirs']}/access-requests"}
    assert codes(theirs["reasons"]) == ["name_and_date_of_birth"]


def test_matches_are_for_those_who_may_view_the_profile_and_are_recorded(uow, candidates):
    with pytest.raises(NotFound):
        matches(uow, candidates["subject"], STRANGER)
    with uow(LEAD) as work:
        answer = duplicates.profile_matches(work, candidates["subject"], {"limit": "2"})
    assert len(answer["items"]) == 2 and answer["next_cursor"] is None
    [event] = work.committed_events
    assert event["type"] == "profile.matches_checked"
    assert event["data"]["record"] == {"type": "profile", "id": candidates["subject"]}
    assert event["data"]["candidates"] == [{"id": item["profile"]["id"], "score": item["score"]}
                                           for item in answer["items"]]
    assert matches(uow, candidates["merged away"]) == {}          # a merged-away profile has none of its own
    with pytest.raises(ValidationFailed) as refused:
        matches(uow, candidates["subject"], limit="0")
    assert "limit" in refused.value.errors


def test_a_profile_just_created_is_told_only_its_likely_duplicates(uow, candidates):
    new = {"id": world._id(), "kind": "person", "given_name": "William", "family_name": "Quennell",
           "date_of_birth": "1980-05-06", "identifiers": [], "addresses": [], "aliases": []}
    with uow(LEAD) as work:
        found = duplicates.possible_duplicates(work, new)
        assert duplicates.possible_duplicates(work, {**new, "kind": "premises"}) == []
    assert {item["profile"]["id"] for item in found} == {candidates["subject"], candidates["name and birth"],
                                                        candidates["another number"], candidates["theirs"]}
    assert all(item["score"] >= 0.5 for item in found)


# -- merge and unmerge ------------------------------------------------------------------------
@pytest.fixture
def pair(uow):
    """Two records of one man: the survivor knows little; the duplicate has his date of birth, gender, other
    names, NHS number, address, a flag, a role and a family."""
    with uow(SYSTEM) as work:
        survivor = world.person(work.session, "William", "Quennell", roles=["victim"], flags=["vulnerable_adult"])
        duplicate = world.person(work.session, "Bill", "Quennell", date_of_birth=BORN, gender="male",
                                 aliases=[("Ziggy", "Stardust")], identifiers=[("nhs_number", NHS_NUMBER)],
                                 addresses=[("1 Park Row", "LS1 4AP")], flags=["cse_risk", "vulnerable_adult"],
                                 roles=["witness"], contact={"phone": "0113 496 0000"})
        family = world.family(work.session, "The Quennells", [(duplicate.id, "parent")])
    return {"survivor": survivor.id, "duplicate": duplicate.id, "family": family.id}


def member_of(uow, family_id) -> list[str]:
    with uow(SYSTEM) as work:
        return list(work.session.execute(select(FamilyMember.profile_id).where(FamilyMember.family_id == family_id))
                    .scalars())


def test_a_merge_folds_the_duplicate_into_the_survivor_and_loses_nothing(uow, pair):
    with uow(LEAD) as work:
        merged = duplicates.merge(work, pair["survivor"], {"duplicate_id": pair["duplicate"]})
    assert merged["id"] == pair["survivor"] and merged["version"] == 2 and merged["merged_from"] == [pair["duplicate"]]
    assert {(a["given_name"], a["family_name"]) for a in merged["aliases"]} == {("Bill", "Quennell"),
                                                                               ("Ziggy", "Stardust")}
    assert merged["identifiers"] == [{"scheme": "nhs_number", "value": NHS_NUMBER}]
    assert [a["postcode"] for a in merged["addresses"]] == ["LS1 4AP"]
    assert sorted(f["flag"] for f in merged["flags"]) == ["cse_risk", "vulnerable_adult"]
    assert (merged["date_of_birth"], merged["gender"], merged["roles"]) == ("1980-05-06", "male", ["victim", "witness"])
    assert merged["contact"] == {"phone": "0113 496 0000"}
    assert merged["merge"]["survivor_id"] == pair["survivor"] and merged["merge"]["merged_by"] == LEAD.id
    assert member_of(uow, pair["family"]) == [pair["survivor"]]
    assert [(e["type"], e["data"]["record"]["id"]) for e in work.committed_events] == [
        ("profile.merged", pair["survivor"]), ("profile.merged", pair["duplicate"])]
    assert work.committed_events[1]["data"]["fields"] == {"merged_into": {"before": None, "after": pair["survivor"]}}
    with uow(SYSTEM) as work:
        duplicate = work.session.get(Profile, pair["duplicate"])
        assert (duplicate.merged_into, duplicate.version, duplicate.gender) == (pair["survivor"], 2, "male")
        history = {(h.profile_id, h.field) for h in work.session.execute(select(History)).scalars()}
    assert {(pair["survivor"], "merged"), (pair["survivor"], "aliases"), (pair["survivor"], "date_of_birth"),
            (pair["duplicate"], "merged_into")} <= history


def test_an_unmerge_takes_out_exactly_what_the_merge_brought_and_keeps_later_edits(uow, pair):
    with uow(LEAD) as work:
        duplicates.merge(work, pair["survivor"], {"duplicate_id": pair["duplicate"]})
    with uow(LEAD) as work:                     # changed since the merge: stays
        work.session.get(Profile, pair["survivor"]).gender = "not_stated"
    with uow(LEAD) as work:
        undone = duplicates.unmerge(work, pair["duplicate"], {})      # named by the duplicate
    survivor, duplicate = undone["survivor"], undone["duplicate"]
    assert (survivor["aliases"], survivor["identifiers"], survivor["addresses"]) == ([], [], [])
    assert [f["flag"] for f in survivor["flags"]] == ["vulnerable_adult"]
    assert (survivor["date_of_birth"], survivor["gender"], survivor["roles"]) == (None, "not_stated", ["victim"])
    assert survivor["contact"] is None and survivor["merged_from"] == []
    assert duplicate["merged_into"] is None and duplicate["identifiers"] == [{"scheme": "nhs_number",
                                                                             "value": NHS_NUMBER}]
    assert undone["merge"]["unmerged_by"] == LEAD.id and undone["merge"]["unmerged_at"]
    assert member_of(uow, pair["family"]) == [pair["duplicate"]]
    assert [e["type"] for e in work.committed_events] == ["profile.unmerged", "profile.unmerged"]
    with pytest.raises(Conflict, match="Nothing is merged"):
        with uow(LEAD) as work:
            duplicates.unmerge(work, pair["survivor"], {})


def test_several_merged_in_must_be_unmerged_by_name(uow, pair):
    with uow(SYSTEM) as work:
        third = world.person(work.session, "Will", "Quennell").id
    for duplicate in (pair["duplicate"], third):
        with uow(LEAD) as work:
            duplicates.merge(work, pair["survivor"], {"duplicate_id": duplicate})
    with pytest.raises(ValidationFailed, match="invalid") as unnamed:
        with uow(LEAD) as work:
            duplicates.unmerge(work, pair["survivor"], {})
    assert "duplicate_id" in unnamed.value.errors
    with uow(LEAD) as work:
        undone = duplicates.unmerge(work, pair["survivor"], {"duplicate_id": third})
    assert undone["duplicate"]["id"] == third and undone["survivor"]["merged_from"] == [pair["duplicate"]]
    with uow(SYSTEM) as work:
        assert work.session.execute(select(Merge.id).where(Merge.unmerged_at.is_(None))).scalars().all() != []


def test_a_merge_that_cannot_be_done_says_why(uow, pair):
    with uow(SYSTEM) as work:
        premises = world.person(work.session, "X", "Y", kind="premises").id
        theirs = world.person(work.session, "Bill", "Quennell", team=TEAM_D1).id
        partners = world.person(work.session, "Bill", "Quennell", team=TEAM_B1).id
        world.grant(work.session, pair["survivor"], "team", TEAM_B1, "view")
    refused = {
        "itself": (LEAD, pair["survivor"], pair["survivor"]),
        "premises": (LEAD, pair["survivor"], premises),
        "no such": (LEAD, pair["survivor"], world._id()),
        "not theirs to change": (LEAD, pair["survivor"], theirs),
    }
    for why, (caller, survivor, duplicate) in refused.items():
        with pytest.raises(ValidationFailed) as error:
            with uow(caller) as work:
                duplicates.merge(work, survivor, {"duplicate_id": duplicate})
        assert "duplicate_id" in error.value.errors, why
    with pytest.raises(NotFound):                     # may not see the survivor
        with uow(STRANGER) as work:
            duplicates.merge(work, pair["survivor"], {"duplicate_id": theirs})
    with pytest.raises(Forbidden):                    # may only view the survivor
        with uow(PARTNER) as work:
            duplicates.merge(work, pair["survivor"], {"duplicate_id": partners})
    with pytest.raises(ValidationFailed) as malformed:
        with uow(PARTNER_ORG) as work:
            duplicates.merge(work, pair["survivor"], {"duplicate_id": "not-a-uuid"})
    assert "duplicate_id" in malformed.value.errors
    with uow(LEAD) as work:
        duplicates.merge(work, pair["survivor"], {"duplicate_id": pair["duplicate"]})
    with pytest.raises(Conflict, match="already merged"):
        with uow(LEAD) as work:
            duplicates.merge(work, pair["survivor"], {"duplicate_id": pair["duplicate"]})
