"""Validators for UK identifiers and postcodes (services/profiles/identifiers.py)."""
import pytest

from services.profiles import identifiers as ids


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "4010232137", "9990000018"])
def test_valid_nhs_numbers(value):
    assert ids.normalise_nhs_number(value) == value.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("value", ["9434765918", "943476591", "94347659190", "abcdefghij",
                                   "1234567890"])   # 1234567890: check digit would be 10, never issued
def test_invalid_nhs_numbers(value):
    with pytest.raises(ValueError):
        ids.normalise_nhs_number(value)


def test_nhs_check_digit_arithmetic():
    # 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 1*2 = 299; 299 % 11 = 2; 11 - 2 = 9
    assert ids.nhs_check_digit("943476591") == 9
    assert ids.nhs_check_digit("123456789") is None


@pytest.mark.parametrize("value,expected", [("AB123456C", "AB123456C"), ("ab 12 34 56 c", "AB123456C"),
                                            ("JG103759A", "JG103759A")])
def test_valid_ni_numbers(value, expected):
    assert ids.normalise_ni_number(value) == expected


@pytest.mark.parametrize("value", ["DA123456C", "AO123456C", "QQ123456C", "BG123456C", "GB123456A", "NK123456A",
                                   "TN123456A", "ZZ123456A", "AB123456E", "AB12345C", "123456789"])
def test_invalid_ni_numbers(value):
    with pytest.raises(ValueError):
        ids.normalise_ni_number(value)


@pytest.mark.parametrize("value,expected", [("2019/0123456A", "2019/0123456A"), ("19/123456a", "2019/0123456A"),
                                            ("98/1234Z", "1998/0001234Z")])
def test_valid_pnc_ids(value, expected):
    assert ids.normalise_pnc_id(value) == expected


@pytest.mark.parametrize("value", ["2019-0123456A", "2019/0123456", "2019/01234567A", "abcd/0123456A"])
def test_invalid_pnc_ids(value):
    with pytest.raises(ValueError):
        ids.normalise_pnc_id(value)


@pytest.mark.parametrize("value", ["H801200001001", "X935100012345", "G20411234501A", "h801200001001"])
def test_valid_upns(value):
    assert ids.normalise_upn(value) == value.upper()


@pytest.mark.parametrize("value", ["A801200001001", "H80120000100", "H8012000010011", "H80120000100I"])
def test_invalid_upns(value):
    with pytest.raises(ValueError):
        ids.normalise_upn(value)


def test_upn_check_letter_is_weighted_mod_23():
    digits = "801200001001"
    total = sum(int(d) * w for d, w in zip(digits, range(2, 14)))
    assert ids.upn_check_letter(digits) == "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]


@pytest.mark.parametrize("value,expected", [("ls1 4ap", "LS1 4AP"), ("LS14AP", "LS1 4AP"), ("sw1a1aa", "SW1A 1AA"),
                                            ("M1 1AE", "M1 1AE"), ("b33 8th", "B33 8TH"), ("cr2 6xh", "CR2 6XH"),
                                            ("dn55 1pt", "DN55 1PT"), ("W1A 0AX", "W1A 0AX"),
                                            ("EC1A 1BB", "EC1A 1BB")])
def test_postcodes_are_normalised(value, expected):
    assert ids.normalise_postcode(value) == expected


@pytest.mark.parametrize("value", ["LS1 4A", "LS1", "1LS 4AP", "QS1 4AP", "LS1 4CI", "", "LS1 4AP X"])
def test_malformed_postcodes(value):
    with pytest.raises(ValueError):
        ids.normalise_postcode(value)


def test_guess_identifier_finds_every_scheme_a_term_could_be():
    assert ids.guess_identifier("943 476 5919") == [("nhs_number", "9434765919")]
    assert ids.guess_identifier("Smith") == []
