"""Pages anyone can read, signed in or not: help, the accessibility statement, the privacy notice; and the
favicon at the address browsers ask for it."""
from pathlib import Path

from werkzeug.wrappers import Response

from gateway.http import api
from gateway.web import header
from gateway.web.pages import page

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"
INFO_PAGES = {"/help": ("help.html", "Help using Concord"),
              "/accessibility": ("accessibility.html", "Accessibility statement for Concord"),
              "/privacy": ("privacy.html", "Privacy notice")}


class InfoPages:
    def _info_page(self, request, path):
        template, title = INFO_PAGES[path]
        principal = self.auth.optional(request)
        if principal is None or principal.get("kind") != "user":
            return page(template, title=title)
        header.begin(self, principal, eager=True)          # signed in: the header as on every other page
        try:
            return page(template, title=title, signed_in=True, nav=path.strip("/"))
        finally:
            header.end()

    @api("GET", "/help", public=True)
    def help_page(self, request):
        return self._info_page(request, "/help")

    @api("GET", "/accessibility", public=True)
    def accessibility_page(self, request):
        return self._info_page(request, "/accessibility")

    @api("GET", "/privacy", public=True)
    def privacy_page(self, request):
        return self._info_page(request, "/privacy")

    @api("GET", "/favicon.ico", public=True)
    def favicon(self, request):
        return Response(FAVICON.read_bytes(), mimetype="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})
