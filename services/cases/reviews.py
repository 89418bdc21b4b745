"""Review due: the lead team of an open case is told when its review falls due, once per case per review date.

`notify_due` is the work of the scheduled job `cases.review_due` (concord_common.schedule: one replica per
tick). Each case remembers the review date it was last told about (`review_notified_for`), in the same
transaction as the event `case.review_due` goes to the outbox, so a date is told once however often the job
runs; a new review date (a change, a reopening) is told again when it falls due. Plain functions, no nameko.
"""
from sqlalchemy import func, or_, select, update

from concord_common.ops_metrics import due_work
from concord_common.schedule import Job
from services.cases.logic import add_event, add_to_timeline, today
from services.cases.models import Case

REVIEW_DUE = Job("cases.review_due", seconds=3600)
BATCH = 1000


def due_clause(c, on_day):
    """Open cases whose review date has come and has not been told (the partial index cases_review_untold)."""
    return (c.status == "open", c.review_due <= on_day,
            or_(c.review_notified_for.is_(None), c.review_notified_for != c.review_due))


@due_work(REVIEW_DUE.name)
def reviews_due(conn) -> int:
    """Reviews due and not yet told (concord_scheduled_due): more than a tick's worth means the job lags."""
    return conn.execute(select(func.count()).select_from(Case).where(*due_clause(Case, today()))).scalar()


def notify_due(uow, tick) -> int:
    """Tell every case due by today (of the tick) that was not told yet; returns how many were told."""
    session, on_day, told = uow.session, today(), 0
    while True:
        rows = session.execute(select(Case).where(*due_clause(Case, on_day)).order_by(Case.review_due, Case.id)
                               .limit(BATCH).with_for_update(skip_locked=True)).scalars().all()
        for row in rows:
            overdue = (on_day - row.review_due).days
            add_to_timeline(uow, row.id, "review_due", f"Review due on {row.review_due.isoformat()}"
                            + (f" ({overdue} days ago)" if overdue else ""))
            add_event(uow, "review_due", row, reference=row.reference, case_type=row.case_type,
                      review_due=row.review_due.isoformat(), tick=tick.at.isoformat())
        if rows:
            session.execute(update(Case).where(Case.id.in_([row.id for row in rows]))
                            .values(review_notified_for=Case.review_due))
        told += len(rows)
        if len(rows) < BATCH:
            return told
