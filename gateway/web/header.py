"""What the header of every signed-in page shows beyond the page itself: the sign-out form's CSRF token and
the number of unread notifications.

The count costs one RPC per page (`unread_count`: a count, not the notifications), asked in its own green thread as
the page starts (a GET), so it runs beside the page's own calls and is waited for only when the page is rendered. A
page that already has the notifications (the notifications page) sets the count itself and makes no call. Should the
notifications service not answer, the page shows no count rather than an error. State is per worker (green thread).
"""
import logging

import eventlet
from eventlet.corolocal import local

log = logging.getLogger("concord.gateway.header")
_here = local()
# The notifications service counts at most this many (UNREAD_COUNTED_TO); a full count reads as "50+".
LISTED_AT_MOST = 50


class Header:
    def __init__(self, service, principal: dict):
        self.service = service
        self.csrf_token = principal.get("csrf_token")
        # The header's "Administration" link: only for organisation and system administrators.
        self.admin = bool({"org_admin", "system_admin"} & set(principal.get("roles") or ()))
        self.thread = None
        self.count = None
        self.known = False

    def _fetch(self):
        return self.service.remote.call("notifications", "unread_count")

    def start(self) -> None:
        if self.thread is None and not self.known:
            self.thread = eventlet.spawn(self._fetch)

    def set_unread(self, count: int) -> None:
        self.count, self.known = count, True

    def unread(self) -> int | None:
        if not self.known:
            self.start()
            try:
                self.count = self.thread.wait()
            except Exception:   # a count is not worth an error page: the header shows none
                log.warning("unread notifications not counted", exc_info=True)
                self.count = None
            self.known = True
        return self.count

    def finish(self) -> None:
        """The worker is done: a count asked for but never shown (a redirect) is waited out, not left running
        beyond its worker."""
        if self.thread is not None and not self.known:
            try:
                self.thread.wait()
            except Exception:
                pass


def begin(service, principal: dict, eager: bool) -> Header:
    _here.header = Header(service, principal)
    if eager:
        _here.header.start()
    return _here.header


def end() -> None:
    header = getattr(_here, "header", None)
    _here.header = None
    if header is not None:
        header.finish()


def current() -> Header | None:
    return getattr(_here, "header", None)


def values() -> dict:
    """The header's part of a page's values (nothing outside a signed-in page)."""
    header = current()
    if header is None:
        return {}
    count = header.unread()
    return {"header_csrf_token": header.csrf_token, "unread_count": count, "nav_admin": header.admin,
            "unread_text": None if not count else (f"{LISTED_AT_MOST}+" if count >= LISTED_AT_MOST
                                                   else str(count))}
