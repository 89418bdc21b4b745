"""The audit nameko service: ingests every service's events, answers audit reads. Thin: see logic.py."""
from pathlib import Path

import eventlet

from concord_common import contract
from concord_common.events import reliable_event_handler
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from services.audit import logic
from services.audit import schemas
from services.audit.database import AuditDatabase


class AuditService:
    name = "audit"

    context = CallContext()
    db = AuditDatabase(Path(__file__).parent / "migrations")
    remote = ServiceRpc()

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- ingestion: one queue per source service, each bound to every event type ("#") ----
    @reliable_event_handler("profiles", "#")
    def ingest_profiles(self, event):
        logic.ingest_event(self.db, event)

    @reliable_event_handler("cases", "#")
    def ingest_cases(self, event):
        logic.ingest_event(self.db, event)

    @reliable_event_handler("permissions", "#")
    def ingest_permissions(self, event):
        logic.ingest_event(self.db, event)

    @reliable_event_handler("notifications", "#")
    def ingest_notifications(self, event):
        logic.ingest_event(self.db, event)

    @reliable_event_handler("audit", "#")
    def ingest_audit(self, event):
        """Reading the audit log is audited too."""
        logic.ingest_event(self.db, event)

    # -- reading (each read is itself recorded) ---------------------------------------------
    @rpc
    def record_entries(self, record_type, record_id, query=None):
        return logic.record_log(self.db, self.remote, self.context.caller, record_type, record_id, query)

    @rpc
    def user_entries(self, user_id, query=None):
        return logic.user_log(self.db, self.remote, self.context.caller, user_id, query)

    @rpc
    def organisation_export(self, organisation_id, query=None):
        return logic.organisation_export(self.db, self.context.caller, organisation_id, query)

    @rpc
    def usage(self, query=None):
        return logic.usage_figures(self.db, self.context.caller, query)

    @rpc
    def verify(self):
        return logic.verify(self.db, self.context.caller, pause=lambda: eventlet.sleep(0))

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
