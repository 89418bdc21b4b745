"""The e-mail preferences page (docs/notifications.md): for each kind of notification, e-mail immediately, once a
day in a summary, or not at all; one choice for every kind, and each kind's own.

It reuses the notifications service's RPCs behind GET|PUT /api/v1/me/notification-preferences; the service checks
the choices (a tampered form gets the page again with the error, 422).
"""
from werkzeug.utils import redirect

from concord_common.errors import ValidationFailed
from gateway.web.profile_views import render, web_page

CHOICES = (("immediate", "Immediately", "An e-mail each time"),
           ("daily", "Daily summary", "One e-mail a day listing them"),
           ("off", "Off", "No e-mail: the notifications page only"))
SAME = "same"          # a kind's radio: as the choice for every kind


class NotificationPreferencePages:
    @web_page("GET", "/notifications/preferences")
    def web_notification_preferences(self, request, principal):
        current = self.remote.call("notifications", "my_email_preferences", True)
        return self._np_page(principal, current, saved=request.args.get("done") == "saved")

    @web_page("POST", "/notifications/preferences")
    def web_notification_preferences_save(self, request, principal):
        form = request.form
        default = form.get("email", "")
        kinds = {}
        for name, value in form.items():
            if name.startswith("kind-") and value != SAME:
                kinds[name[len("kind-"):]] = value
        try:
            self.remote.call("notifications", "set_email_preferences", {"email": default, "kinds": kinds})
        except ValidationFailed as exc:
            current = self.remote.call("notifications", "my_email_preferences", True)
            field = next(iter(exc.errors), "email")
            kind = field.split(".", 1)[-1]
            about = "every kind of notification" if field == "email" else \
                (current.get("descriptions") or {}).get(kind, kind).lower()
            return self._np_page(principal, current, status=422, error_field=field.replace(".", "-"),
                                 error_summary=f"Choose immediately, daily summary or off for {about}")
        return redirect("/notifications/preferences?done=saved", code=303)

    def _np_page(self, principal, current, status=200, saved=False, error_field=None, error_summary=None):
        descriptions = current.get("descriptions") or {}
        kinds = [(kind, descriptions.get(kind, kind), choice if choice != current["email"] else SAME)
                 for kind, choice in current["kinds"].items()]
        return render("notification_preferences.html", status=status, title="E-mail preferences",
                      nav="notifications", default=current["email"], kinds=kinds, choices=CHOICES, same=SAME,
                      saved=saved, error_field=error_field, error_summary=error_summary,
                      csrf_token=principal.get("csrf_token"))
