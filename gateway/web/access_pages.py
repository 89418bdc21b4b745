"""Getting access to a record, and deciding who gets it: the pages around a record's access list.

* /<profiles|families|cases>/<id>/access-request (+POST): ask the lead team for access, with a reason; POST
  /<kind>/<id>/break-glass: emergency access (a reason; audited, the lead team told). For someone who sees the
  record as "No access" (a signpost). The page itself shows nothing of the record, so it reads the same for
  any id; the owning service decides on POST (no such record: the one "Page not found").
* /access-requests: requests waiting for my teams (the inbox) and my own, each with its status;
  /access-requests/<id>: approve (level, expiry) or deny (a reason) — the lead team — or withdraw (the requester).
* /transfers: records offered to my teams, and those my teams offered; /transfers/<id>: accept (consent
  confirmed) or reject (a reason) — the receiving team — or cancel (the sending team).

The permissions service decides who may see and decide each (docs/sharing.md); a request or transfer the
caller may not see is the same "Page not found" as one that does not exist. GOV.UK forms, no JavaScript.
"""
import functools
import re

from werkzeug.utils import redirect

from concord_common import record_types
from concord_common.errors import Conflict, NotFound, ValidationFailed
from gateway.http import together
from gateway.web.home_pages import record_href
from gateway.web.profile_forms import Errors, first_message, friendly, valid_uuid
from gateway.web.profile_views import render, web_page, when
from gateway.web.record_access_pages import LEVELS, expires_at_from
from gateway.web.words import words as words_for

RECORD = f"/<any({', '.join(record_types.paths())}):kind>/<record_id>"
STATUS_WORDS = {"pending": ("Waiting", "govuk-tag--yellow"), "approved": ("Approved", "govuk-tag--green"),
                "denied": ("Refused", "govuk-tag--red"), "withdrawn": ("Withdrawn", "govuk-tag--grey"),
                "accepted": ("Accepted", "govuk-tag--green"), "rejected": ("Refused", "govuk-tag--red"),
                "cancelled": ("Cancelled", "govuk-tag--grey"), "superseded": ("Replaced", "govuk-tag--grey")}
CONSENT_CHOICES = [("given", "They gave consent"), ("not_sought", "Consent was not sought"),
                   ("refused", "They refused consent"), ("overridden", "Their refusal was overridden")]
NOT_FOUND = {"title": "Page not found",
             "detail": "If you typed the web address, check it is correct. If you followed a link or pasted the "
                       "address, the page may not exist, or you may not have access to it.",
             "back_href": "/", "back_text": "Go to your home page"}
INBOX_LIMIT = "100"
SHARING_PAGE = re.compile(rf"/({'|'.join(record_types.paths())})/[0-9a-fA-F-]{{36}}/sharing")


def access_not_found():
    return render("error.html", 404, **NOT_FOUND)


def access_page(method, url):
    """web_page, with one "Page not found" for ids that are not ids, absent, or not the caller's to see."""
    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, principal, **values):
            if any(key.endswith("_id") and not valid_uuid(value) for key, value in values.items()):
                return access_not_found()
            try:
                return fn(self, request, principal, **values)
            except NotFound:
                return access_not_found()
        return web_page(method, url)(handler)
    return decorate


def with_links(item: dict) -> dict:
    """An access request or transfer, with where its record opens and its status in words."""
    record = item["record"]
    registered = record_types.by_name(record["type"])
    words, colour = STATUS_WORDS.get(item["status"], (words_for(item["status"]), "govuk-tag--grey"))
    return {**item, "href": record_href(record["type"], record["id"]), "status_text": words,
            "status_colour": colour, "noun": registered.singular if registered else "record"}


class AccessPages:
    # -- ask for access, or break the glass ---------------------------------------------------------------------
    def _ap_request_form(self, principal, kind, record_id, form=None, errors=None, status=200, asked=None):
        registered = record_types.by_path(kind)
        return render("record_request_access.html", status, title=f"Get access to this {registered.singular}",
                      kind=kind, record_id=record_id, noun=registered.singular, form=form or {}, asked=asked,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @access_page("GET", RECORD + "/access-request")
    def web_access_request_form(self, request, principal, kind, record_id):
        return self._ap_request_form(principal, kind, record_id)

    @access_page("POST", RECORD + "/access-request")
    def web_access_request(self, request, principal, kind, record_id):
        registered = record_types.by_path(kind)
        reason = (request.form.get("reason") or "").strip()
        errors = Errors(["reason"])
        if not reason:
            errors.add("reason", f"Enter why you need access to this {registered.singular}")
        else:
            try:
                asked = self.remote.call(registered.service, "request_access", registered.name, record_id,
                                         {"reason": reason})
            except ValidationFailed as exc:
                errors.add("reason", friendly(first_message(exc.errors.get("reason") or [exc.detail]),
                                              "Reason", value=reason))
            except Conflict as exc:           # they can already see it, or their own team leads it
                errors.add("reason", exc.detail.rstrip("."))
            else:
                return self._ap_request_form(principal, kind, record_id, asked=asked)
        return self._ap_request_form(principal, kind, record_id, {"reason": reason}, errors, 422)

    @access_page("POST", RECORD + "/break-glass")
    def web_break_glass(self, request, principal, kind, record_id):
        registered = record_types.by_path(kind)
        reason = (request.form.get("glass_reason") or "").strip()
        errors = Errors(["glass_reason"])
        if not reason:
            errors.add("glass_reason", "Enter why you need emergency access now")
        else:
            try:
                granted = self.remote.call(registered.service, "break_glass", registered.name, record_id,
                                           {"reason": reason})
            except ValidationFailed as exc:
                errors.add("glass_reason", friendly(first_message(exc.errors.get("reason") or [exc.detail]),
                                                    "Reason", value=reason))
            else:
                href = record_href(registered.name, record_id)
                if href:
                    return redirect(f"{href}?emergency=1", code=303)
                return render("error.html", 200, title="You have emergency access",
                              detail=f"You may view this {registered.singular} until "
                                     f"{when(granted['expires_at'])}. Its lead team has been told.",
                              back_href="/", back_text="Go to your home page")
        return self._ap_request_form(principal, kind, record_id, {"glass_reason": reason}, errors, 422)

    # -- access requests ----------------------------------------------------------------------------------------
    @access_page("GET", "/access-requests")
    def web_access_requests(self, request, principal):
        found = together(
            incoming=lambda: self.remote.call("permissions", "list_access_requests", status="pending",
                                              direction="incoming", limit=INBOX_LIMIT),
            decided=lambda: self.remote.call("permissions", "list_access_requests", direction="incoming",
                                             limit="20"),
            mine=lambda: self.remote.call("permissions", "list_access_requests", direction="outgoing",
                                          limit="50"))
        done = request.args.get("done")
        return render("access_requests.html", title="Access requests", nav="requests",
                      incoming=[with_links(item) for item in found["incoming"]["items"]],
                      more=bool(found["incoming"]["next_cursor"]),
                      decided=[with_links(item) for item in found["decided"]["items"] if item["status"] != "pending"],
                      mine=[with_links(item) for item in found["mine"]["items"]],
                      done=done if done in ("approved", "denied", "withdrawn") else None,
                      in_team=bool(principal.get("teams")), csrf_token=principal.get("csrf_token"))

    def _ap_request_page(self, principal, request_id, form=None, errors=None, status=200):
        item = with_links(self.remote.call("permissions", "get_access_request", request_id))
        return render("access_request.html", status, title=f"Access request from {item['requester']['display_name']}",
                      nav="requests", item=item, levels=LEVELS,
                      form=form or {"level": "view", "expires-day": "", "expires-month": "", "expires-year": ""},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @access_page("GET", "/access-requests/<request_id>")
    def web_access_request_page(self, request, principal, request_id):
        return self._ap_request_page(principal, request_id)

    @access_page("POST", "/access-requests/<request_id>/approve")
    def web_approve_access(self, request, principal, request_id):
        form = {key: (request.form.get(key) or "").strip() for key in (
            "level", "expires-day", "expires-month", "expires-year", "note")}
        errors = Errors(["level", "expires-day", "expires-month", "expires-year"])
        if form["level"] not in dict(LEVELS):
            errors.add("level", "Select what they may do with it")
        expires_at, message, box = expires_at_from(form)
        if message:
            errors.add(f"expires-{box}", message)
        if not errors:
            try:
                self.remote.call("permissions", "approve_access_request", request_id,
                                 {"level": form["level"], "expires_at": expires_at, "note": form["note"] or None})
                return redirect("/access-requests?done=approved", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    field = "expires-day" if path == "expires_at" else "level"
                    errors.add(field, friendly(first_message(messages), "The date access ends"
                                               if field == "expires-day" else "What they may do"))
            except Conflict as exc:
                errors.add("level", exc.detail.rstrip("."))
        return self._ap_request_page(principal, request_id, form, errors, 422)

    @access_page("POST", "/access-requests/<request_id>/deny")
    def web_deny_access(self, request, principal, request_id):
        note = (request.form.get("deny_note") or "").strip()
        errors = Errors(["deny_note"])
        if not note:
            errors.add("deny_note", "Enter why you are refusing access")
        else:
            try:
                self.remote.call("permissions", "deny_access_request", request_id, {"note": note})
                return redirect("/access-requests?done=denied", code=303)
            except ValidationFailed as exc:
                errors.add("deny_note", friendly(first_message(next(iter(exc.errors.values()), [exc.detail])),
                                                 "Reason", value=note))
            except Conflict as exc:
                errors.add("deny_note", exc.detail.rstrip("."))
        return self._ap_request_page(principal, request_id, {"level": "view", "deny_note": note}, errors, 422)

    @access_page("POST", "/access-requests/<request_id>/withdraw")
    def web_withdraw_access(self, request, principal, request_id):
        try:
            self.remote.call("permissions", "withdraw_access_request", request_id, {})
        except Conflict as exc:
            errors = Errors(["withdraw"])
            errors.add("withdraw", exc.detail.rstrip("."))
            return self._ap_request_page(principal, request_id, None, errors, 409)
        return redirect("/access-requests?done=withdrawn#yours", code=303)

    # -- transfers of the lead ----------------------------------------------------------------------------------
    @access_page("GET", "/transfers")
    def web_transfers(self, request, principal):
        found = together(
            incoming=lambda: self.remote.call("permissions", "list_transfers", status="pending",
                                              direction="incoming", limit=INBOX_LIMIT),
            outgoing=lambda: self.remote.call("permissions", "list_transfers", direction="outgoing", limit="50"))
        done = request.args.get("done")
        return render("transfers.html", title="Transfers", nav="transfers",
                      incoming=[with_links(item) for item in found["incoming"]["items"]],
                      more=bool(found["incoming"]["next_cursor"]),
                      outgoing=[with_links(item) for item in found["outgoing"]["items"]],
                      done=done if done in ("accepted", "rejected", "cancelled") else None,
                      csrf_token=principal.get("csrf_token"))

    def _ap_transfer_page(self, principal, transfer_id, form=None, errors=None, status=200):
        item = with_links(self.remote.call("permissions", "get_transfer", transfer_id))
        return render("transfer.html", status, title=f"Take the lead of this {item['noun']}?", nav="transfers",
                      item=item, consent_choices=CONSENT_CHOICES, form=form or {},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @access_page("GET", "/transfers/<transfer_id>")
    def web_transfer_page(self, request, principal, transfer_id):
        return self._ap_transfer_page(principal, transfer_id)

    @access_page("POST", "/transfers/<transfer_id>/accept")
    def web_accept_transfer(self, request, principal, transfer_id):
        form = {key: (request.form.get(key) or "").strip() for key in (
            "consent_status", "consent_detail", "confirmed", "is_person")}
        errors = Errors(["consent_status", "consent_detail", "confirmed"])
        payload = {}
        if form["is_person"] == "1":
            if form["consent_status"] not in dict(CONSENT_CHOICES):
                errors.add("consent_status", "Select what the person said about sharing their record")
            elif form["consent_status"] == "overridden" and not form["consent_detail"]:
                errors.add("consent_detail", "Enter why their refusal was overridden")
            payload["consent"] = {"status": form["consent_status"], "detail": form["consent_detail"] or None}
        if form["confirmed"] != "yes":
            errors.add("confirmed", "Confirm that you have checked consent and will lead this record")
        if not errors:
            try:
                self.remote.call("permissions", "accept_transfer", transfer_id, payload)
                return redirect("/transfers?done=accepted", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    field = "consent_detail" if path.endswith("detail") else "consent_status"
                    errors.add(field, friendly(first_message(messages), "Consent"))
            except Conflict as exc:
                errors.add("confirmed", exc.detail.rstrip("."))
        return self._ap_transfer_page(principal, transfer_id, form, errors, 422)

    @access_page("POST", "/transfers/<transfer_id>/reject")
    def web_reject_transfer(self, request, principal, transfer_id):
        note = (request.form.get("reject_note") or "").strip()
        errors = Errors(["reject_note"])
        if not note:
            errors.add("reject_note", "Enter why your team will not take the lead")
        else:
            try:
                self.remote.call("permissions", "reject_transfer", transfer_id, {"note": note})
                return redirect("/transfers?done=rejected", code=303)
            except ValidationFailed as exc:
                errors.add("reject_note", friendly(first_message(next(iter(exc.errors.values()), [exc.detail])),
                                                   "Reason", value=note))
            except Conflict as exc:
                errors.add("reject_note", exc.detail.rstrip("."))
        return self._ap_transfer_page(principal, transfer_id, {"reject_note": note}, errors, 422)

    @access_page("POST", "/transfers/<transfer_id>/cancel")
    def web_cancel_transfer(self, request, principal, transfer_id):
        back = request.form.get("return_to") or ""
        try:
            self.remote.call("permissions", "cancel_transfer", transfer_id, {})
        except Conflict as exc:
            errors = Errors(["cancel"])
            errors.add("cancel", exc.detail.rstrip("."))
            return self._ap_transfer_page(principal, transfer_id, None, errors, 409)
        if SHARING_PAGE.fullmatch(back):
            return redirect(f"{back}?transfer_cancelled=1", code=303)
        return redirect("/transfers?done=cancelled", code=303)
