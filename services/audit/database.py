"""The audit service's database provider: the common one, plus a role that cannot rewrite history
and the process's one chain writer.

Migrations run as the database owner (as in every service). Every connection
the running service opens then does `SET ROLE concord_audit_writer`, a role
that may only SELECT and INSERT audit entries and checkpoints (migration 0002).
"""
import gc

from sqlalchemy import event

from concord_common.db import Database, DatabaseAccess
from services.audit import checkpoints
from services.audit.writer import ChainWriter

WRITER_ROLE = "concord_audit_writer"


def run_as_writer(engine, role: str = WRITER_ROLE) -> None:
    """From now on every new connection of `engine` acts as `role`."""
    @event.listens_for(engine, "connect")
    def set_role(dbapi_connection, connection_record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{role}"')
        finally:
            dbapi_connection.autocommit = autocommit


class AuditAccess(DatabaseAccess):
    """What a worker sees as `self.db`: the common access plus the chain."""

    @property
    def writer(self) -> ChainWriter:
        return self._provider.writer

    @property
    def checkpoint_settings(self) -> checkpoints.Settings:
        return self._provider.checkpoint_settings

    @property
    def trusted_keys(self) -> set[str]:
        return self._provider.trusted_keys


class AuditDatabase(Database):
    def setup(self):
        super().setup()
        config = self.container.config
        run_as_writer(self.engine, str(config.get("AUDIT_DB_ROLE") or WRITER_ROLE))
        signer = checkpoints.Signer.from_config(config)
        self.checkpoint_settings = checkpoints.Settings.from_config(config)
        self.trusted_keys = checkpoints.trusted_keys(config, signer)
        self.writer = ChainWriter(self.engine, signer, self.checkpoint_settings,
                                  max_batch=int(config.get("AUDIT_BATCH_SIZE") or 200),
                                  linger=float(config.get("AUDIT_BATCH_LINGER") or 0))

    def start(self):
        super().start()
        self.writer.start(self.container.spawn_managed_thread)
        if self.container.config.get("AUDIT_GC_FREEZE", True):
            # Everything alive after start-up lives as long as the process: keep the garbage collector
            # from scanning it again and again while thousands of events pass (~15% less CPU per event).
            gc.freeze()

    def stop(self):
        self.writer.stop()
        super().stop()

    def get_dependency(self, worker_ctx):
        return AuditAccess(self, worker_ctx)
