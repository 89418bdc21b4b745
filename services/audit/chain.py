"""The hash chain: canonical serialisation, entry hashes, and checking a chain.

Every audit entry carries the hash of the one before it (`prev_hash`) and its
own `hash` = SHA-256 over the canonical serialisation of all its stored
fields, `prev_hash` included. Changing any field of any entry, removing an
entry or moving one changes a hash that the next entry (or a signed
checkpoint) still remembers. Plain Python: no database, no nameko.
"""
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

GENESIS = "0" * 64

# Every stored field of an entry except `hash` itself, in the order the table has them.
HASHED_FIELDS = (
    "seq", "event_id", "at", "recorded_at", "source", "event_type", "action",
    "actor", "actor_id", "actor_organisation_id",
    "record_type", "record_id", "record_owner_organisation_id",
    "fields", "reason", "request_id", "source_ip", "outcome", "page_view", "data",
    "prev_hash",
)


def utc_text(value: datetime) -> str:
    """A time as hashed and shown: UTC, microseconds, `Z`."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value) -> bytes:
    """Sorted keys, no spaces, ASCII only, no NaN: the same bytes for the same value, always."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def normalised(value):
    """`value` as it will come back from the database's json column (tuples become lists …)."""
    return json.loads(canonical_json(value))


def as_mapping(entry):
    """A SQLAlchemy row's mapping, or the mapping itself."""
    return entry._mapping if hasattr(entry, "_mapping") else entry


def canonical_entry(entry) -> bytes:
    """The bytes that are hashed: every field in HASHED_FIELDS (a mapping, or a database row)."""
    values = as_mapping(entry)
    document = {}
    for name in HASHED_FIELDS:
        value = values[name]
        if isinstance(value, datetime):
            value = utc_text(value)
        elif name == "event_id" and value is not None:
            value = str(value)
        document[name] = value
    return canonical_json(document)


def entry_hash(entry) -> str:
    return hashlib.sha256(canonical_entry(entry)).hexdigest()


def link(entries: list[dict], head_seq: int, head_hash: str) -> list[dict]:
    """Give each new entry its seq, prev_hash and hash, continuing from the chain's head."""
    seq, previous = head_seq, head_hash
    for entry in entries:
        seq += 1
        entry["seq"], entry["prev_hash"] = seq, previous
        entry["hash"] = previous = entry_hash(entry)
    return entries


# -- checking ------------------------------------------------------------------------
@dataclass
class Problem:
    seq: int
    problem: str

    def as_dict(self) -> dict:
        return {"seq": self.seq, "problem": self.problem}


@dataclass
class ChainReport:
    entries: int = 0
    head_seq: int = 0
    head: str | None = None
    problems: list = field(default_factory=list)
    hashes_at: dict = field(default_factory=dict)     # seq -> stored hash, for the seqs asked about

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return min((problem.seq for problem in self.problems), default=None)

    def add(self, seq: int, problem: str) -> None:
        self.problems.append(Problem(seq, problem))


def check_chain(rows, remember=frozenset(), pause=None, pause_every: int = 2000) -> ChainReport:
    """Walk entries in seq order and name what does not hold.

    * a seq missing (a deleted entry) is bad at the first missing seq;
    * an entry whose recomputed hash differs from its stored one was altered;
    * an entry (itself intact) whose prev_hash is not the stored hash of the
      entry before: that entry before was rewritten with a fresh hash of its
      own, so the earlier seq is named.
    `remember` are seqs whose stored hashes the caller wants (checkpoints);
    `pause()` runs every `pause_every` rows (to let other green threads run).
    """
    report = ChainReport()
    expected, previous_hash, previous_seq = 1, GENESIS, 0
    for count, row in enumerate(rows, 1):
        values = as_mapping(row)
        seq, stored_hash, prev_hash = values["seq"], values["hash"], values["prev_hash"]
        if seq != expected:
            if seq > expected:
                report.add(expected, f"entries {expected}..{seq - 1} are missing" if seq - 1 > expected
                           else f"entry {expected} is missing")
            else:
                report.add(seq, f"entry {seq} is out of order")
        altered = entry_hash(row) != stored_hash
        if altered:
            report.add(seq, f"entry {seq} was altered: its content does not match its hash")
        if prev_hash != previous_hash and not altered:
            if previous_seq == seq - 1 and previous_seq > 0:
                report.add(previous_seq, f"entry {previous_seq} was rewritten: entry {seq} was chained to "
                                         f"a different hash")
            elif seq == 1:
                report.add(seq, "entry 1 does not start the chain")
            else:
                report.add(seq, f"entry {seq} does not follow the entry before it")
        if seq in remember:
            report.hashes_at[seq] = stored_hash
        previous_hash, previous_seq, expected = stored_hash, seq, seq + 1
        report.entries = count
        if pause is not None and count % pause_every == 0:
            pause()
    report.head_seq = previous_seq
    report.head = previous_hash if previous_seq else None
    return report
