"""The signed-in person's e-mail preferences (docs/notifications.md): `GET|PUT /api/v1/me/notification-preferences`.

`{"email": "immediate"|"daily"|"off"}` is the choice for every kind of notification; `"kinds": {"actions":
"daily", …}` (an extension of the contract's shape) each kind's own. The notifications service checks the body:
an unknown choice or kind is a 422 naming the field (`email`, `kinds.<kind>`).
"""
from gateway.http import api, json_response, read_json


class NotificationPreferenceRoutes:
    @api("GET", "/api/v1/me/notification-preferences", answer="notifications.EmailPreferences")
    def my_notification_preferences(self, request):
        return json_response(200, self.remote.call("notifications", "my_email_preferences"))

    @api("PUT", "/api/v1/me/notification-preferences", body="notifications.EmailPreferences",
         answer="notifications.EmailPreferences", errors=(422,))
    def set_notification_preferences(self, request):
        return json_response(200, self.remote.call("notifications", "set_email_preferences", read_json(request)))
