"""The notifications nameko service: turns events into in-app notifications."""
from pathlib import Path

from concord_common import contract
from concord_common.db import Database
from concord_common.events import reliable_event_handler
from concord_common.service import CallContext, ping, rpc
from services.notifications import logic
from services.notifications import schemas


class NotificationsService:
    name = "notifications"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    def _tell(self, event):
        with self.db.unit_of_work() as uow:
            logic.tell(uow, event)

    @reliable_event_handler("permissions", "access_request.*")
    def on_access_request(self, event):
        self._tell(event)

    @reliable_event_handler("permissions", "record.*")
    def on_transfer(self, event):
        self._tell(event)

    @reliable_event_handler("profiles", "*.break_glass")
    def on_profile_break_glass(self, event):
        self._tell(event)

    @reliable_event_handler("cases", "*.break_glass")
    def on_case_break_glass(self, event):
        self._tell(event)

    @rpc
    def my_notifications(self, unread_only=False):
        with self.db.read() as session:
            return logic.for_caller(session, self.context.caller, bool(unread_only))

    @rpc
    def mark_read(self, notification_id):
        with self.db.unit_of_work() as uow:
            logic.mark_read(uow, self.context.caller, notification_id)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
