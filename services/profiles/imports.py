"""Bulk import of profiles (docs/imports.md): start a job from an uploaded file, run it in the background in
batches, report its progress and its per-row errors.

* Starting (`start_import`, an RPC as the signed-in caller): the file is checked as a whole (size, CSV or
  JSON lines, its header), stored with the verified caller and counted; 202 with the job's id. Who may: an
  API client with `profiles:write` (it names the team of its organisation that leads new profiles), or a
  person in a team (new profiles are led by their team, or the one of their teams they name).
* Running (`run_waiting`, from a timer in every replica): a replica claims a waiting job with
  FOR UPDATE SKIP LOCKED and a lease; each batch of rows is one transaction that also moves `rows_done`, so a
  replica killed mid-batch leaves the last committed batch, and whoever claims the job after the lease runs
  out resumes there (nothing written twice). Everything runs as the stored caller — the job has exactly the rights
  its starter had when they started it, never more. Rows for new external references are created together
  (bulk_create: the API's create checks, rows, history and events, written set-based, and the API's duplicate
  check for the batch at once — likely duplicates are created and reported, not merged); rows for profiles
  that exist and would change nothing are found together (bulk_unchanged, nothing written); the other rows go
  through the API's own upsert by external reference (profiles.upsert_by_external_ref). A batch with a row the
  upsert refuses, or a database error, is rolled back and run again row by row, each row in a savepoint.
* Reading (`get_import`): the importer's organisation only; anyone else gets the 404 of an id that does not
  exist.
"""
import base64
import binascii
import json
import logging
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, text, tuple_, update
from sqlalchemy.exc import DBAPIError

from concord_common import clock
from concord_common.access import records
from concord_common.context import Caller
from concord_common.db import unit_of_work
from concord_common.errors import ConcordError, Forbidden, NotFound, ValidationFailed
from concord_common.logs import INSTANCE
from concord_common.sizes import human_size
from services.profiles import bulk_create, bulk_unchanged, duplicates, import_formats, profiles
from services.profiles.import_formats import refused
from services.profiles.import_models import Import, ImportDuplicate, ImportError_, ImportFile
from services.profiles.models import Profile

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_BATCH_ROWS = 200
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_POLL_SECONDS = 2.0
MAX_CLAIMS = 5                 # a job that keeps killing its replica is failed after this many claims
MAX_ERRORS_KEPT = 1000         # the report lists the errors of the first refused rows; `failed` counts every one
KINDS = ("profiles",)
WRITE_SCOPE = "profiles:write"


# -- starting -------------------------------------------------------------------------------------------------
def _may_import(caller: Caller) -> None:
    if caller.kind == "client":
        if WRITE_SCOPE not in (caller.scopes or ()):
            raise Forbidden(f"This API client's token does not have the `{WRITE_SCOPE}` scope.")
        return
    if caller.kind != "user" or not caller.organisation_id:
        raise Forbidden("Only people in a team and partner systems import profiles.")
    if not caller.team_ids():
        raise Forbidden("You are not in a team, so you cannot create records (an import creates them as you).")


def start_import(uow, upload: dict, directory, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """POST /imports: the file checked and stored, the job queued → {"id", "status"}."""
    caller = uow.caller
    _may_import(caller)
    if not isinstance(upload, dict):
        raise refused("Send the file in a part named `file`.")
    kind = upload.get("kind")
    if kind not in KINDS:
        raise ValidationFailed("One or more fields are invalid.", {"kind": [
            "Missing data for required field." if not kind else f"Imports take {', '.join(KINDS)}."]})
    try:
        content = base64.b64decode(upload.get("content") or "", validate=True)
    except (binascii.Error, ValueError):
        raise refused("The file could not be read.")
    if len(content) > max_bytes:
        raise refused(f"The file is larger than the {human_size(max_bytes)} limit.")
    requested = upload.get("owner_team_id") or None
    if requested is not None:
        try:
            requested = str(uuid.UUID(str(requested)))
        except ValueError:
            raise ValidationFailed("One or more fields are invalid.", {"owner_team_id": ["Not a valid UUID."]})
    # Who leads the new profiles, checked now as create checks it: a client names a team of its organisation,
    # a person in several teams names one of theirs (a person in one team: that team).
    team_id, _ = records.owning_team(caller, requested, directory)
    form, total = import_formats.inspect(content)
    job = Import(id=str(uuid.uuid4()), kind=kind, format=form, filename=(str(upload.get("filename") or "")[:255] or None),
                 size_bytes=len(content), status="queued", caller=json.loads(caller.to_json()),
                 organisation_id=caller.organisation_id, created_by=caller.id, owner_team_id=team_id,
                 request_id=uow.request_id, rows_total=total, rows_done=0, created=0, updated=0, unchanged=0,
                 failed=0, claims=0)
    uow.session.add(job)
    uow.session.flush()
    uow.session.add(ImportFile(import_id=job.id, content=content))
    log.info("import queued", extra={"fields": {"import_id": job.id, "rows": total, "format": form}})
    return {"id": job.id, "status": job.status}


# -- reading --------------------------------------------------------------------------------------------------
def _visible(caller: Caller, job: Import) -> bool:
    """The importer's organisation: its people, and its API clients that may write profiles."""
    if caller.organisation_id is None or caller.organisation_id != job.organisation_id:
        return False
    if caller.kind == "client":
        return WRITE_SCOPE in (caller.scopes or ())
    return caller.kind == "user"


def _load_visible(session, caller, import_id) -> Import:
    try:
        import_id = str(uuid.UUID(str(import_id)))
    except ValueError:
        raise NotFound()
    job = session.get(Import, import_id)
    if job is None or not _visible(caller, job):
        raise NotFound()
    return job


def status_view(session, job: Import) -> dict:
    errors = session.execute(select(ImportError_.row, ImportError_.field, ImportError_.message)
                             .where(ImportError_.import_id == job.id)
                             .order_by(ImportError_.row, ImportError_.id)).all()
    likely = session.execute(select(ImportDuplicate.row, ImportDuplicate.profile_id, ImportDuplicate.candidates)
                             .where(ImportDuplicate.import_id == job.id).order_by(ImportDuplicate.row)).all()
    return {"id": job.id, "kind": job.kind, "format": job.format, "filename": job.filename, "status": job.status,
            "rows_total": job.rows_total, "rows_done": job.rows_done, "created": job.created,
            "updated": job.updated, "unchanged": job.unchanged, "failed": job.failed,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in errors],
            "rows_not_listed": max(0, job.failed - MAX_ERRORS_KEPT),
            "possible_duplicates": [{"row": d.row, "profile_id": d.profile_id, "candidates": d.candidates}
                                    for d in likely],
            "created_by": job.created_by, "created_at": job.created_at.isoformat() if job.created_at else None,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None, "problem": job.problem}


def get_import(session, caller, import_id) -> dict:
    return status_view(session, _load_visible(session, caller, import_id))


def list_imports(session, caller, params) -> dict:
    """The organisation's latest imports (for the web page), newest first; no errors listed."""
    if caller.kind not in ("user", "client") or caller.organisation_id is None:
        return {"items": []}
    try:
        limit = min(max(int((params or {}).get("limit") or 20), 1), 100)
    except (TypeError, ValueError):
        raise ValidationFailed("One or more fields are invalid.", {"limit": ["Not a valid integer."]})
    jobs = session.execute(select(Import).where(Import.organisation_id == caller.organisation_id)
                           .order_by(Import.created_at.desc()).limit(limit)).scalars().all()
    return {"items": [{"id": j.id, "filename": j.filename, "status": j.status, "rows_total": j.rows_total,
                       "rows_done": j.rows_done, "created": j.created, "updated": j.updated, "failed": j.failed,
                       "created_at": j.created_at.isoformat()} for j in jobs if _visible(caller, j)]}


# -- running --------------------------------------------------------------------------------------------------
class RememberingDirectory:
    """The permissions service's answers, asked once per team for the whole job (a client's rows all name
    the same team)."""

    def __init__(self, directory):
        self.directory = directory
        self._teams = {}

    def team_organisation(self, team_id: str) -> str:
        if team_id not in self._teams:
            self._teams[team_id] = self.directory.team_organisation(team_id)
        return self._teams[team_id]

    def __getattr__(self, name):
        return getattr(self.directory, name)


def claim_next(engine, instance: str = INSTANCE, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> str | None:
    """Claim the oldest waiting job whose lease (if any) has run out: its id, or None."""
    with engine.begin() as conn:
        row = conn.execute(text("""
            UPDATE imports SET status = 'running', claimed_by = :me, claims = claims + 1,
                   lease_until = now() + make_interval(secs => :lease), started_at = coalesce(started_at, now())
             WHERE id = (SELECT id FROM imports
                          WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < now())
                          ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id"""), {"me": instance, "lease": float(lease_seconds)}).first()
    return str(row.id) if row else None


class _Tally:
    """A batch's counts, kept here and written to the job once at the end of the batch (not a row at a time)."""

    def __init__(self, job: Import):
        self.job = job
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        self.rows: list = []                      # (row, [(field, message)]) of refused rows

    def refuse(self, row_number: int, errors: list[tuple]) -> None:
        self.counts["failed"] += 1
        if self.job.failed + self.counts["failed"] <= MAX_ERRORS_KEPT:
            self.rows.append((row_number, errors))

    def write(self, session) -> None:
        for key, value in self.counts.items():
            setattr(self.job, key, getattr(self.job, key) + value)
        session.add_all(ImportError_(import_id=self.job.id, row=number, field=field, message=message)
                        for number, errors in self.rows for field, message in errors)


def _errors_of(row, exc: ConcordError) -> list[tuple]:
    """(field as the file names it, message) of a refused row."""
    if exc.errors:
        return [(row.field_name(path) if path != "_schema" else None, messages[0])
                for path, messages in exc.errors.items()]
    if "external reference" in (exc.detail or ""):
        return [(row.field_name("external_ref.id") if row.columns else "external_ref", exc.detail)]
    return [(None, exc.detail or exc.title)]


def known_refs(session, batch: list) -> set:
    """The external references of the batch already on a profile (one query for the batch)."""
    refs = {(row.ref["system"], row.ref["id"]) for row in batch if row.error is None}
    if not refs:
        return set()
    return set(session.execute(select(Profile.external_system, Profile.external_id).where(
        tuple_(Profile.external_system, Profile.external_id).in_(sorted(refs)))).tuples())


def import_row(uow, job: Import, row, directory, exists: bool) -> str:
    """One row through the API's upsert by external reference: "created", "updated" or "unchanged".
    `exists`: a profile has the row's reference (so a blank cell clears, where on a new profile it is absent)."""
    body = dict(row.body)
    if job.owner_team_id and not body.get("owner_team_id"):
        body["owner_team_id"] = job.owner_team_id
    events_before = len(uow.events)
    payload = import_formats.for_update(body) if exists else import_formats.for_create(body)
    profile, created = profiles.upsert_by_external_ref(uow, row.ref["system"], row.ref["id"], payload, directory)
    if created:
        likely = duplicates.possible_duplicates(uow, profile)
        if likely:
            uow.session.add(ImportDuplicate(
                import_id=job.id, row=row.number, profile_id=profile["id"],
                candidates=[{"id": item["profile"]["id"], "score": item["score"]} for item in likely]))
        return "created"
    changed = any(event["type"] == "profile.updated" for event in uow.events[events_before:])
    return "updated" if changed else "unchanged"


class _Redo(Exception):
    """A row failed in a batch run without savepoints: the batch is rolled back and run again, carefully."""


def _create_new(uow, job: Import, batch: list, known: set, directory, tally: _Tally) -> list:
    """The batch's rows for new external references, created together (bulk_create: a dozen statements for the
    batch, not eighteen per row) with their duplicate check; a row the API's checks refuse is refused here, with
    nothing written. Answers the rows left for one at a time: updates, a reference repeated in the batch,
    premises with linked people, unreadable rows."""
    prepared, numbers, rest = [], [], []
    for row in batch:
        ref = None if row.error is not None else (row.ref["system"], row.ref["id"])
        if ref is None or ref in known:
            rest.append(row)
            continue
        body = dict(row.body)
        if job.owner_team_id and not body.get("owner_team_id"):
            body["owner_team_id"] = job.owner_team_id
        try:
            prepared.append(bulk_create.prepare(uow.caller, import_formats.for_create(body), row.ref, directory))
        except bulk_create.OneAtATime:
            rest.append(row)
            continue
        except ConcordError as exc:
            tally.refuse(row.number, _errors_of(row, exc))
            continue
        numbers.append(row.number)
        known.add(ref)                      # a later row with this reference updates what this one creates
    try:
        views = bulk_create.create_many(uow, prepared)
        likely = bulk_create.likely_duplicates(uow, views)
    except DBAPIError:                      # e.g. a reference the API wrote meanwhile: row by row, carefully
        raise _Redo()
    uow.session.add_all(ImportDuplicate(import_id=job.id, row=number, profile_id=view["id"],
                                        candidates=[{"id": pid, "score": score} for pid, score in matches])
                        for number, view, matches in zip(numbers, views, likely) if matches)
    tally.counts["created"] += len(views)
    return rest


def _keep_unchanged(uow, job: Import, batch: list, existing: set, tally: _Tally) -> list:
    """The batch's rows for profiles that exist and that would change nothing, counted together (bulk_unchanged:
    the upsert's access check and comparisons, nothing written); answers the other rows. A reference named twice
    in the batch is left to the upsert, row by row."""
    named = {}
    for row in batch:
        if row.error is None:
            ref = (row.ref["system"], row.ref["id"])
            named[ref] = named.get(ref, 0) + 1
    looked_at = [row for row in batch if row.error is None and (row.ref["system"], row.ref["id"]) in existing
                 and named[(row.ref["system"], row.ref["id"])] == 1]
    same = bulk_unchanged.unchanged(uow, [((row.ref["system"], row.ref["id"]),
                                           import_formats.for_update(dict(row.body))) for row in looked_at])
    kept = {row.number for row, unchanged in zip(looked_at, same) if unchanged}
    tally.counts["unchanged"] += len(kept)
    return [row for row in batch if row.number not in kept]


def _run_batch(uow, job: Import, batch: list, directory, careful: bool) -> None:
    """Every row of the batch. Fast (not `careful`): new references created together (_create_new), rows that
    change nothing counted together (_keep_unchanged), the rest with no savepoint per row, and any refused row
    of those raises _Redo (the unit of work rolls back); careful: each row in a savepoint through the API's
    upsert, a refused row's writes undone alone."""
    session, tally = uow.session, _Tally(job)
    known = known_refs(session, batch)
    rows = batch
    if not careful:
        existing = set(known)
        rows = _create_new(uow, job, rows, known, directory, tally)
        rows = _keep_unchanged(uow, job, rows, existing, tally)
    for row in rows:
        if row.error is not None:
            tally.refuse(row.number, [row.error])
            continue
        exists = (row.ref["system"], row.ref["id"]) in known
        if not careful:
            try:
                outcome = import_row(uow, job, row, directory, exists)
            except (ConcordError, DBAPIError):
                raise _Redo()
            tally.counts[outcome] += 1
            known.add((row.ref["system"], row.ref["id"]))
            continue
        events_before = len(uow.events)
        savepoint = session.begin_nested()
        try:
            outcome = import_row(uow, job, row, directory, exists)
            savepoint.commit()
        except ConcordError as exc:
            savepoint.rollback()
            del uow.events[events_before:]
            tally.refuse(row.number, _errors_of(row, exc))
            continue
        except DBAPIError as exc:        # e.g. the same external reference written by the API meanwhile
            savepoint.rollback()
            del uow.events[events_before:]
            log.warning("import %s row %d not saved: %s", job.id, row.number, exc.orig)
            tally.refuse(row.number, [(None, "The row could not be saved; import it again.")])
            continue
        tally.counts[outcome] += 1
        known.add((row.ref["system"], row.ref["id"]))
    tally.write(session)


def _lock_mine(session, import_id: str, instance: str) -> Import | None:
    """The job, locked, if this replica still holds it."""
    job = session.execute(select(Import).where(Import.id == import_id).with_for_update()).scalar_one_or_none()
    if job is None or job.claimed_by != instance or job.status != "running":
        return None
    return job


def _finish(session, job: Import, status: str, problem: str | None = None) -> None:
    job.status, job.problem, job.finished_at, job.lease_until = status, problem, clock.now(), None
    session.execute(delete(ImportFile).where(ImportFile.import_id == job.id))   # the personal data goes


GROWN_TABLES = ("profiles", "profile_identifiers", "profile_addresses", "profile_aliases", "profile_flags")
ANALYZE_AFTER_ROWS = 500            # created since the last ANALYZE, or a quarter of the table if that is more


class Statistics:
    """Keeps the planner's statistics up with what the job adds: an import grows the tables far faster than
    autovacuum looks at them (or autovacuum is off), and without fresh statistics the duplicate check's probes turn
    into sequential scans, each row slower than the last. ANALYZE after each quarter's growth: a few dozen times
    for 100,000 rows, each a fraction of a second."""

    def __init__(self, engine):
        self.engine = engine
        self.created_since = 0
        self.known = self._rows()

    def _rows(self) -> int:
        with self.engine.connect() as conn:
            return max(0, int(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'profiles'"))
                              .scalar() or 0))

    def created(self, count: int) -> None:
        self.created_since += count
        if self.created_since < max(ANALYZE_AFTER_ROWS, self.known // 4):
            return
        try:
            with self.engine.begin() as conn:
                for table in GROWN_TABLES:
                    conn.execute(text(f"ANALYZE {table}"))
        except DBAPIError as exc:            # not the tables' owner: autovacuum's statistics will have to do
            log.warning("import could not ANALYZE the profiles tables: %s", exc.orig)
        self.created_since, self.known = 0, self._rows()


def _commit_batch(engine, import_id, caller, request_id, batch, batch_rows, directory, instance, lease_seconds,
                  on_commit, careful) -> tuple[str, int]:
    """One batch in one transaction with the job's progress: ("more" | "done" | "lost", profiles created)."""
    with unit_of_work(engine, "profiles", caller, request_id, on_commit=on_commit) as uow:
        job = _lock_mine(uow.session, import_id, instance)
        if job is None:
            return "lost", 0
        if batch and batch[0].number != job.rows_done + 1:
            raise RuntimeError(f"import {import_id}: expected row {job.rows_done + 1}, read {batch[0].number}")
        created_before = job.created
        _run_batch(uow, job, batch, directory, careful)
        created = job.created - created_before
        job.rows_done += len(batch)
        if len(batch) < batch_rows or job.rows_done >= job.rows_total:
            _finish(uow.session, job, "done")
            return "done", created
        job.lease_until = clock.now() + timedelta(seconds=lease_seconds)
        return "more", created


def run_import(engine, import_id: str, directory, instance: str = INSTANCE, batch_rows: int = DEFAULT_BATCH_ROWS,
               lease_seconds: float = DEFAULT_LEASE_SECONDS, on_commit=None, max_claims: int = MAX_CLAIMS,
               stopping=None) -> str:
    """Run a job this replica claimed, batch by batch, as the caller who started it; its final status
    (or "lost" when another replica took it over)."""
    with engine.connect() as conn:
        head = conn.execute(select(Import.caller, Import.request_id, Import.format, Import.rows_done, Import.claims)
                            .where(Import.id == import_id)).first()
        content = conn.execute(select(ImportFile.content).where(ImportFile.import_id == import_id)).scalar()
    caller = Caller.from_json(json.dumps(head.caller))
    if content is None or head.claims > max_claims:
        problem = ("The uploaded file is gone." if content is None else
                   f"The import stopped unexpectedly {head.claims - 1} times and was given up; rows before row "
                   f"{head.rows_done + 1} were imported.")
        with unit_of_work(engine, "profiles", caller, head.request_id) as uow:
            job = _lock_mine(uow.session, import_id, instance)
            if job is None:
                return "lost"
            _finish(uow.session, job, "failed", problem)
        return "failed"
    directory, statistics = RememberingDirectory(directory), Statistics(engine)
    pending = import_formats.rows(bytes(content), head.format, skip=head.rows_done)
    while True:
        batch = [row for _, row in zip(range(batch_rows), pending)]
        for careful in (False, True):
            try:
                outcome, created = _commit_batch(engine, import_id, caller, head.request_id, batch, batch_rows,
                                                 directory, instance, lease_seconds, on_commit, careful)
                break
            except _Redo:
                continue
        if outcome == "lost":
            return "lost"
        if outcome == "done":
            return "done"
        statistics.created(created)
        if stopping is not None and stopping():      # this replica is shutting down: hand the job on now
            with engine.begin() as conn:
                conn.execute(update(Import).where(Import.id == import_id, Import.claimed_by == instance)
                             .values(lease_until=None, claimed_by=None))
            return "handed on"


def run_waiting(engine, directory, instance: str = INSTANCE, batch_rows: int = DEFAULT_BATCH_ROWS,
                lease_seconds: float = DEFAULT_LEASE_SECONDS, on_commit=None, stopping=None, limit: int = 10) -> int:
    """Claim and run waiting jobs, one after another; how many it ran."""
    ran = 0
    while ran < limit:
        import_id = claim_next(engine, instance, lease_seconds)
        if import_id is None:
            return ran
        started = time.perf_counter()
        try:
            outcome = run_import(engine, import_id, directory, instance, batch_rows, lease_seconds, on_commit,
                                 stopping=stopping)
        except Exception:
            log.exception("import %s failed in this replica; another claim resumes it after its lease", import_id)
            raise
        log.info("import %s: %s in %.1f s", import_id, outcome, time.perf_counter() - started)
        ran += 1
        if stopping is not None and stopping():
            return ran
    return ran
