"""Webhooks for partner systems (the notifications service, services/notifications/webhooks.py; docs/webhooks.md).
An organisation's administrators, and its API clients with the `webhooks:manage` scope, manage its
subscriptions; another organisation's are as absent as none at all."""
from werkzeug.wrappers import Response

from gateway.http import api, json_response, read_json

SCOPE = "webhooks:manage"


class WebhookRoutes:
    @api("GET", "/api/v1/webhooks/event-types", scope=SCOPE, answer="notifications.WebhookEventTypePage")
    def webhook_event_types(self, request):
        """The event types a webhook may subscribe to, and whose visibility decides each delivery."""
        return json_response(200, self.remote.call("notifications", "webhook_event_types"))

    @api("POST", "/api/v1/webhooks", scope=SCOPE, replayable=False, body="notifications.WebhookCreate",
         answer="notifications.WebhookCreated", status=201)
    def create_webhook(self, request):
        """Subscribe an https URL to event types. The answer carries the signing `secret`, this once only."""
        made = self.remote.call("notifications", "create_webhook", read_json(request))
        return json_response(201, made, {"Location": f"/api/v1/webhooks/{made['id']}"})

    @api("GET", "/api/v1/webhooks", scope=SCOPE, answer="notifications.WebhookPage")
    def list_webhooks(self, request):
        """Your organisation's webhooks, with how many deliveries are pending and dead-lettered."""
        return json_response(200, self.remote.call("notifications", "list_webhooks"))

    @api("GET", "/api/v1/webhooks/<webhook_id>", scope=SCOPE, answer="notifications.Webhook")
    def get_webhook(self, request, webhook_id):
        """One of your organisation's webhooks (never its secret)."""
        return json_response(200, self.remote.call("notifications", "get_webhook", webhook_id))

    @api("DELETE", "/api/v1/webhooks/<webhook_id>", scope=SCOPE, status=204)
    def delete_webhook(self, request, webhook_id):
        """Stop a webhook: it and its deliveries (pending ones included) are removed."""
        self.remote.call("notifications", "delete_webhook", webhook_id)
        return Response(status=204)

    @api("GET", "/api/v1/webhooks/<webhook_id>/deliveries", scope=SCOPE, query="notifications.WebhookDeliveryQuery",
         answer="notifications.WebhookDeliveryPage")
    def list_webhook_deliveries(self, request, webhook_id):
        """The webhook's deliveries, newest first: status (pending, delivered, failed = dead-lettered), attempts,
        the receiver's last status code. Page with `before` = the answer's `next_before`."""
        return json_response(200, self.remote.call("notifications", "list_webhook_deliveries", webhook_id,
                                                   request.args.to_dict()))

    @api("POST", "/api/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", scope=SCOPE,
         answer="notifications.WebhookDelivery", status=202)
    def redeliver_webhook(self, request, webhook_id, delivery_id):
        """Try a delivery again now, with a fresh retry window and the same event id."""
        return json_response(202, self.remote.call("notifications", "redeliver_webhook", webhook_id, delivery_id))
