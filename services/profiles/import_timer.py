"""The nameko edge of bulk imports (imports.py): a timer in every replica that claims and runs waiting jobs.

nameko's timer waits for its worker before the next fire, so a replica runs one import at a time; the other
replicas claim the other jobs (FOR UPDATE SKIP LOCKED). A replica told to stop hands its job on between
batches (its lease is cleared), so a rolling restart does not wait for a long import.
"""
from nameko.timer import Timer

from concord_common.access.entrypoints import RpcDirectory
from services.profiles import imports


class ImportTimer(Timer):
    """Fires every IMPORT_POLL_SECONDS (default 2); IMPORT_WORKER: false turns the worker off in a replica."""

    def __init__(self, **kwargs):
        super().__init__(interval=imports.DEFAULT_POLL_SECONDS, eager=True, **kwargs)

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("IMPORT_POLL_SECONDS") or imports.DEFAULT_POLL_SECONDS)
        self.enabled = str(config.get("IMPORT_WORKER", True)).strip().lower() not in ("0", "false", "no", "off")

    def handle_timer_tick(self):
        if not self.enabled:
            self.worker_complete.send()
            return
        # The worker's argument: whether this replica is stopping (checked between batches).
        self.container.spawn_worker(self, (self.should_stop.ready,), {}, handle_result=self.handle_result)


import_timer = ImportTimer.decorator


def run(service, timer_stopping) -> int:
    """Run waiting imports in this replica (the timer's worker): the settings from the service's config."""
    config = service.remote.config
    return imports.run_waiting(
        service.db.engine, RpcDirectory(service.remote),
        batch_rows=int(config.get("IMPORT_BATCH_ROWS") or imports.DEFAULT_BATCH_ROWS),
        lease_seconds=float(config.get("IMPORT_LEASE_SECONDS") or imports.DEFAULT_LEASE_SECONDS),
        stopping=timer_stopping)
