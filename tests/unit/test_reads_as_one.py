"""One view for a page's reads of one record (concord_common/db.py: UnitOfWork.reads_as_one)."""
from concord_common.db import is_read_of, one_read

CASE = {"type": "case", "id": "c-1"}
OWNER = {"team_id": "t-1", "organisation_id": "o-1"}


def test_only_reads_of_that_record_are_held():
    read = {"record": CASE, "owner": OWNER}
    assert is_read_of("case.viewed", read, "case", None)                    # the first read names the record
    assert is_read_of("case.access_list_viewed", read, "case", "c-1")
    assert not is_read_of("case.viewed", read, "case", "c-2")               # another case: recorded by itself
    assert not is_read_of("profile.viewed", {"record": {"type": "profile", "id": "c-1"}}, "case", None)
    assert not is_read_of("case.searched", read, "case", None)              # a search, a denial, a change …
    assert not is_read_of("case.access_denied", read, "case", None)
    assert not is_read_of("case.updated", read, "case", None)
    assert not is_read_of("case.viewed", {"owner": OWNER}, "case", None)    # no record: nothing to merge into


def test_one_read_keeps_the_records_own_view_and_names_every_part_once():
    reads = [("case.why_viewed", {"record": CASE, "owner": OWNER, "part": "why", "level": "edit"}),
             ("case.viewed", {"record": CASE, "owner": OWNER, "level": "edit", "break_glass": True}),
             ("case.viewed", {"record": CASE, "owner": OWNER, "level": "edit", "part": "notes"}),
             ("case.history_viewed", {"record": CASE, "owner": OWNER}),
             ("case.viewed", {"record": CASE, "owner": OWNER, "level": "edit", "part": "notes"})]
    assert one_read(reads) == {"record": CASE, "owner": OWNER, "level": "edit", "break_glass": True,
                               "parts": ["why", "notes", "history"]}


def test_without_the_records_own_view_the_first_read_stands_for_them():
    reads = [("case.viewed", {"record": CASE, "owner": OWNER, "level": "view", "part": "timeline"}),
             ("case.attachments_viewed", {"record": CASE, "owner": OWNER, "part": "attachments"})]
    assert one_read(reads) == {"record": CASE, "owner": OWNER, "level": "view", "parts": ["timeline", "attachments"]}
