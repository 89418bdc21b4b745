"""The bulk import pages (docs/imports.md): /imports, an upload form with the organisation's latest imports,
and /imports/<id>, a job's progress bar and its report (errors by row and column, likely duplicates).

The same checks as the API (gateway/routes/imports.py, then the profiles service): a person in a team may
import (new profiles are led by their team); the pages are linked from administration for organisation
administrators. While a job runs, its page refreshes itself every few seconds (a meta refresh: no script
needed), showing an HTML <progress>. Another organisation's import is "Page not found", as an unknown id.
"""
from werkzeug.utils import redirect

from concord_common.errors import MalformedRequest, TooManyRequests, ValidationFailed
from concord_common.sizes import human_size
from gateway.routes.imports import max_import_body, max_import_bytes, start_import
from gateway.web.profile_forms import Errors, first_message, valid_uuid
from gateway.web.profile_views import not_found, render, web_page

REFRESH_SECONDS = 2
FORM_ORDER = ["file", "owner_team_id", "kind"]


class ImportPages:
    def _ip_form(self, principal, errors=None, status=200, form=None):
        recent = self.remote.call("profiles", "list_imports", {"limit": 20})["items"]
        teams = [team for team in (principal.get("teams") or [])]
        return render("imports.html", status, title="Import profiles", nav="admin", recent=recent,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      teams=teams, form=form or {}, max_upload=human_size(max_import_bytes(self)),
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/imports")
    def web_imports(self, request, principal):
        return self._ip_form(principal)

    @web_page("POST", "/imports", max_body=max_import_body)
    def web_import_upload(self, request, principal):
        form = {"owner_team_id": (request.form.get("owner_team_id") or "").strip()}
        try:
            started = start_import(self, request)
        except (ValidationFailed, MalformedRequest, TooManyRequests) as exc:
            errors = Errors(FORM_ORDER)
            for field, messages in (exc.errors or {"file": [exc.detail]}).items():
                errors.add(field if field in FORM_ORDER else "file", first_message(messages))
            return self._ip_form(principal, errors, exc.status, form)
        return redirect(f"/imports/{started['id']}", code=303)

    @web_page("GET", "/imports/<import_id>")
    def web_import_status(self, request, principal, import_id):
        if not valid_uuid(import_id):
            return not_found()
        job = self.remote.call("profiles", "get_import", import_id)
        running = job["status"] in ("queued", "running")
        return render("import_status.html", title=f"Import of {job['filename'] or 'a file'}", nav="admin", job=job,
                      running=running, refresh_seconds=REFRESH_SECONDS if running else None,
                      percent=int(100 * job["rows_done"] / job["rows_total"]) if job["rows_total"] else 100)
