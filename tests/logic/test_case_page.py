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


@pytest.mark.parametrize("reader", list(READERS))
def test_one_action_with_its_case_is_what_the_case_and_its_list_show_and_one_view(db, reader):
    case = open_case(db)
    action = set_action(db, case)
    caller = READERS[reader]
    with unit_of_work(db, "cases", caller, new_request_id()) as uow:
        found = actions.case_action(uow, case["id"], action["id"])
    [view] = uow.committed_events
    assert view["type"] == "case.viewed" and view["data"]["parts"] == ["action"]
    with unit_of_work(db, "cases", caller, new_request_id()) as uow:
        listed = actions.case_actions(uow, case["id"], {"status": "all"})["items"]
        assert found == {"case": logic.get_case(uow, case["id"]), "action": listed[0]}


def test_an_action_is_found_only_on_its_own_case_and_only_by_those_who_may_see_it(db):
    case, other = open_case(db), open_case(db, "Graffiti, Mill Lane")
    action = set_action(db, case)
    for caller, case_id, action_id in ((LEAD, other["id"], action["id"]),              # another case's action
                                       (LEAD, case["id"], "not-an-id"),
                                       (STRANGER, case["id"], action["id"])):        # a case they may not see
        with pytest.raises(NotFound), unit_of_work(db, "cases", caller, new_request_id()) as uow:
            actions.case_action(uow, case_id, action_id)
