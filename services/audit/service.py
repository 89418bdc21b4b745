"""The audit nameko service: ingests every service's events, answers audit reads."""
from pathlib import Path

from concord_common.db import Database
from concord_common.events import reliable_event_handler
from concord_common.service import CallContext, ping, rpc
from services.audit import logic


class AuditService:
    name = "audit"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    def _ingest(self, event):
        with self.db.unit_of_work() as uow:
            logic.ingest(uow, event)

    # One queue per source service, each bound to every event type ("#").
    @reliable_event_handler("profiles", "#")
    def ingest_profiles(self, event):
        self._ingest(event)

    @reliable_event_handler("cases", "#")
    def ingest_cases(self, event):
        self._ingest(event)

    @reliable_event_handler("permissions", "#")
    def ingest_permissions(self, event):
        self._ingest(event)

    @reliable_event_handler("notifications", "#")
    def ingest_notifications(self, event):
        self._ingest(event)

    @rpc
    def record_entries(self, record_type, record_id, limit=100):
        with self.db.read() as session:
            return logic.entries_for_record(session, record_type, str(record_id), int(limit))
