"""The notifications page: the signed-in person's notifications, unread first, each linking to its record
where it has one; mark one or all as read (forms, POST with the session's CSRF token).

It reuses the notifications service's RPCs behind GET /api/v1/me/notifications and POST …/read. The service
marks one at a time, so "mark all as read" marks each unread one, all at once (`together`).
"""
from werkzeug.utils import redirect

from concord_common.errors import NotFound
from gateway.http import together
from gateway.web import header
from gateway.web.profile_forms import valid_uuid
from gateway.web.profile_views import render, web_page

# Where a record's page is, by record type (a type with no page of its own gets no link).
RECORD_PAGES = {"profile": "/profiles/{}", "case": "/cases/{}"}
BANNERS = {"one": "Notification marked as read", "all": "All notifications marked as read"}


def record_href(item: dict) -> str | None:
    record = item.get("record") or {}
    pattern = RECORD_PAGES.get(record.get("type"))
    return pattern.format(record["id"]) if pattern and valid_uuid(record.get("id") or "") else None


class NotificationPages:
    @web_page("GET", "/notifications")
    def web_notifications(self, request, principal):
        items = self.remote.call("notifications", "my_notifications", False)["items"]
        # Unread first; newest first within each (the service lists newest first, and sorted() is stable).
        items = sorted(items, key=lambda item: bool(item.get("read")))
        unread = sum(1 for item in items if not item.get("read"))
        current = header.current()
        if current is not None:
            current.set_unread(unread)             # this page's own list: no second call for the header
        return render("notifications.html", title="Notifications", nav="notifications", items=items,
                      unread=unread, record_href=record_href, banner=BANNERS.get(request.args.get("done")),
                      csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/notifications/<notification_id>/read")
    def web_notification_read(self, request, principal, notification_id):
        if not valid_uuid(notification_id):
            raise NotFound()
        self.remote.call("notifications", "mark_read", notification_id)
        return redirect("/notifications?done=one", code=303)

    @web_page("POST", "/notifications/read-all")
    def web_notifications_read_all(self, request, principal):
        unread = self.remote.call("notifications", "my_notifications", True)["items"]
        if unread:
            together(**{f"n{index}": (lambda item=item: self.remote.call("notifications", "mark_read", item["id"]))
                        for index, item in enumerate(unread)})
        return redirect("/notifications?done=all", code=303)
