"""Lists of cases, filtered in SQL by the caller's access (concord_common.access.policy.visible_clause).

Where a profile or words are asked for, the unrestricted cases the caller may not open come back too, as
signposts (type, status, who is involved, where to ask for access); restricted cases never do.
"""
from sqlalchemy import Integer, and_, case, false, literal_column, not_, or_, select

from concord_common import clock
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import load_or_fail
from services.cases.logic import case_views, today
from services.cases.models import Case, Participant
from services.cases.schemas import CaseListSchema

_list_schema = CaseListSchema()
PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
# The expression the trigram index cases_search_text is built on (migration 0003), word for word.
SEARCH_TEXT = literal_column("lower(cases.reference || ' ' || cases.title)")


def _order(c, sort: str):
    rank = case(PRIORITY_RANK, value=c.c.priority, else_=0).cast(Integer)
    key = sort.lstrip("-")
    column = {"opened_at": c.c.opened_at, "review_due": c.c.review_due, "priority": rank,
              "reference": c.c.reference}[key]
    first = column.desc() if sort.startswith("-") else column.asc()
    if key == "review_due":             # the only one that may be empty; NULLS LAST elsewhere would not match
        first = first.nulls_last()      # the indexes (cases_opened, cases_owner_team_opened) and forces a sort
    return [first, c.c.opened_at.desc(), c.c.id] if key != "opened_at" else [first, c.c.id]


def _escaped(words: str) -> str:
    return words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def involved(session, case_ids) -> dict:
    """{case id: organisations holding an active grant on it} (for signposts)."""
    if not case_ids:
        return {}
    now = clock.now()
    found = {}
    for row in session.execute(select(grants.c.record_id, grants.c.grantee_organisation_id).where(
            grants.c.record_type == "case", grants.c.record_id.in_(case_ids), grants.c.revoked_at.is_(None),
            or_(grants.c.expires_at.is_(None), grants.c.expires_at > now))):
        if row.grantee_organisation_id:
            found.setdefault(row.record_id, set()).add(row.grantee_organisation_id)
    return found


def signpost(row, granted_organisations) -> dict:
    organisations = [row.owner_organisation_id] + sorted(set(granted_organisations) - {row.owner_organisation_id})
    return {"id": row.id, "access": "signpost", "case_type": row.case_type, "status": row.status,
            "involved_organisations": [{"organisation_id": org} for org in organisations if org],
            "request_access": f"/api/v1/cases/{row.id}/access-requests"}


def list_cases(uow, params) -> dict:
    criteria = load_or_fail(_list_schema, params or {})
    session, caller = uow.session, uow.caller
    c = Case.__table__
    visible = visible_clause(caller, clock.now(), c, grants, "case")
    filters = []
    for key in ("status", "case_type", "priority"):
        if criteria.get(key):
            filters.append(c.c[key] == criteria[key])
    if criteria.get("team_id"):
        filters.append(c.c.owner_team_id == str(criteria["team_id"]))
    if criteria.get("profile_id"):
        # The person's cases first, by their index: given `EXISTS (…)` with the page's ORDER BY … LIMIT, the
        # planner may walk every case newest first looking for the few of one person (500 ms at 200,000 cases).
        case_ids = session.execute(select(Participant.case_id.distinct()).where(
            Participant.profile_id == str(criteria["profile_id"]))).scalars().all()
        filters.append(c.c.id.in_(case_ids) if case_ids else false())
    if criteria.get("q"):
        filters.append(SEARCH_TEXT.like(f"%{_escaped(criteria['q'].strip())}%", escape="\\"))
    overdue = and_(c.c.status == "open", c.c.review_due < today())
    if criteria.get("review_overdue") is not None:
        filters.append(overdue if criteria["review_overdue"] else not_(overdue))
    signposts = bool(criteria.get("profile_id") or criteria.get("q")) and caller.kind in ("user", "client")
    shown = or_(visible, c.c.restricted == false()) if signposts else visible
    limit, offset = criteria["limit"], criteria["cursor"]
    rows = session.execute(select(c, visible.label("visible")).where(*filters, shown)
                           .order_by(*_order(c, criteria["sort"])).limit(limit + 1).offset(offset)).all()
    page = rows[:limit]
    full = {view["id"]: view for view in case_views(session, caller, [row for row in page if row.visible])}
    organisations = involved(session, [row.id for row in page if not row.visible])
    items = [full[row.id] if row.visible else signpost(row, organisations.get(row.id, ())) for row in page]
    uow.add_event("case.searched", {"terms": {key: str(value) for key, value in criteria.items()
                                              if key not in ("limit", "cursor", "sort") and value is not None},
                                    "results": len(items),
                                    "signposts": sum(1 for item in items if item["access"] == "signpost")})
    return {"items": items, "next_cursor": str(offset + limit) if len(rows) > limit else None}
