"""Validators and normalisers for UK identifiers and postcodes. Plain functions, no framework.

Each `normalise_*` returns the canonical form or raises ValueError with a message a
practitioner can act on.
"""
import re

# -- NHS number: 10 digits, the last a modulus-11 check digit -------------------------
def nhs_check_digit(first_nine: str) -> int | None:
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", str(value))
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("An NHS number is 10 digits.")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise ValueError("That is not a valid NHS number (its check digit is wrong).")
    return digits


# -- National Insurance number (HMRC rules) ------------------------------------------
_NI = re.compile(r"^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])(\d{6})([A-D])$")
_NI_NOT_ALLOCATED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def normalise_ni_number(value: str) -> str:
    text = re.sub(r"\s", "", str(value)).upper()
    match = _NI.match(text)
    if not match or text[:2] in _NI_NOT_ALLOCATED:
        raise ValueError("A National Insurance number looks like AB123456C "
                         "(two allowed prefix letters, six digits, then A, B, C or D).")
    return text


# -- Police National Computer id: YYYY/NNNNNNNL ----------------------------------------
_PNC = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Z])$")


def normalise_pnc_id(value: str) -> str:
    text = re.sub(r"\s", "", str(value)).upper()
    match = _PNC.match(text)
    if not match:
        raise ValueError("A PNC id looks like 2019/0123456A (year, slash, up to 7 digits, a letter).")
    year, serial, letter = match.groups()
    if len(year) == 2:   # 19/123456A is the short form of 2019/0123456A
        year = ("20" if int(year) <= 50 else "19") + year
    return f"{year}/{int(serial):07d}{letter}"


# -- Unique Pupil Number: 13 characters, the first a check letter ---------------------
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"   # 23 letters: no I, O, S


def upn_check_letter(last_twelve: str) -> str:
    total = 0
    for position, char in enumerate(last_twelve, start=2):
        value = int(char) if char.isdigit() else UPN_LETTERS.index(char)
        total += value * position
    return UPN_LETTERS[total % 23]


def normalise_upn(value: str) -> str:
    text = re.sub(r"\s", "", str(value)).upper()
    if not re.fullmatch(r"[A-Z]\d{11}[0-9A-HJ-NP-RT-Z]", text):
        raise ValueError("A UPN is 13 characters: a check letter, 11 digits, then a digit or letter.")
    if upn_check_letter(text[1:]) != text[0]:
        raise ValueError("That is not a valid UPN (its check letter is wrong).")
    return text


IDENTIFIER_SCHEMES = {"nhs_number": normalise_nhs_number, "ni_number": normalise_ni_number,
                      "pnc_id": normalise_pnc_id, "upn": normalise_upn}


def normalise_identifier(scheme: str, value: str) -> str:
    return IDENTIFIER_SCHEMES[scheme](value)


def guess_identifier(value: str) -> list[tuple[str, str]]:
    """Every (scheme, normalised value) a search term could be."""
    found = []
    for scheme, normalise in IDENTIFIER_SCHEMES.items():
        try:
            found.append((scheme, normalise(value)))
        except ValueError:
            pass
    return found


# -- UK postcodes -----------------------------------------------------------------------
_POSTCODE = re.compile(r"^(GIR0AA|[A-PR-UWYZ](\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRVWXY])"
                       r"\d[ABD-HJLNP-UW-Z]{2})$")


def normalise_postcode(value: str) -> str:
    text = re.sub(r"\s", "", str(value)).upper()
    if not _POSTCODE.match(text):
        raise ValueError("That is not a UK postcode (for example LS1 4AP).")
    return f"{text[:-3]} {text[-3:]}"
