"""Reminders of MASH research requests (docs/mash.md): the asked team hears once when a request is nearly due
(a quarter of the time it was given is left: the last hour of a red referral's four, the last six of an amber's
day) and once when it is overdue. A scheduled job (`cases.research_reminders`, every 15 minutes, claimed per tick
by one replica) writes each reminder's mark with its event, `mash.research_reminder_sent`, which the notifications
service turns into a notice for the asked team. Answered requests, and those closed by a decision, are never
reminded. No nameko here."""
from sqlalchemy import func, or_, select

from concord_common import clock
from concord_common.ops_metrics import due_work
from concord_common.schedule import Job
from services.cases.mash import add_event
from services.cases.models import Referral, ResearchRequest

RESEARCH_REMINDERS = Job("cases.research_reminders", seconds=900)
BATCH = 200
SOON_SHARE = 0.25           # "nearly due": this share of the time the request was given is left


def _due_clause(r, now):
    """Open requests not yet told they are overdue, that are overdue or nearly due and not told so."""
    nearly = r.due - (r.due - r.asked_at) * SOON_SHARE
    return (r.answered_at.is_(None), r.closed_at.is_(None), r.overdue_told_at.is_(None),
            or_(r.due < now, (nearly <= now) & r.due_soon_told_at.is_(None)))


@due_work(RESEARCH_REMINDERS.name)
def reminders_due(conn) -> int:
    """Reminders due and not given (concord_scheduled_due)."""
    return conn.execute(select(func.count()).select_from(ResearchRequest)
                        .where(*_due_clause(ResearchRequest, clock.now()))).scalar()


def send_reminders(uow, tick) -> int:
    """Tell the asked team of each request nearly due or overdue, once each; returns how many were told."""
    session, now, told = uow.session, clock.now(), 0
    while True:
        r = ResearchRequest
        rows = session.execute(select(r, Referral).join(Referral, Referral.id == r.referral_id)
                               .where(*_due_clause(r, now)).order_by(r.due, r.id)
                               .limit(BATCH).with_for_update(of=r, skip_locked=True)).all()
        for request, referral in rows:
            overdue = request.due < now
            if overdue:
                request.overdue_told_at = now
            request.due_soon_told_at = request.due_soon_told_at or now     # an overdue one is past "nearly due"
            add_event(uow, "research_reminder_sent", referral, reminder="overdue" if overdue else "due_soon",
                      request={"id": request.id, "team_id": request.team_id, "organisation_id": request.organisation_id,
                               "due": request.due.isoformat()}, tick=tick.at.isoformat())
        session.flush()
        told += len(rows)
        if len(rows) < BATCH:
            return told
