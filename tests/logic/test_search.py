"""Profile search (services/profiles/search.py) on a real profiles database: names as people type them,
dates of birth, postcodes, identifiers, and what a caller who may not open a profile sees of it."""
from datetime import date

import pytest
from sqlalchemy import text

from concord_common.context import SYSTEM
from concord_common.errors import ValidationFailed
from services.profiles import search
from services.profiles.models import Profile
from tests.logic import world
from tests.logic.world import LEAD, ORG_B, ORG_D, STRANGER, TEAM_D1

NHS_NUMBER = "9434765919"
SIGNPOST_KEYS = {"id", "access", "kind", "display_name", "involved_organisations", "request_access"}


def found(uow, caller=LEAD, **params) -> list[dict]:
    with uow(caller) as work:
        return search.search_profiles(work, params)["items"]


def ids(items) -> list[str]:
    return [item["id"] for item in items]


@pytest.fixture
def people(uow):
    """William Quennell (with an alias, an NHS number and a Leeds address), his namesake born later,
    Catherine Smith, Philippa Wolstenholme and someone unlike any of them; all led by team A1."""
    with uow(SYSTEM) as work:
        made = {
            "william": world.person(work.session, "William", "Quennell", date_of_birth=date(1980, 5, 6),
                                    aliases=[("Ziggy", "Stardust")], identifiers=[("nhs_number", NHS_NUMBER)],
                                    addresses=[("1 Park Row", "LS1 4AP")]),
            "namesake": world.person(work.session, "William", "Quennell", date_of_birth=date(1991, 1, 1)),
            "catherine": world.person(work.session, "Catherine", "Smith", date_of_birth=date(1975, 3, 4)),
            "philippa": world.person(work.session, "Philippa", "Wolstenholme"),
            "other": world.person(work.session, "Zebedee", "Oxtoby", date_of_birth=date(1980, 5, 6)),
        }
    return {name: profile.id for name, profile in made.items()}


@pytest.mark.parametrize("q", ["William Quennell", "william quennell", "Quennell William", "Bill Quennell",
                               "Wiliam Quenell", "Willliam Quennell", "Ziggy Stardust", "Quennell"])
def test_a_name_finds_the_person_however_it_is_typed(uow, people, q):
    items = found(uow, q=q)
    assert people["william"] in ids(items), q
    assert people["other"] not in ids(items) and people["catherine"] not in ids(items)


@pytest.mark.parametrize("q, who", [("Kathryn Smyth", "catherine"), ("Kate Smith", "catherine"),
                                    ("Phlipipa Wolstenhlome", "philippa"), ("Wolstenhlome Phlipipa", "philippa")])
def test_a_name_that_sounds_the_same_or_has_typos_in_every_word_still_finds_them(uow, people, q, who):
    assert people[who] in ids(found(uow, q=q)), q


@pytest.mark.parametrize("q, who", [("Phlipipa Wolstenhlome", "philippa"), ("Wolstenhlome Phlipipa", "philippa"),
                                    ("Wiliam Quenell", "william"), ("Quenell", "william"),
                                    ("Ziggi Stardsut", "william")])
def test_typos_in_every_word_are_corrected_word_by_word_without_the_whole_name_scan(uow, people, q, who,
                                                                                       monkeypatch):
    def no_whole_name_scan(*args):
        raise AssertionError("the words were corrected: no need to compare the whole name with every name")
    monkeypatch.setattr(search, "_looser", no_whole_name_scan)
    assert people[who] in ids(found(uow, q=q)), q


def test_a_name_whose_words_correct_to_no_one_still_gets_the_whole_name_compared(uow, people, monkeypatch):
    """"Mary Jane" is one given name: the words "mary" and "jane" alone name no one, the whole name does."""
    with uow(SYSTEM) as work:
        mary = world.person(work.session, "Mary Jane", "Holroyd").id
    real, looked = search._looser, []
    monkeypatch.setattr(search, "_looser", lambda *args: looked.append(args) or real(*args))
    assert mary in ids(found(uow, q="Marry Jnae Holroid")) and looked


def test_the_words_of_every_name_and_alias_are_kept_for_correcting_typos(uow, profiles_db):
    with uow(SYSTEM) as work:
        person = world.person(work.session, "Oluwaseun", "Abernethy-Quayle", aliases=[("Seun", "Quayle")])
        work.session.flush()
        person.family_name = "Abercrombie"
    with profiles_db.connect() as conn:
        words = set(conn.execute(text("SELECT word FROM name_words WHERE word = ANY(:words)"), {"words": [
            "oluwaseun", "abernethy-quayle", "seun", "quayle", "abercrombie"]}).scalars())
    assert words == {"oluwaseun", "abernethy-quayle", "seun", "quayle", "abercrombie"}


def test_name_and_date_of_birth_come_first_and_namesakes_follow(uow, people):
    ranked = ids(found(uow, q="Bill Quennell", date_of_birth="1980-05-06"))
    assert ranked[0] == people["william"] and people["namesake"] in ranked
    assert people["other"] not in ranked            # the same date of birth, a name nothing like it


def test_a_date_of_birth_or_a_postcode_alone_narrows_to_exactly_those(uow, people):
    assert set(ids(found(uow, date_of_birth="1980-05-06"))) == {people["william"], people["other"]}
    assert ids(found(uow, postcode="ls14ap")) == [people["william"]]
    assert ids(found(uow, postcode="LS2 7UE")) == []
    assert ids(found(uow, q="Quennell", postcode="LS1 4AP"))[0] == people["william"]


def test_an_identifier_finds_its_profile_however_it_is_spaced(uow, people):
    assert ids(found(uow, identifier="943 476 5919")) == [people["william"]]
    assert ids(found(uow, q=NHS_NUMBER)) == [people["william"]]        # a number typed as the name
    ranked = ids(found(uow, q="William Quennell", identifier=NHS_NUMBER))
    assert ranked[0] == people["william"] and people["namesake"] in ranked
    assert ids(found(uow, identifier="9434765870")) == []


def test_what_the_caller_may_open_comes_back_in_full(uow, people):
    [william] = [item for item in found(uow, q="William Quennell", date_of_birth="1980-05-06")
                 if item["id"] == people["william"]]
    assert william["access"] == "full" and william["date_of_birth"] == "1980-05-06"
    assert william["identifiers"] == [{"scheme": "nhs_number", "value": NHS_NUMBER}]
    assert william["aliases"] == [{"given_name": "Ziggy", "family_name": "Stardust"}]
    assert [a["postcode"] for a in william["addresses"]] == ["LS1 4AP"]


def test_what_the_caller_may_not_open_is_a_signpost_naming_who_holds_it(uow):
    with uow(SYSTEM) as work:
        theirs = world.person(work.session, "Rebecca", "Ashdown", team=TEAM_D1, date_of_birth=date(2001, 2, 3),
                              identifiers=[("nhs_number", NHS_NUMBER)], flags=["cse_risk"])
        world.grant(work.session, theirs.id, "organisation", ORG_B, "view")
    [signpost] = found(uow, q="Becky Ashdown")
    assert set(signpost) == SIGNPOST_KEYS
    assert signpost == {"id": theirs.id, "access": "signpost", "kind": "person", "display_name": "Rebecca Ashdown",
                        "involved_organisations": [{"organisation_id": ORG_D}, {"organisation_id": ORG_B}],
                        "request_access": f"/api/v1/profiles/{theirs.id}/access-requests"}
    [own] = found(uow, STRANGER, q="Becky Ashdown")             # its lead team sees it in full
    assert own["access"] == "full" and own["flags"][0]["flag"] == "cse_risk"


def test_a_search_by_age_or_flag_returns_only_what_the_caller_may_open(uow):
    with uow(SYSTEM) as work:
        mine = world.person(work.session, "Tilly", "Brannock", date_of_birth=date(2015, 1, 1), flags=["cse_risk"])
        theirs = world.person(work.session, "Tilda", "Brannock", team=TEAM_D1, date_of_birth=date(2015, 1, 1))
        adult = world.person(work.session, "Tom", "Brannock", date_of_birth=date(1970, 1, 1))
    assert set(ids(found(uow, q="Brannock"))) == {mine.id, theirs.id, adult.id}
    assert ids(found(uow, q="Brannock", young_person="true")) == [mine.id]      # no signpost for an age
    assert ids(found(uow, q="Brannock", young_person="false")) == [adult.id]
    assert ids(found(uow, young_person="yes")) == [mine.id]
    assert ids(found(uow, STRANGER, q="Brannock", young_person="true")) == [theirs.id]


def test_a_restricted_record_is_signposted_where_its_name_matched(uow):
    with uow(SYSTEM) as work:
        hidden = world.person(work.session, "Orla", "Penhaligon", team=TEAM_D1, restricted=True,
                              date_of_birth=date(1988, 8, 8))
    [signpost] = found(uow, q="Orla Penhaligon")
    assert signpost["id"] == hidden.id and signpost["access"] == "signpost"


@pytest.mark.parametrize("criterion", [{"date_of_birth": "1988-08-08"}, {"postcode": "LS6 2AB"},
                                       {"identifier": NHS_NUMBER}, {"q": NHS_NUMBER}])
def test_a_restricted_record_is_never_signposted_by_attributes_alone(uow, criterion):
    with uow(SYSTEM) as work:
        hidden = world.person(work.session, "Orla", "Penhaligon", team=TEAM_D1, restricted=True,
                              date_of_birth=date(1988, 8, 8), identifiers=[("nhs_number", NHS_NUMBER)],
                              addresses=[("4 Cliff Road", "LS6 2AB")])
    assert hidden.id in ids(found(uow, STRANGER, **criterion))         # its lead team finds it so
    assert hidden.id not in ids(found(uow, **criterion)), criterion


def test_merged_away_profiles_are_not_found(uow, people):
    with uow(SYSTEM) as work:
        work.session.get(Profile, people["namesake"]).merged_into = people["william"]
    assert ids(found(uow, q="William Quennell")) == [people["william"]]


def test_results_come_in_pages(uow, people):
    with uow(LEAD) as work:
        first = search.search_profiles(work, {"q": "Quennell", "limit": "1"})
        second = search.search_profiles(work, {"q": "Quennell", "limit": "1", "cursor": first["next_cursor"]})
    assert first["next_cursor"] == "1" and second["next_cursor"] is None
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {people["william"], people["namesake"]}


def test_every_search_is_recorded_with_its_terms_and_how_many_were_signposts(uow, people):
    with uow(SYSTEM) as work:
        world.person(work.session, "William", "Quennell", team=TEAM_D1)
    with uow(LEAD) as work:
        search.search_profiles(work, {"q": "William Quennell", "postcode": "ls1 4ap"})
    [event] = work.committed_events
    assert event["type"] == "profile.searched" and event["caller"]["id"] == LEAD.id
    assert event["data"] == {"terms": {"q": "William Quennell", "postcode": "LS1 4AP"}, "results": 3, "signposts": 1}


@pytest.mark.parametrize("params, field", [
    ({"q": "a"}, "q"), ({"q": "a ."}, "q"), ({"q": " & b"}, "q"), ({"q": "x" * 201}, "q"), ({}, "q"), ({"limit": "10"}, "q"),
    ({"postcode": "LS1"}, "postcode"), ({"date_of_birth": "1980-13-01"}, "date_of_birth"),
    ({"identifier": "123"}, "identifier"), ({"q": "Quennell", "limit": "0"}, "limit"),
    ({"q": "Quennell", "cursor": "-1"}, "cursor"), ({"family_flag": "not_a_flag"}, "family_flag"),
])
def test_a_search_that_cannot_be_run_says_which_field_is_wrong(uow, people, params, field):
    with pytest.raises(ValidationFailed) as refused:
        found(uow, **params)
    assert field in refused.value.errors


@pytest.mark.parametrize("q", ["Quennell%", "(William) Quennell", "Qu_nnell", "Qu%%ell"])
def test_wildcards_and_brackets_are_literal(uow, people, q):
    assert found(uow, q=q) == [], q


@pytest.mark.parametrize("q", ["%%", "__", "[]", "%_", "((", "%a", "_ ("])
def test_a_q_without_two_letters_is_refused(uow, people, q):
    """The contract: `q` needs at least two letters (else 422); wildcards and brackets are not letters."""
    with pytest.raises(ValidationFailed) as refused:
        found(uow, q=q)
    assert "q" in refused.value.errors, q
