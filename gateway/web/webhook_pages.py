"""Webhooks for organisation administrators: their organisation's subscriptions (/admin/webhooks) and one's
deliveries with status, attempts and the receiver's last answer, where a failed (dead-lettered) one can be sent
again (/admin/webhooks/<id>). The notifications service decides who may (services/notifications/webhooks.py);
subscribing is for the API (docs/webhooks.md), where the secret is shown once to the system that needs it."""
from werkzeug.utils import redirect

from concord_common.errors import NotFound
from gateway.web.admin_pages import refused
from gateway.web.profile_forms import valid_uuid
from gateway.web.profile_views import render, web_page

STATUS_WORDS = {"pending": "Waiting", "delivered": "Delivered", "failed": "Failed (dead-lettered)"}
STATUS_TAGS = {"pending": "govuk-tag--blue", "delivered": "govuk-tag--green", "failed": "govuk-tag--red"}


def _is_org_admin(principal) -> bool:
    return "org_admin" in set(principal.get("roles") or ())


class WebhookPages:
    @web_page("GET", "/admin/webhooks")
    def web_webhooks(self, request, principal):
        if not _is_org_admin(principal):
            return refused("You cannot see webhooks", "Only your organisation's administrators can.")
        items = self.remote.call("notifications", "list_webhooks")["items"]
        return render("admin_webhooks.html", title="Webhooks", nav="admin", items=items)

    @web_page("GET", "/admin/webhooks/<webhook_id>")
    def web_webhook(self, request, principal, webhook_id):
        if not _is_org_admin(principal):
            return refused("You cannot see webhooks", "Only your organisation's administrators can.")
        if not valid_uuid(webhook_id):
            raise NotFound()
        status = request.args.get("status") if request.args.get("status") in STATUS_WORDS else None
        hook = self.remote.call("notifications", "get_webhook", webhook_id)
        deliveries = self.remote.call("notifications", "list_webhook_deliveries", webhook_id,
                                      {"status": status} if status else {})["items"]
        return render("admin_webhook.html", title="Webhook deliveries", nav="admin", hook=hook,
                      deliveries=deliveries, status=status, status_words=STATUS_WORDS, status_tags=STATUS_TAGS,
                      redelivered=request.args.get("redelivered"), csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/admin/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
    def web_webhook_redeliver(self, request, principal, webhook_id, delivery_id):
        if not (valid_uuid(webhook_id) and valid_uuid(delivery_id)):
            raise NotFound()
        self.remote.call("notifications", "redeliver_webhook", webhook_id, delivery_id)
        return redirect(f"/admin/webhooks/{webhook_id}?redelivered={delivery_id}", code=303)
