"""Group commit: many event handlers, one chain writer per process.

Each event handler validates its event and hands the entry to `submit`, which
waits until the entry is committed (only then does nameko ack the message).
One writer thread takes whatever has queued up, appends it to the chain in
one transaction (holding the chain head, so replicas take turns) and wakes
the handlers. Under load batches grow by themselves (everything that arrived
during the last commit goes into the next one); when idle an event is
written alone at once. If a batch fails, its entries are retried one by one,
so one bad entry fails only its own event (which is retried, then
dead-lettered) and not its neighbours.

Plain threading: green threads once eventlet has monkey-patched.
"""
import logging
import queue
import threading
import time

from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from services.audit import checkpoints, ingest

log = logging.getLogger(__name__)

ENTRIES_APPENDED = Counter("concord_audit_entries_appended_total", "Audit entries appended to the chain")
DUPLICATES_SKIPPED = Counter("concord_audit_duplicates_skipped_total", "Redelivered events not recorded twice")
BATCH_SIZE = Histogram("concord_audit_batch_size", "Entries per chain transaction",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
CHECKPOINTS_WRITTEN = Counter("concord_audit_checkpoints_total", "Signed audit checkpoints written")

_STOP = object()


class WriterStopped(RuntimeError):
    pass


class _Pending:
    __slots__ = ("entry", "done", "stored", "error")

    def __init__(self, entry: dict):
        self.entry = entry
        self.done = threading.Event()
        self.stored = False
        self.error = None


class ChainWriter:
    def __init__(self, engine, signer: checkpoints.Signer, settings: checkpoints.Settings,
                 max_batch: int = 200, linger: float = 0.0, submit_timeout: float = 60.0):
        self.engine = engine
        self.signer = signer
        self.settings = settings
        self.max_batch = max_batch
        self.linger = linger
        self.submit_timeout = submit_timeout
        self._queue: queue.Queue = queue.Queue()
        self._running = False

    # -- the handlers' side ------------------------------------------------------------
    def submit(self, entry: dict) -> bool:
        """Block until `entry` is committed: True if stored, False if it had been stored before."""
        if not self._running:
            raise WriterStopped("the audit chain writer is not running")
        pending = _Pending(entry)
        self._queue.put(pending)
        if not pending.done.wait(self.submit_timeout):
            raise TimeoutError(f"the audit entry was not committed within {self.submit_timeout:g}s")
        if pending.error is not None:
            raise pending.error
        return pending.stored

    # -- the writer's side -----------------------------------------------------------------
    def start(self, spawn) -> None:
        self._running = True
        spawn(self._run)
        spawn(self._timed_checkpoints)

    def stop(self) -> None:
        self._running = False
        self._queue.put(_STOP)

    def _take_batch(self, first) -> list:
        batch = [first]
        lingered = False
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                if self.linger and not lingered:
                    lingered = True
                    time.sleep(self.linger)
                    continue
                break
            if item is _STOP:
                self._queue.put(_STOP)
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                self._fail_waiting()
                return
            batch = self._take_batch(first)
            try:
                self._write(batch)
            except Exception as exc:        # never let the writer die: each waiter hears why
                log.exception("audit chain writer failed a batch")
                for pending in batch:
                    if not pending.done.is_set():
                        pending.error = exc
                        pending.done.set()

    def _fail_waiting(self) -> None:
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return
            if pending is not _STOP:
                pending.error = WriterStopped("the audit service is stopping")
                pending.done.set()

    def _write(self, batch: list) -> None:
        try:
            stored_ids = self.append([pending.entry for pending in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            log.warning("a batch of %s audit entries failed (%s); writing them one by one", len(batch), exc)
            for pending in batch:
                self._write([pending])
            return
        for pending in batch:
            pending.stored = pending.entry["event_id"] in stored_ids
            pending.done.set()

    def append(self, entries: list[dict]) -> set[str]:
        """One transaction: append, and sign a checkpoint if the batch crossed the mark. Returns stored ids."""
        signed = None
        with Session(self.engine) as session, session.begin():
            stored, (before, after, head_hash) = ingest.append(session, entries)
            if stored and checkpoints.crosses_mark(before, after, self.settings.every):
                signed = checkpoints.write(session, self.signer, after, head_hash)
        if signed:
            checkpoints.append_to_file(self.settings, signed)
            CHECKPOINTS_WRITTEN.inc()
        BATCH_SIZE.observe(len(entries))
        ENTRIES_APPENDED.inc(len(stored))
        DUPLICATES_SKIPPED.inc(len(entries) - len(stored))
        return {entry["event_id"] for entry in stored}

    def checkpoint_if_due(self) -> dict | None:
        with Session(self.engine) as session, session.begin():
            signed = checkpoints.write_if_due(session, self.signer, self.settings)
        if signed:
            checkpoints.append_to_file(self.settings, signed)
            CHECKPOINTS_WRITTEN.inc()
        return signed

    def _timed_checkpoints(self) -> None:
        while self._running:
            time.sleep(self.settings.seconds)
            if not self._running:
                return
            try:
                self.checkpoint_if_due()
            except Exception:
                log.exception("could not write a timed audit checkpoint; will try again")
