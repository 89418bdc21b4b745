"""What a practitioner's case page shows from this service, in one call and one transaction.

The page asked for it in eleven calls over three rounds (the case and the case types' labels; then its access
explanation, notes, timeline, documents, ASB powers and complaints; then who else has access; then its actions),
each a signed RPC with its broker round trip, transaction and outbox commit — at 1M profiles and 10,000 cases a
team that work, not the queries, was most of the page's ~330 ms (docs/capacity.md). Each part is read exactly as
its own call reads it; the reads are recorded as one `case.viewed` event naming the parts
(UnitOfWork.reads_as_one: one view of the case in the audit trail, not nine entries). The single calls stay for
the API.
"""
from concord_common.access import records
from concord_common.errors import Forbidden, NotFound
from services.cases import actions, attachments, case_types, complaints, logic, notes, powers


def case_page(uow, case_id, timeline_params=None) -> dict:
    with uow.reads_as_one(logic.CASE.record_type):
        return _parts(uow, case_id, timeline_params)


def _parts(uow, case_id, timeline_params) -> dict:
    case = logic.get_case(uow, case_id)
    cid = case["id"]
    why = records.why(uow, logic.CASE, cid)
    grants = []
    if why.get("can_edit"):
        try:
            grants = records.access_list(uow, logic.CASE, cid)["grants"]
        except (Forbidden, NotFound):
            grants = []
    return {"case": case, "why": why, "grants": grants,
            "notes": notes.list_notes(uow, cid, {"limit": "100"})["items"],
            "timeline": notes.timeline(uow, cid, {"limit": "20", **(timeline_params or {})}),
            "documents": attachments.list_attachments(uow, cid, {"limit": "100"})["items"],
            "powers": powers.list_case_powers(uow, cid)["items"],
            "complaints": complaints.list_complaints(uow, cid)["items"] if case["case_type"] == "asb" else None,
            "actions": actions.case_actions(uow, cid, {"status": "all", "limit": "200"})["items"],
            "types": case_types.list_types(uow.session, uow.caller)["items"]}      # the labels of case types
