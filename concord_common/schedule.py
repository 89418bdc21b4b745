"""Scheduled jobs that run once per tick across every replica of a service, and survive restarts.

A job has a name and a period (`Job("cases.review_due", seconds=3600)`); its ticks are the instants the
period divides (on the hour, every hour). Every replica runs a nameko timer (`@scheduled(...)`) that fires
more often than the period, and each fire tries to *claim* the current tick: a row (job, tick) inserted into
`scheduled_runs` in the service's own database, in the same transaction as the job's work. The primary key
lets one insert win; a replica trying at the same moment waits for that transaction and then finds the row
(it does nothing) or, if the work rolled back, claims the tick itself. So a tick's work commits exactly once:

* two replicas never both do it (the primary key; no clocks compared between them);
* a crash or a failed run leaves no row, so the next fire runs that tick again (nothing skipped);
* a restarted replica finds the row and does not repeat it;
* after a downtime the first fire claims the current tick and the work is given the window since the last
  tick that ran (`Tick.previous`), so ticks missed while no replica ran are caught up in one run.

The service's entrypoint stays one line:

    @scheduled("cases.review_due", seconds=3600)
    def review_due(self, job):
        self.write(schedule.run_once, job, reviews.notify_due)

Periods and how often replicas look can be set per deployment (or test) in the service's config:
`SCHEDULE_SECONDS: {"cases.review_due": 60}` and `SCHEDULE_POLL_SECONDS: 5`.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from nameko.timer import Timer
from prometheus_client import Counter
from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, Table, Text, func, select
from sqlalchemy.dialects.postgresql import insert

from concord_common import clock
from concord_common import context as ctx
from concord_common.logs import INSTANCE

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_POLL_SECONDS = 60.0
KEEP_RUNS = timedelta(days=90)

CLAIMS = Counter("concord_scheduled_claims_total", "Attempts to claim a scheduled job's tick, by outcome "
                 "(won: this replica ran it; taken: it had run, or ran, elsewhere)", ["job", "outcome"])

metadata = MetaData()
scheduled_runs = Table(
    "scheduled_runs", metadata,
    Column("job", Text, nullable=False),
    Column("tick", DateTime(timezone=True), nullable=False),
    Column("ran_by", Text, nullable=False),                   # host:pid of the replica that did it
    Column("ran_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("job", "tick"),
)


def create_schedule_table(op) -> None:
    """For the migration of a service that schedules its first job."""
    metadata.create_all(op.get_bind(), tables=[scheduled_runs])


def drop_schedule_table(op) -> None:
    metadata.drop_all(op.get_bind(), tables=[scheduled_runs])


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float


@dataclass(frozen=True)
class Tick:
    job: str
    at: datetime                    # this tick
    previous: datetime | None       # the last tick that ran before it (None: the job's first run)


def tick_at(now: datetime, seconds: float) -> datetime:
    """The latest tick of a `seconds` period at or before `now`."""
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=(elapsed // seconds) * seconds)


def claim(session, job: Job, now: datetime | None = None, by: str = INSTANCE) -> Tick | None:
    """Claim the current tick of `job` in the session's transaction; None if it already ran (or runs
    elsewhere and commits). The claim stands only if the transaction commits."""
    at = tick_at(now or clock.now(), job.seconds)
    won = session.execute(insert(scheduled_runs).values(job=job.name, tick=at, ran_by=by)
                          .on_conflict_do_nothing().returning(scheduled_runs.c.tick)).first()
    CLAIMS.labels(job.name, "taken" if won is None else "won").inc()
    if won is None:
        return None
    previous = session.execute(select(func.max(scheduled_runs.c.tick)).where(
        scheduled_runs.c.job == job.name, scheduled_runs.c.tick < at)).scalar()
    session.execute(scheduled_runs.delete().where(scheduled_runs.c.job == job.name,
                                                  scheduled_runs.c.tick < at - KEEP_RUNS))
    return Tick(job.name, at, previous)


def run_once(uow, job: Job, work, *args):
    """`work(uow, tick, *args)` if this replica claims the current tick; claim and work commit together."""
    tick = claim(uow.session, job)
    if tick is None:
        return None
    log.info("scheduled job %s: tick %s", job.name, tick.at.isoformat(),
             extra={"fields": {"job": job.name, "tick": tick.at.isoformat()}})
    return work(uow, tick, *args)


class ScheduleTimer(Timer):
    """nameko's timer, firing every SCHEDULE_POLL_SECONDS (at most the job's period) as the system, with the
    `Job` as the worker's argument. Replicas all fire; `run_once` lets one of them do each tick."""

    def __init__(self, job_name: str, seconds: float, **kwargs):
        super().__init__(interval=seconds, eager=True, **kwargs)
        self.job = Job(job_name, float(seconds))

    def setup(self):
        config = self.container.config
        seconds = float((config.get("SCHEDULE_SECONDS") or {}).get(self.job.name, self.job.seconds))
        self.job = Job(self.job.name, seconds)
        self.interval = min(seconds, float(config.get("SCHEDULE_POLL_SECONDS") or DEFAULT_POLL_SECONDS))

    def handle_timer_tick(self):
        self.container.spawn_worker(self, (self.job,), {}, handle_result=self.handle_result,
                                    context_data={ctx.CALLER_KEY: ctx.SYSTEM.to_json()})

    def handle_result(self, worker_ctx, result, exc_info):
        if exc_info is not None:        # logged by nameko; the tick was not claimed, the next fire retries it
            log.warning("scheduled job %s failed: %s", self.job.name, exc_info[1])
        return super().handle_result(worker_ctx, result, exc_info)


scheduled = ScheduleTimer.decorator
