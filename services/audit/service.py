"""The audit nameko service: ingests every service's events, answers audit reads. Thin: see logic.py."""
from pathlib import Path

import eventlet

from concord_common import contract, schedule
from concord_common.events import reliable_event_handler
from concord_common.rpc import ServiceRpc
from concord_common.ops_metrics import OpsMetrics
from concord_common.service import CallContext, ServiceBase, ping, rpc
from concord_common.settings import SERVICE_NAMES
from services.audit import ingest, logic, recent
from services.audit import schemas
from services.audit.database import AuditDatabase


def ingest_handler(source: str):
    """The handler of every event `source` publishes ("#"), on a queue of its own.

    Its own events too: reading the audit log is audited. Entries go straight to
    the chain writer, which commits them in batches.
    """
    @reliable_event_handler(source, "#")
    def ingest_events(self, event):
        entry = ingest.entry_from_event(event)
        if entry is not None:
            self.db.writer.submit(entry)
    ingest_events.__name__ = ingest_events.__qualname__ = f"ingest_{source}"
    return ingest_events


def ingesting_every_service(cls):
    """Adds `ingest_<source>` for each service. nameko names each queue after the method
    (evt-profiles-#--audit.ingest_profiles), so these names must stay as they are."""
    for source in SERVICE_NAMES:
        handler = ingest_handler(source)
        setattr(cls, handler.__name__, handler)
    return cls


@ingesting_every_service
class AuditService(ServiceBase):
    name = "audit"

    context = CallContext()
    db = AuditDatabase(Path(__file__).parent / "migrations")
    remote = ServiceRpc()
    ops = OpsMetrics(extra=logic.health_gauges)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- reading (each read is itself recorded) ---------------------------------------------
    @rpc
    def record_entries(self, record_type, record_id, query=None):
        return self.write(logic.record_log, self.remote, record_type, record_id, query)

    @rpc
    def user_entries(self, user_id, query=None):
        return self.write(logic.user_log, self.remote, user_id, query)

    @rpc
    def my_recent_records(self, query=None):      # the caller's own views; records nothing (recent.py says why)
        return self.read(recent.my_recent_records, query)

    @rpc
    def organisation_export(self, organisation_id, query=None):
        return self.write(logic.organisation_export, organisation_id, query)

    @rpc
    def usage(self, query=None):
        return self.write(logic.usage_figures, query)

    @rpc
    def verify(self):
        result = logic.verify_chain(self.db, self.context.caller, pause=lambda: eventlet.sleep(0))
        return self.write(logic.record_verification, result)

    @schedule.scheduled(logic.VERIFY.name, logic.VERIFY.seconds)
    def scheduled_verify(self, job):
        self.write(schedule.run_once, job, logic.scheduled_verification, self.db, lambda: eventlet.sleep(0))

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
