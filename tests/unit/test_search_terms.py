"""How typed names become search words, and the spellings one typing slip from a word (search_terms.py)."""
from services.profiles.search_terms import letter_count, name_terms, one_slip_away


def test_a_typed_name_becomes_its_lower_case_words():
    assert name_terms("  O'Neil,  Mary-Jane ") == ["o'neil", "mary-jane"]
    assert name_terms("50% off") is None and letter_count("%%") == 0


def test_every_slip_people_make_in_a_word_is_one_slip_away():
    slips = one_slip_away("keith")
    for typed in ("keth", "keiith", "ekith", "kieth", "keitj", "kxeith", "keith"):
        assert typed in slips, typed
    assert "kthie" not in slips and "" not in one_slip_away("a")
    # dropped 5, swapped 4 (one repeats), wrong 5 × 26, added 6 × 26, with overlaps: a few hundred, not thousands
    assert 250 < len(slips) < 300


def test_a_slip_is_symmetric_so_the_word_meant_is_among_the_typed_words_slips():
    for meant, typed in (("king", "ikng"), ("holmes", "hoolmes"), ("stephens", "stephnes"), ("ann", "an")):
        assert meant in one_slip_away(typed) and typed in one_slip_away(meant)
