"""The ASB toolkit's pages: the "ASB powers" section of a case page (every case type: CBOs, injunctions and
closure orders are used in gangs and licensing cases too; complaints only on ASB cases), record a power, change
its status, record a breach, record a complaint, the "Expiring soon" list and the Community Trigger activations.

Server-rendered with GOV.UK Frontend, no JavaScript needed; every form carries the session's CSRF token (checked
by auth.require, as on every page). The cases service decides who may see and change what.

Routes (GET unless said): /cases/<id>/powers/new (+POST), /cases/<id>/powers/<pid>/status (+POST),
/cases/<id>/powers/<pid>/breaches/new (+POST), /cases/<id>/complaints/new (+POST), /powers/expiring,
/community-trigger.
"""
from datetime import date

from werkzeug.utils import redirect

from concord_common.errors import NotFound, ValidationFailed
from gateway.directory_names import NAMES
from gateway.web.case_pages import case_page
from gateway.web.profile_forms import Errors, date_from_parts, first_message, friendly
from gateway.web.profile_views import render, templates
from gateway.web.words import words

POWER_LABELS = {"cpw": "Community Protection Warning (CPW)", "cpn": "Community Protection Notice (CPN)",
                "civil_injunction": "Civil injunction", "cbo": "Criminal Behaviour Order (CBO)",
                "closure_notice": "Closure notice", "closure_order": "Closure order",
                "dispersal_direction": "Dispersal direction", "abc": "Acceptable Behaviour Contract (ABC)"}
STATUS_LABELS = {"considered": "Considered", "applied": "Applied for", "issued": "Issued", "granted": "Granted",
                 "refused": "Refused or not pursued", "breached": "Breached", "discharged": "Discharged",
                 "expired": "Expired"}
STATUS_COLOURS = {"considered": "govuk-tag--grey", "applied": "govuk-tag--light-blue", "issued": "govuk-tag--blue",
                  "granted": "govuk-tag--blue", "refused": "govuk-tag--grey", "breached": "govuk-tag--red",
                  "discharged": "govuk-tag--grey", "expired": "govuk-tag--grey"}
COURT_POWERS = {"civil_injunction", "cbo", "closure_order"}
templates.filters.update(power_label=lambda v: POWER_LABELS.get(v) or words(v),
                         power_status_label=lambda v: STATUS_LABELS.get(v) or words(v),
                         power_status_colour=lambda v: STATUS_COLOURS.get(v, ""),
                         power_status_options=lambda statuses: [(s, STATUS_LABELS.get(s) or words(s)) for s in statuses
                                                                if s != "breached"])
DATE_LABELS = {"served_on": "Date served", "expires_on": "Expiry date", "occurred_on": "Date of the breach",
               "received_on": "Date received"}


def _dates(form, names, errors) -> dict:
    """ISO dates from GOV.UK date inputs (blank: None); a bad one is an error on its day box."""
    found = {}
    for name in names:
        iso, message, part = date_from_parts(form.get(f"{name}-day", ""), form.get(f"{name}-month", ""),
                                             form.get(f"{name}-year", ""), DATE_LABELS[name])
        if message:
            errors.add(f"{name}-{part}", message)
        found[name] = iso
    return found


def _parts(form, name) -> dict:
    return {part: form.get(f"{name}-{part}", "") for part in ("day", "month", "year")}


def _service_errors(exc, errors, labels, form):
    for path, messages in exc.errors.items():
        message = first_message(messages)
        if path in DATE_LABELS:
            errors.add(f"{path}-day", friendly(message, DATE_LABELS[path]).rstrip("."))
        else:
            field = path if path in labels else next(iter(labels))
            errors.add(field, friendly(message, labels.get(path, labels[field]), value=form.get(path)).rstrip("."))


class AsbPages:
    def _asb_form(self, principal, case_id, template, title, form, errors=None, status=200, power=None, **more):
        case = self.remote.call("cases", "get_case", case_id)
        return render(template, 422 if errors else status, title=title, nav="case", case=case, form=form,
                      power=power, powers=POWER_LABELS, statuses=STATUS_LABELS, parts=lambda n: _parts(form, n),
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"), **more)

    def _asb_power(self, case_id, power_id):
        for power in self.remote.call("cases", "list_case_powers", case_id)["items"]:
            if power["id"] == power_id:
                return power
        raise NotFound()

    # -- record a power ---------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/powers/new")
    def web_power_new(self, request, principal, case_id):
        return self._asb_form(principal, case_id, "asb_power_new.html", "Record an ASB power", {"status": "considered"})

    @case_page("POST", "/cases/<case_id>/powers/new")
    def web_power_create(self, request, principal, case_id):
        form = {key: (value or "").strip() for key, value in request.form.items()}
        errors = Errors(["power", "status", "profile_id", "served_on-day", "expires_on-day", "conditions"])
        if not form.get("power"):
            errors.add("power", "Select the power")
        dates = _dates(form, ("served_on", "expires_on"), errors)
        if not errors:
            payload = {"power": form["power"], "status": form.get("status") or "considered",
                       "profile_id": form.get("profile_id") or None, "conditions": form.get("conditions") or None,
                       **dates}
            try:
                self.remote.call("cases", "add_power", case_id, payload)
                return redirect(f"/cases/{case_id}?power=1#asb-powers", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, {"power": "Power", "status": "Status", "profile_id": "Against",
                                              "conditions": "Conditions"}, form)
        return self._asb_form(principal, case_id, "asb_power_new.html", "Record an ASB power", form, errors)

    # -- change its status --------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/powers/<power_id>/status")
    def web_power_status(self, request, principal, case_id, power_id):
        power = self._asb_power(case_id, power_id)
        form = {f"{name}-{part}": str(getattr(date.fromisoformat(power[name]), part)) if power[name] else ""
                for name in ("served_on", "expires_on") for part in ("day", "month", "year")}
        return self._asb_form(principal, case_id, "asb_power_status.html", "Change the power's status", form,
                              power=power)

    @case_page("POST", "/cases/<case_id>/powers/<power_id>/status")
    def web_power_status_change(self, request, principal, case_id, power_id):
        power = self._asb_power(case_id, power_id)
        form = {key: (value or "").strip() for key, value in request.form.items()}
        errors = Errors(["status", "served_on-day", "expires_on-day"])
        if not form.get("status"):
            errors.add("status", "Select the new status")
        dates = _dates(form, ("served_on", "expires_on"), errors)
        if not errors:
            payload = {"status": form["status"], **{k: v for k, v in dates.items() if v or power[k]}}
            try:
                self.remote.call("cases", "update_power", power_id, payload)
                return redirect(f"/cases/{case_id}?power=1#asb-powers", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, {"status": "Status"}, form)
        return self._asb_form(principal, case_id, "asb_power_status.html", "Change the power's status", form,
                              errors, power=power)

    # -- record a breach ----------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/powers/<power_id>/breaches/new")
    def web_breach_new(self, request, principal, case_id, power_id):
        return self._asb_form(principal, case_id, "asb_breach_new.html", "Record a breach", {},
                              power=self._asb_power(case_id, power_id))

    @case_page("POST", "/cases/<case_id>/powers/<power_id>/breaches/new")
    def web_breach_create(self, request, principal, case_id, power_id):
        power = self._asb_power(case_id, power_id)
        form = {key: (value or "").strip() for key, value in request.form.items()}
        errors = Errors(["occurred_on-day", "detail", "action_taken", "power_id"])
        dates = _dates(form, ("occurred_on",), errors)
        if not dates["occurred_on"] and "occurred_on-day" not in errors.by_field:
            errors.add("occurred_on-day", "Enter the date of the breach")
        if not form.get("detail"):
            errors.add("detail", "Enter what happened")
        if not errors:
            try:
                self.remote.call("cases", "add_breach", power_id, {
                    "occurred_on": dates["occurred_on"], "detail": form.get("detail", ""),
                    "action_taken": form.get("action_taken") or None})
                return redirect(f"/cases/{case_id}?breach=1#asb-powers", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, {"detail": "What happened", "action_taken": "Action taken",
                                              "power_id": "What happened"}, form)
        return self._asb_form(principal, case_id, "asb_breach_new.html", "Record a breach", form, errors, power=power)

    # -- record a complaint (ASB cases) -------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/complaints/new")
    def web_complaint_new(self, request, principal, case_id):
        return self._asb_form(principal, case_id, "asb_complaint_new.html", "Record a complaint", {})

    @case_page("POST", "/cases/<case_id>/complaints/new")
    def web_complaint_create(self, request, principal, case_id):
        form = {key: (value or "").strip() for key, value in request.form.items()}
        errors = Errors(["complainant_profile_id", "received_on-day", "summary", "case_id"])
        if not form.get("complainant_profile_id"):
            errors.add("complainant_profile_id", "Select who complained")
        dates = _dates(form, ("received_on",), errors)
        if not dates["received_on"] and "received_on-day" not in errors.by_field:
            errors.add("received_on-day", "Enter the date the complaint was received")
        if not form.get("summary"):
            errors.add("summary", "Enter what the complaint is about")
        if not errors:
            try:
                self.remote.call("cases", "add_complaint", case_id, {
                    "complainant_profile_id": form["complainant_profile_id"], "received_on": dates["received_on"],
                    "summary": form.get("summary", "")})
                return redirect(f"/cases/{case_id}?complaint=1#asb-complaints", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, {"summary": "What the complaint is about",
                                              "complainant_profile_id": "Who complained"}, form)
        return self._asb_form(principal, case_id, "asb_complaint_new.html", "Record a complaint", form, errors)

    # -- lists --------------------------------------------------------------------------------------------------
    @case_page("GET", "/powers/expiring")
    def web_powers_expiring(self, request, principal):
        days = (request.args.get("days") or "28").strip()
        errors = Errors(["days"])
        items = []
        try:
            items = self.remote.call("cases", "expiring_powers", {"expiring_within_days": days})["items"]
        except ValidationFailed:
            errors.add("days", "Days must be a whole number from 0 to 366")
        today = date.today()
        for item in items:
            item["days_left"] = (date.fromisoformat(item["expires_on"]) - today).days
        return render("asb_expiring.html", 422 if errors else 200, title="Powers expiring soon", nav="cases",
                      items=items, days=days, errors=errors.by_field, error_summary=errors.summary())

    @case_page("GET", "/community-trigger")
    def web_community_trigger(self, request, principal):
        items = self.remote.call("cases", "trigger_activations", {})["items"]
        organisations = NAMES.organisation_names(self.remote)
        today = date.today()
        for item in items:
            item["days_left"] = (date.fromisoformat(item["review_due"]) - today).days
        return render("asb_trigger.html", 200, title="Community Trigger activations", nav="cases", items=items,
                      organisations=organisations)
