"""Administration for system administrators: partner systems' API clients and the sharing agreements register.

* /admin/api-clients (+POST): register a partner system with its scopes; the secret is shown once, on the page
  that answers the POST (never cached), and cannot be seen again. The API has no list of clients.
* /admin/sharing-agreements: the register (every agreement, its parties, status and review date);
  /admin/sharing-agreements/new (+POST) adds one; POST …/<id>/end ends one at once.

The permissions service decides (an organisation's administrators may also register clients for, and make
agreements of, their own organisation; the pages are offered to system administrators, as issue 16 asks).
"""
from werkzeug.utils import redirect

from concord_common.errors import ValidationFailed
from gateway.web.admin_pages import admin_of, refused, service_errors, shown_once
from gateway.web.profile_forms import Errors, date_from_parts, valid_uuid
from gateway.web.profile_views import not_found, render, web_page

SCOPES = [("profiles:read", "Read profiles"), ("profiles:write", "Create and change profiles"),
          ("cases:read", "Read cases"), ("cases:write", "Create and change cases"),
          ("audit:read", "Read the audit log of its organisation's records"),
          ("webhooks:manage", "Manage its organisation's webhooks")]
SYSTEM_ONLY = ("You cannot manage this", "Only system administrators can.")
AGREEMENT_ORDER = ["name", "purpose", "lawful_basis", "organisation_ids", "review-day", "review-month",
                   "review-year", "start-day", "start-month", "start-year", "end-day", "end-month", "end-year"]


class AdminRegisterPages:
    # -- API clients --------------------------------------------------------------------------------------------
    def _ar_client_form(self, principal, form=None, errors=None, status=200):
        organisations = self.remote.call("permissions", "list_organisations")["items"]
        return render("admin_api_clients.html", status, title="Register a partner system", nav="admin",
                      organisations=[(org["id"], org["name"]) for org in organisations], scopes=SCOPES,
                      form=form or {"scopes": []},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/api-clients")
    def web_admin_api_clients(self, request, principal):
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        return self._ar_client_form(principal)

    @web_page("POST", "/admin/api-clients")
    def web_admin_add_api_client(self, request, principal):
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        form = {key: (request.form.get(key) or "").strip() for key in ("name", "organisation_id")}
        form["scopes"] = [s for s in request.form.getlist("scopes") if s in dict(SCOPES)]
        errors = Errors(["name", "organisation_id", "scopes"])
        if not form["name"]:
            errors.add("name", "Enter the partner system's name")
        if not valid_uuid(form["organisation_id"]):
            errors.add("organisation_id", "Select the organisation it belongs to")
        if not form["scopes"]:
            errors.add("scopes", "Select what it may do")
        if not errors:
            try:
                client = self.remote.call("permissions", "create_api_client", form)
                return shown_once("admin_api_client_created.html", title=f"{client['name']} is registered",
                                  nav="admin", client=client, scopes=dict(SCOPES))
            except ValidationFailed as exc:
                service_errors(exc, errors, {"name": "name", "organisation_id": "organisation_id",
                                             "scopes": "scopes"},
                               {"name": "Name", "organisation_id": "Organisation", "scopes": "What it may do"},
                               "name", form)
        return self._ar_client_form(principal, form, errors, 422)

    # -- sharing agreements -------------------------------------------------------------------------------------
    @web_page("GET", "/admin/sharing-agreements")
    def web_admin_agreements(self, request, principal):
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        agreements = self.remote.call("permissions", "list_sharing_agreements", None)["items"]
        done = request.args.get("done")
        return render("admin_agreements.html", title="Sharing agreements", nav="admin", agreements=agreements,
                      done={"added": "Agreement added", "ended": "Agreement ended"}.get(done),
                      csrf_token=principal.get("csrf_token"))

    def _ar_agreement_form(self, principal, form=None, errors=None, status=200):
        organisations = self.remote.call("permissions", "list_organisations")["items"]
        blank = {f"{d}-{p}": "" for d in ("review", "start", "end") for p in ("day", "month", "year")}
        return render("admin_agreement_new.html", status, title="Add a sharing agreement", nav="admin",
                      organisations=organisations, form=form or {**blank, "organisation_ids": []},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/sharing-agreements/new")
    def web_admin_new_agreement(self, request, principal):
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        return self._ar_agreement_form(principal)

    @web_page("POST", "/admin/sharing-agreements/new")
    def web_admin_add_agreement(self, request, principal):
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        form = {key: (request.form.get(key) or "").strip() for key in AGREEMENT_ORDER if key != "organisation_ids"}
        form["organisation_ids"] = [o for o in request.form.getlist("organisation_ids") if valid_uuid(o)]
        errors = Errors(AGREEMENT_ORDER)
        for field, message in (("name", "Enter the agreement's name"), ("purpose", "Enter what the sharing is for"),
                               ("lawful_basis", "Enter the lawful basis for sharing")):
            if not form[field]:
                errors.add(field, message)
        if len(form["organisation_ids"]) < 2:
            errors.add("organisation_ids", "Select at least two organisations")
        dates = {}
        for name, label in (("review", "The review date"), ("start", "The start date"), ("end", "The end date")):
            day, message, box = date_from_parts(form[f"{name}-day"], form[f"{name}-month"], form[f"{name}-year"], label)
            if message:
                errors.add(f"{name}-{box}", message)
            dates[name] = day
        if not dates["review"] and not errors.by_field.get("review-day"):
            errors.add("review-day", "Enter the date the agreement is to be reviewed")
        if not errors:
            try:
                self.remote.call("permissions", "create_sharing_agreement", {
                    "name": form["name"], "purpose": form["purpose"], "lawful_basis": form["lawful_basis"],
                    "organisation_ids": form["organisation_ids"], "review_date": dates["review"],
                    "start_date": dates["start"], "end_date": dates["end"]})
                return redirect("/admin/sharing-agreements?done=added", code=303)
            except ValidationFailed as exc:
                service_errors(exc, errors, {"name": "name", "purpose": "purpose", "lawful_basis": "lawful_basis",
                                             "organisation_ids": "organisation_ids", "review_date": "review-day",
                                             "start_date": "start-day", "end_date": "end-day"},
                               {"name": "Name", "purpose": "Purpose", "lawful_basis": "Lawful basis",
                                "organisation_ids": "Organisations", "review-day": "The review date",
                                "start-day": "The start date", "end-day": "The end date"}, "name", form)
        return self._ar_agreement_form(principal, form, errors, 422)

    @web_page("POST", "/admin/sharing-agreements/<agreement_id>/end")
    def web_admin_end_agreement(self, request, principal, agreement_id):
        if not valid_uuid(agreement_id):
            return not_found()
        if not admin_of(principal)[0]:
            return refused(*SYSTEM_ONLY)
        self.remote.call("permissions", "end_sharing_agreement", agreement_id)
        return redirect("/admin/sharing-agreements?done=ended", code=303)
