"""How a typed name becomes the words search looks for (search.py) and what the search form counts as
letters (schemas.py).

Letters, digits, apostrophes and hyphens make words; other punctuation (spaces, commas, full stops, `&` …)
only separates them. Wildcard and bracket characters are taken literally: no stored name is searched for
them, so a name asked for with one matches nobody — they never widen a search (`%%` and `((` used to
leave no words at all, and so no name filter: every profile came back; now they have no letters, and
the schema refuses them).
"""
import re

_LITERAL = r"%_*?\\\[\](){}<>"
_SEPARATORS = re.compile(rf"[^\w'{_LITERAL}-]+")         # \w holds `_`: it stays in a word, literal
_HAS_LITERAL = re.compile(rf"[{_LITERAL}]")


def words_of(q: str) -> list[str]:
    """The words of what was typed, lower-cased, wildcards and brackets still in them."""
    return [word for word in _SEPARATORS.split((q or "").lower()) if word]


def name_terms(q: str) -> list[str] | None:
    """The words to look for; None if a word holds a wildcard or bracket (no name matches it)."""
    words = words_of(q)
    return None if any(_HAS_LITERAL.search(word) for word in words) else words


def letter_count(q: str) -> int:
    """Letters (and digits) in `q`: the contract asks for two. Wildcards, brackets and punctuation do not
    count, so `%%` or `((` is refused (422) rather than searched."""
    return sum(1 for character in q or "" if character.isalnum())


SLIP_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_slip_away(word: str) -> set[str]:
    """Every spelling one typing slip from `word` (a letter dropped, added or wrong, two neighbours swapped),
    and the word itself: search looks these up exactly among the words names are made of, which finds the slips
    trigrams and sounds miss ("ikng" for "king", "ekith" for "keith"). ~400 for a seven-letter word."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {left + right[1:] for left, right in splits if right}
    swapped = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    wrong = {left + letter + right[1:] for left, right in splits if right for letter in SLIP_LETTERS}
    added = {left + letter + right for left, right in splits for letter in SLIP_LETTERS}
    return (dropped | swapped | wrong | added | {word}) - {""}
