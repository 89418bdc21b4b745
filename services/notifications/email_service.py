"""The nameko side of e-mail (services/notifications/emails.py has the logic): the service's e-mail settings,
and the sender loop's timer.

The sender is a timer on every replica, firing every EMAIL_POLL_SECONDS (a round waits for the last one to end:
nameko's timer does not overlap itself); replicas share the work row by row (FOR UPDATE SKIP LOCKED).
"""
import logging

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from concord_common import context as ctx
from services.notifications.emails import EmailSettings

log = logging.getLogger(__name__)


class MailSettings(DependencyProvider):
    """EmailSettings from the service's config (SMTP_URL, PUBLIC_URL, EMAIL_*), read once per container."""

    def setup(self):
        self.settings = EmailSettings.from_config(self.container.config)
        if self.settings.smtp is None:
            log.info("e-mail is off: SMTP_URL is not set")
        else:
            log.info("e-mail through %s", self.settings.smtp.describe())

    def get_dependency(self, worker_ctx):
        return self.settings


class EmailSenderTimer(Timer):
    """nameko's timer, every EMAIL_POLL_SECONDS (default 2), as the system."""

    def __init__(self, **kwargs):
        super().__init__(interval=2.0, eager=True, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get("EMAIL_POLL_SECONDS") or 2.0)

    def handle_timer_tick(self):
        self.container.spawn_worker(self, (), {}, handle_result=self.handle_result,
                                    context_data={ctx.CALLER_KEY: ctx.SYSTEM.to_json()})


email_sender = EmailSenderTimer.decorator
