"""Usage figures for administrators: page views and visits, per user, per organisation, over time.

* a page view is an entry whose action is "viewed" or "searched", or whose
  event said `page_view: true` (the `page_view` column);
* a visit is a run of one user's entries (any action) with gaps of less than
  30 minutes; it counts in the period in which it started, and its length is
  from its first entry to its last (a visit of one entry lasts 0 minutes);
* only people (actor kind "user") count, under the organisation they acted for.
Entries outside [from, to) are not seen, so a visit crossing either edge is cut there.
"""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import text

from concord_common import clock

VISIT_GAP = timedelta(minutes=30)
DEFAULT_WINDOW = timedelta(days=30)

_VISITS = """
WITH scoped AS (
    SELECT actor_organisation_id AS organisation_id, actor_id AS user_id, at, page_view
    FROM audit_entries
    WHERE at >= :from_ AND at < :to
      AND actor_id IS NOT NULL AND actor_organisation_id IS NOT NULL
      AND (actor ->> 'kind') = 'user'
      {organisation}
), marked AS (
    SELECT *, CASE WHEN at - lag(at) OVER w < :gap THEN 0 ELSE 1 END AS starts_visit
    FROM scoped
    WINDOW w AS (PARTITION BY organisation_id, user_id ORDER BY at)
), numbered AS (
    SELECT *, sum(starts_visit) OVER (PARTITION BY organisation_id, user_id ORDER BY at
                                      ROWS UNBOUNDED PRECEDING) AS visit
    FROM marked
), visits AS (
    SELECT organisation_id, user_id, visit, min(at) AS started, max(at) AS ended,
           count(*) FILTER (WHERE page_view) AS page_views
    FROM numbered
    GROUP BY organisation_id, user_id, visit
)
SELECT organisation_id, user_id, date_trunc(:interval, started AT TIME ZONE 'UTC') AS period,
       count(*) AS visits, sum(page_views) AS page_views,
       sum(extract(epoch FROM ended - started)) AS seconds
FROM visits
GROUP BY organisation_id, user_id, period
"""


class _Tally:
    __slots__ = ("visits", "page_views", "seconds", "users")

    def __init__(self):
        self.visits, self.page_views, self.seconds, self.users = 0, 0, 0.0, set()

    def add(self, row) -> None:
        self.visits += int(row.visits)
        self.page_views += int(row.page_views)
        self.seconds += float(row.seconds or 0)
        self.users.add(row.user_id)

    def figures(self, with_users: bool = True) -> dict:
        figures = {"page_views": self.page_views, "visits": self.visits,
                   "pages_per_visit": round(self.page_views / self.visits, 2) if self.visits else 0.0,
                   "minutes_per_visit": round(self.seconds / 60 / self.visits, 2) if self.visits else 0.0}
        if with_users:
            figures["users"] = len(self.users)
        return figures


def window(query: dict):
    to = query.get("to") or clock.now()
    return query.get("from_") or to - DEFAULT_WINDOW, to


def figures(session, organisation_id: str | None, query: dict) -> dict:
    """Usage of one organisation (or, for system admins, of all of them when `organisation_id` is None)."""
    from_, to = window(query)
    interval = query.get("interval") or "day"
    organisation = "AND actor_organisation_id = :organisation_id" if organisation_id else ""
    rows = session.execute(text(_VISITS.format(organisation=organisation)),
                           {"from_": from_, "to": to, "gap": VISIT_GAP, "interval": interval,
                            "organisation_id": str(organisation_id) if organisation_id else None}).all()
    total, users, series = _Tally(), defaultdict(_Tally), defaultdict(_Tally)
    per_organisation, organisation_series = defaultdict(_Tally), defaultdict(lambda: defaultdict(_Tally))
    for row in rows:
        period = row.period.date().isoformat()
        for tally in (total, users[row.user_id], series[period], per_organisation[row.organisation_id],
                      organisation_series[row.organisation_id][period]):
            tally.add(row)
    return {
        "organisation_id": str(organisation_id) if organisation_id else None,
        "from": from_.isoformat(), "to": to.isoformat(), "interval": interval,
        "totals": total.figures(),
        "users": [{"user_id": user_id, **tally.figures(with_users=False)}
                  for user_id, tally in sorted(users.items(), key=lambda item: (-item[1].page_views, item[0]))],
        "series": [{"period": period, **tally.figures()} for period, tally in sorted(series.items())],
        "organisations": [{"organisation_id": org, "totals": tally.figures(),
                           "series": [{"period": period, **sub.figures()}
                                      for period, sub in sorted(organisation_series[org].items())]}
                          for org, tally in sorted(per_organisation.items())],
    }
