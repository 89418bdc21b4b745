"""The hash chain and its checking, without a database: canonical bytes, links, and what tampering looks like."""
import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.audit import chain

T0 = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def entry(n: int) -> dict:
    return {
        "event_id": f"00000000-0000-4000-8000-{n:012d}", "at": T0 + timedelta(seconds=n),
        "recorded_at": T0 + timedelta(seconds=n, microseconds=5), "source": "profiles",
        "event_type": "profile.viewed", "action": "viewed",
        "actor": {"kind": "user", "id": "u-1", "organisation_id": "o-1", "teams": ["t-1"]},
        "actor_id": "u-1", "actor_organisation_id": "o-1", "record_type": "profile", "record_id": f"p-{n}",
        "record_owner_organisation_id": "o-1", "fields": None, "reason": None, "request_id": f"r-{n}",
        "source_ip": "10.0.0.1", "outcome": "success", "page_view": True,
        "data": {"record": {"type": "profile", "id": f"p-{n}"}, "nested": {"b": 1, "a": [1.5, "é", None]}},
    }


def built(count: int) -> list[dict]:
    return chain.link([entry(n) for n in range(count)], 0, chain.GENESIS)


def test_canonical_json_is_sorted_compact_ascii_and_refuses_nan():
    assert chain.canonical_json({"b": 1, "a": ["é", None, 1.5]}) == b'{"a":["\\u00e9",null,1.5],"b":1}'
    with pytest.raises(ValueError):
        chain.canonical_json({"x": float("nan")})
    assert chain.normalised({"t": (1, 2)}) == {"t": [1, 2]}


def test_times_are_utc_with_microseconds():
    assert chain.utc_text(datetime(2025, 1, 2, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1)))) == \
        "2025-01-02T03:05:06.000007Z"
    with pytest.raises(ValueError):
        chain.utc_text(datetime(2025, 1, 2))


def test_the_hash_is_sha256_over_every_field_and_the_previous_hash():
    first = built(1)[0]
    document = {name: first[name] for name in chain.HASHED_FIELDS}
    document.update(at=chain.utc_text(first["at"]), recorded_at=chain.utc_text(first["recorded_at"]))
    expected = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert first["hash"] == expected and first["prev_hash"] == chain.GENESIS and first["seq"] == 1


@pytest.mark.parametrize("field", [name for name in chain.HASHED_FIELDS])
def test_changing_any_field_changes_the_hash(field):
    original = built(1)[0]
    changed = copy.deepcopy(original)
    value = changed[field]
    if isinstance(value, bool):
        changed[field] = not value
    elif isinstance(value, int):
        changed[field] = value + 1
    elif isinstance(value, datetime):
        changed[field] = value + timedelta(microseconds=1)
    elif isinstance(value, dict):
        changed[field] = {**value, "extra": 1}
    elif value is None:
        changed[field] = "x"
    else:
        changed[field] = value[:-1] + ("0" if value[-1] != "0" else "1")
    assert chain.entry_hash(changed) != original["hash"]


def test_linking_continues_from_the_head():
    first = built(3)
    more = chain.link([entry(n) for n in range(3, 5)], first[-1]["seq"], first[-1]["hash"])
    assert [item["seq"] for item in more] == [4, 5]
    assert more[0]["prev_hash"] == first[-1]["hash"]


def test_a_whole_chain_checks_out_and_remembers_checkpoint_hashes():
    rows = built(10)
    report = chain.check_chain(rows, remember={4, 10})
    assert report.ok and report.entries == 10 and report.head_seq == 10 and report.head == rows[-1]["hash"]
    assert report.hashes_at == {4: rows[3]["hash"], 10: rows[9]["hash"]}
    empty = chain.check_chain([])
    assert empty.ok and empty.entries == 0 and empty.head is None


def test_an_altered_entry_is_named():
    rows = built(10)
    rows[6]["reason"] = "edited"
    report = chain.check_chain(rows)
    assert not report.ok and report.first_bad_seq == 7


def test_an_entry_rewritten_with_a_fresh_hash_is_named_by_the_next_link():
    rows = built(10)
    rows[4]["reason"] = "edited"
    rows[4]["hash"] = chain.entry_hash(rows[4])
    report = chain.check_chain(rows)
    assert report.first_bad_seq == 5
    assert any("rewritten" in problem.problem for problem in report.problems)


def test_a_missing_entry_is_named():
    rows = built(10)
    del rows[3]
    assert chain.check_chain(rows).first_bad_seq == 4
    assert chain.check_chain(built(10)[1:]).first_bad_seq == 1


def test_swapped_entries_are_named():
    rows = built(10)
    rows[2], rows[5] = dict(rows[5], seq=3), dict(rows[2], seq=6)
    rows.sort(key=lambda row: row["seq"])
    assert chain.check_chain(rows).first_bad_seq == 3


def test_a_consistently_rewritten_tail_is_not_visible_to_the_chain_alone():
    """Which is what signed checkpoints are for (tests/integration/test_audit_tamper.py)."""
    rows = built(10)
    rows[7]["reason"] = "edited"
    chain.link(rows[7:], 7, rows[6]["hash"])
    assert chain.check_chain(rows).ok


def test_pause_is_called_while_checking():
    calls = []
    chain.check_chain(built(9), pause=lambda: calls.append(1), pause_every=4)
    assert len(calls) == 2
