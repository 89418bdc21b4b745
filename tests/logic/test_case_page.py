"""The case page call (services/cases/case_page.py) reads each part exactly as its own call does and records one
view naming the parts, for each kind of reader, on a real cases database."""
import pytest

from concord_common.access import records
from concord_common.context import new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import NotFound
from services.cases import actions, attachments, case_page, case_types, complaints, logic, notes, powers
from tests.logic.test_actions import LEAD, POLICE, STRANGER, YOUTH, db, open_case, set_action  # noqa: F401

READERS = {"the lead team": LEAD, "a team it is shared with (view)": POLICE,
           "an organisation it is shared with (edit)": YOUTH}


def one_by_one(uow, case_id) -> dict:
    """What the page asked for in ten calls before."""
    case = logic.get_case(uow, case_id)
    why = records.why(uow, logic.CASE, case_id)
    grants = records.access_list(uow, logic.CASE, case_id)["grants"] if why["can_edit"] else []
    return {"case": case, "why": why, "grants": grants,
            "notes": notes.list_notes(uow, case_id, {"limit": "100"})["items"],
            "timeline": notes.timeline(uow, case_id, {"limit": "20"}),
            "documents": attachments.list_attachments(uow, case_id, {"limit": "100"})["items"],
            "powers": powers.list_case_powers(uow, case_id)["items"],
            "complaints": complaints.list_complaints(uow, case_id)["items"],
            "actions": actions.case_actions(uow, case_id, {"status": "all", "limit": "200"})["items"],
            "types": case_types.list_types(uow.session, uow.caller)["items"]}


@pytest.mark.parametrize("reader", list(READERS))
def test_the_case_page_call_reads_each_part_as_its_own_call_does_and_records_one_view(db, reader):
    case = open_case(db)
    set_action(db, case)
    caller = READERS[reader]
    with unit_of_work(db, "cases", caller, new_request_id()) as uow:
        page = case_page.case_page(uow, case["id"])
    in_one = uow.committed_events
    with unit_of_work(db, "cases", caller, new_request_id()) as uow:
        parts = one_by_one(uow, case["id"])
    assert page == parts and page["actions"] and page["case"]["id"] == case["id"]
    may_edit = caller is not POLICE
    assert bool(page["grants"]) == may_edit                         # who else has access: for those who may edit
    separately = [(event["type"], event["data"].get("part")) for event in uow.committed_events]
    assert len(separately) == 9 - (not may_edit)                    # each call records its own read
    [view] = in_one                                                 # the page: one view naming the parts
    assert view["type"] == "case.viewed"
    assert view["data"] == {**uow.committed_events[0]["data"], "parts": [
        "why", *(["access_list"] if may_edit else []), "notes", "timeline", "attachments", "powers", "complaints",
        "actions"]}


def test_a_case_the_caller_may_not_see_is_the_same_404(db):
    case = open_case(db)
    with pytest.raises(NotFound), unit_of_work(db, "cases", STRANGER, new_request_id()) as uow:
        case_page.case_page(uow, case["id"])
