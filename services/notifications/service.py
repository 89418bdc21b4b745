"""The notifications nameko service: turns events into in-app notifications."""
import logging
from pathlib import Path

from concord_common import contract, schedule
from concord_common.db import Database
from concord_common.events import reliable_event_handler
from concord_common.errors import ConcordError
from concord_common.ops_metrics import OpsMetrics
from concord_common.rpc import ServiceRpc
from concord_common.schedule import scheduled
from concord_common.service import CallContext, ServiceBase, ping, rpc
from services.notifications import emails, logic
from services.notifications import schemas
from services.notifications import webhooks
from services.notifications.email_service import MailSettings, email_sender
from services.notifications.webhook_sender import WebhookSender, delivery_timer, gauges as webhook_gauges

log = logging.getLogger(__name__)


class NotificationsService(ServiceBase):
    name = "notifications"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    @reliable_event_handler("permissions", "access_request.*")
    def on_access_request(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("permissions", "record.*")
    def on_transfer(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("permissions", "team.*")
    def on_team_change(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("profiles", "*.break_glass")
    def on_profile_break_glass(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "*.break_glass")
    def on_case_break_glass(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.shared")
    def on_case_shared(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.agenda_added")
    def on_case_agenda_added(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.owner_changed")
    def on_case_transferred(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.review_due")
    def on_case_review_due(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.risk_assessed")
    def on_case_risk_assessed(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.power_breached")
    def on_power_breached(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.community_trigger_activated")
    def on_community_trigger(self, event):
        self.write(logic.tell, event)

    # Actions (issue 13): the assignee is told when one is set, the day before it is due and when it is overdue.
    @reliable_event_handler("cases", "case.action_set")
    def on_case_action_set(self, event):
        self.write(logic.tell, event)

    @reliable_event_handler("cases", "case.action_cancelled")
    def on_case_action_cancelled(self, event):
        self.write(logic.tell, event)            # only when the case closed (rules._action_cancelled)

    @reliable_event_handler("cases", "case.action_reminder_sent")
    def on_case_action_reminder(self, event):
        self.write(logic.tell, event)

    # MASH referrals (issue 15): received, research asked and answered, decided (logic._mash_notice).
    @reliable_event_handler("cases", "mash.*")
    def on_mash(self, event):
        self.write(logic.tell, event)

    @rpc
    def my_notifications(self, unread_only=False):
        return self.read(logic.for_caller, bool(unread_only))

    @rpc
    def unread_count(self):
        return self.read(logic.unread_count)

    @rpc
    def mark_read(self, notification_id):
        self.write(logic.mark_read, notification_id)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document

    # E-mail (issue 17, docs/notifications.md): the outbox's sender loop, the daily digest, each person's
    # preferences. The e-mails themselves are written by logic.tell with the notifications.
    remote = ServiceRpc()
    mail = MailSettings()

    @email_sender
    def send_emails(self):
        try:
            self.write(emails.resolve, self.mail, self._email_directory)
        except ConcordError as exc:      # the directory cannot be asked now: the rows wait for the next round
            log.warning("e-mail recipients not resolved: %s", exc)
        emails.send_due(self.db.engine, self.mail)

    def _email_directory(self, user_ids, team_ids):
        return self.remote.call_as_system("permissions", "email_recipients", user_ids, team_ids)

    @scheduled("notifications.email_digest", seconds=86400)
    def email_digest(self, job):
        self.write(schedule.run_once, job, emails.make_digests)

    @rpc
    def my_email_preferences(self, described=False):
        return self.read(emails.get_preferences, bool(described))

    @rpc
    def set_email_preferences(self, payload):
        return self.write(emails.set_preferences, payload)

    # -- webhooks (issue 17, docs/webhooks.md): handlers only write delivery rows; a timer in each replica sends
    # them (webhook_sender.py). Each handler binds one internal event of services/webhooks.INTERNAL.
    webhook_sender = WebhookSender()
    ops = OpsMetrics(extra=webhook_gauges)

    @reliable_event_handler("profiles", "profile.created")
    def on_webhook_profile_created(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("profiles", "profile.updated")
    def on_webhook_profile_updated(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("profiles", "profile.owner_changed")
    def on_webhook_profile_owner_changed(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("profiles", "family.created")
    def on_webhook_family_created(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("profiles", "family.member_added")
    def on_webhook_family_member_added(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("profiles", "family.member_removed")
    def on_webhook_family_member_removed(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.created")
    def on_webhook_case_created(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.updated")
    def on_webhook_case_updated(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.closed")
    def on_webhook_case_closed(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.reopened")
    def on_webhook_case_reopened(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.owner_changed")
    def on_webhook_case_owner_changed(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.action_set")
    def on_webhook_case_action_set(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.action_updated")
    def on_webhook_case_action_updated(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.action_done")
    def on_webhook_case_action_done(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.action_cancelled")
    def on_webhook_case_action_cancelled(self, event):
        self.write(webhooks.fan_out, event)

    @reliable_event_handler("cases", "case.action_reminder_sent")
    def on_webhook_case_action_reminder_sent(self, event):
        self.write(webhooks.fan_out, event)

    @delivery_timer()
    def send_webhooks(self):
        self.webhook_sender.tick(self.db.engine, self.remote)

    @rpc
    def webhook_event_types(self):
        return self.read(webhooks.event_types)

    @rpc
    def create_webhook(self, payload):
        return self.write(webhooks.subscribe, payload, self.webhook_sender.sealer, self.remote.config)

    @rpc
    def list_webhooks(self):
        return self.read(webhooks.list_subscriptions)

    @rpc
    def get_webhook(self, webhook_id):
        return self.read(webhooks.get_subscription, webhook_id)

    @rpc
    def delete_webhook(self, webhook_id):
        self.write(webhooks.delete_subscription, webhook_id)

    @rpc
    def list_webhook_deliveries(self, webhook_id, params=None):
        return self.read(webhooks.list_deliveries, webhook_id, params)

    @rpc
    def redeliver_webhook(self, webhook_id, delivery_id):
        return self.write(webhooks.redeliver, webhook_id, delivery_id)
