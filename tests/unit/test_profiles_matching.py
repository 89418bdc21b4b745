"""How duplicate evidence is weighed (services.profiles.matching.weigh), without a database."""
from datetime import date
from types import SimpleNamespace

import pytest

from services.profiles.matching import Subject, subject_of, weigh

BORN = date(2012, 3, 4)


def subject(**overrides):
    values = {"id": "s", "given_name": "Ann", "family_name": "Lee", "date_of_birth": BORN,
              "identifiers": [("nhs_number", "9434765919")], "addresses": [("1 park row", "LS1 4AP")]}
    return Subject(**{**values, **overrides})


def candidate(name=1.0, alias=0.0, sounds=True, born=BORN):
    return SimpleNamespace(name_similarity=name, alias_similarity=alias, sounds_alike=sounds, date_of_birth=born)


def codes(reasons):
    return [reason["code"] for reason in reasons]


def test_same_identifier_alone_is_a_strong_match():
    score, reasons, against = weigh(subject(), candidate(name=0.1, sounds=False, born=None),
                                    {("nhs_number", "9434765919")}, set())
    assert score == pytest.approx(0.97) and codes(reasons) == ["same_nhs_number"] and against == []


def test_evidence_adds_up_but_never_past_one():
    score, reasons, _ = weigh(subject(), candidate(), {("nhs_number", "9434765919")}, {("1 park row", "LS1 4AP")})
    assert codes(reasons) == ["same_nhs_number", "name_and_date_of_birth", "name_and_address"]
    assert 0.99 < score < 1


@pytest.mark.parametrize("name, sounds, expected_weight, words", [
    (1.0, True, 0.85, "The same name"), (0.6, False, 0.7, "A similar name"), (0.2, True, 0.7, "A similar name")])
def test_name_and_date_of_birth(name, sounds, expected_weight, words):
    score, reasons, _ = weigh(subject(identifiers=[], addresses=[]), candidate(name=name, sounds=sounds), set(),
                              set())
    assert score == pytest.approx(expected_weight)
    assert reasons[0]["description"] == f"{words} and the same date of birth"


def test_an_alias_is_named_as_the_reason():
    _, reasons, _ = weigh(subject(identifiers=[]), candidate(name=0.2, alias=1.0, sounds=False), set(), set())
    assert reasons[0]["description"] == "The same name (as an alias) and the same date of birth"


def test_a_different_date_of_birth_counts_against_unless_an_identifier_matches():
    score, reasons, against = weigh(subject(), candidate(born=date(1970, 1, 1)), set(), {("1 park row", "LS1 4AP")})
    assert codes(reasons) == ["name_and_address"] and codes(against) == ["different_date_of_birth"]
    assert score == pytest.approx(0.6 * 0.3)
    score, _, _ = weigh(subject(), candidate(born=date(1970, 1, 1)), {("nhs_number", "9434765919")}, set())
    assert score == pytest.approx(0.97)


def test_two_different_numbers_of_one_scheme_count_against():
    score, reasons, against = weigh(subject(), candidate(), {("nhs_number", "9434765870")}, set())
    assert codes(reasons) == ["name_and_date_of_birth"] and codes(against) == ["different_nhs_number"]
    assert score == pytest.approx(0.85 * 0.3)


def test_a_name_with_nothing_to_compare_is_weak_and_unrelated_names_are_nothing():
    score, reasons, _ = weigh(subject(identifiers=[], addresses=[]), candidate(born=None), set(), set())
    assert codes(reasons) == ["name"] and score == pytest.approx(0.35)
    score, reasons, _ = weigh(subject(identifiers=[], addresses=[]), candidate(name=0.1, sounds=False), set(),
                              set())
    assert reasons == [] and score == 0


def test_postcode_without_the_same_first_line_is_weaker_than_the_same_address():
    same_postcode, reasons, _ = weigh(subject(identifiers=[], date_of_birth=None), candidate(born=None), set(),
                                      {("9 other road", "LS1 4AP")})
    assert "name_and_postcode" in codes(reasons)
    same_address, _, _ = weigh(subject(identifiers=[], date_of_birth=None), candidate(born=None), set(),
                               {("1 park row", "LS1 4AP")})
    assert same_address > same_postcode


def test_subject_of_reads_the_api_view():
    found = subject_of({"id": "x", "given_name": "Ann", "family_name": "Lee", "date_of_birth": "2012-03-04",
                        "identifiers": [{"scheme": "upn", "value": "H801200001001"}],
                        "addresses": [{"line1": " 1 Park Row ", "postcode": "LS1 4AP"}, {"line1": "x"}],
                        "aliases": [{"given_name": "Annie", "family_name": "Leigh"}]})
    assert found.date_of_birth == BORN and found.identifiers == [("upn", "H801200001001")]
    assert found.addresses == [("1 park row", "LS1 4AP")]
    assert found.names == ["ann lee", "lee ann", "annie leigh"]
