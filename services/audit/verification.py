"""Recompute the whole chain and hold it against the signed checkpoints.

Used by `GET /api/v1/audit/verify` (through the service) and by
`concord audit verify` (straight from the database, as its owner), so a
service that is down or not trusted does not stop anyone checking.
"""
from sqlalchemy import select

from services.audit import checkpoints as cp
from services.audit.chain import HASHED_FIELDS, ChainReport, check_chain
from services.audit.models import chain_head, entries

MAX_PROBLEMS_SHOWN = 50


def _stream(connection):
    columns = [entries.c[name] for name in (*HASHED_FIELDS, "hash")]
    return connection.execution_options(stream_results=True, yield_per=5000).execute(
        select(*columns).order_by(entries.c.seq))


def _merge(from_table: list[dict], from_file: list[dict], report: ChainReport) -> list[dict]:
    """One checkpoint per seq; a seq whose table row and file line disagree is itself a finding."""
    merged: dict[int, dict] = {}
    for item in [*from_table, *from_file]:
        seq = int(item["seq"])
        known = merged.get(seq)
        if known is None:
            merged[seq] = item
        elif (known["hash"], known["signature"]) != (item["hash"], item["signature"]):
            report.add(seq, f"the checkpoint at {seq} in the table differs from the one in the checkpoint file")
            merged[seq] = item if cp.signature_valid(item["public_key"], cp.payload(seq, item["hash"], item["at"]),
                                                     item["signature"]) else known
    return [merged[seq] for seq in sorted(merged)]


def _hold_against_checkpoints(report: ChainReport, checkpoints: list[dict], trusted: set[str]) -> int:
    verified, last_good = 0, 0
    for item in checkpoints:
        seq = int(item["seq"])
        if item["public_key"] not in trusted:
            report.add(seq, f"the checkpoint at {seq} is signed by a key that is not trusted")
            continue
        if not cp.signature_valid(item["public_key"], cp.payload(seq, item["hash"], item["at"]), item["signature"]):
            report.add(seq, f"the checkpoint at {seq} has a signature that does not verify")
            continue
        if seq > report.head_seq:
            report.add(report.head_seq + 1, f"entries {report.head_seq + 1}..{seq} were signed at {item['at']} "
                                            f"but are gone")
            continue
        if report.hashes_at.get(seq) != item["hash"]:
            # Explained by a finding of the chain itself in (last_good, seq], or else the chain was
            # rewritten consistently after last_good: the first entry that can no longer be trusted.
            found = [problem.seq for problem in report.problems if last_good < problem.seq <= seq]
            report.add(min(found, default=last_good + 1),
                       f"the entries after {last_good} are not the ones signed at {item['at']} "
                       f"(checkpoint {seq}): they were rewritten")
            continue
        verified += 1
        last_good = seq
    return verified


def verify(engine, trusted: set[str], settings: cp.Settings, pause=None) -> dict:
    """{"ok", "entries", "head", "head_seq", "first_bad_seq"?, "checkpoints_verified", "problems"}.

    The checkpoint file is read first and the database afterwards in one snapshot
    (REPEATABLE READ), so every checkpoint read refers to entries the snapshot has.
    """
    from_file, unreadable = cp.from_file(settings)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            from_table = cp.from_table(connection)
            head = connection.execute(select(chain_head.c.seq, chain_head.c.hash)
                                      .where(chain_head.c.id == 1)).one()
            remember = {int(item["seq"]) for item in [*from_table, *from_file]}
            report = check_chain(_stream(connection), remember=remember, pause=pause)

    if head.seq > report.head_seq:
        report.add(report.head_seq + 1, f"the chain head says {head.seq} entries; entries after "
                                        f"{report.head_seq} are gone")
    elif head.seq < report.head_seq:
        report.add(head.seq + 1, f"entries after {head.seq} were not appended by the audit service")
    elif head.seq and head.hash != report.head:
        report.add(head.seq, f"entry {head.seq} is not the one the chain head recorded")
    verified = _hold_against_checkpoints(report, _merge(from_table, from_file, report), trusted)

    result = {"ok": report.ok and not unreadable, "entries": report.entries, "head": report.head,
              "head_seq": report.head_seq, "checkpoints_verified": verified,
              "problems": [problem.as_dict() for problem in
                           sorted(report.problems, key=lambda problem: problem.seq)[:MAX_PROBLEMS_SHOWN]]}
    if unreadable:
        result["unreadable_checkpoint_lines"] = unreadable[:MAX_PROBLEMS_SHOWN]
    if report.first_bad_seq is not None:
        result["first_bad_seq"] = report.first_bad_seq
    return result
