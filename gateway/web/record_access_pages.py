"""Share a record with tick boxes: one page for every record type (cases, profiles, families).

/<cases|profiles|families>/<id>/sharing shows who may see the record and lets its lead team tick teams or
whole organisations from the directory, with a level, a lawful basis, an expiry and (where no sharing
agreement covers the organisation, or consent was refused) a justification; each grant can be revoked.
GOV.UK checkboxes and a plain form post: no JavaScript. The owning service decides, through the same record
access RPCs as the API (`add_grant`, `revoke_grant`, `get_access`; gateway/routes/records.py): someone who
may not share gets "You cannot do this", a record they may not see the one "Page not found".
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Callable

import eventlet
from werkzeug.utils import redirect

from concord_common import record_types
from concord_common.errors import Forbidden, ValidationFailed
from gateway.http import together
from gateway.web.profile_forms import Errors, date_from_parts, first_message, friendly, valid_uuid
from gateway.web.profile_views import not_found, render, web_page

LEVELS = [("view", "View it"), ("edit", "View and change it")]
BANNERS = ("restricted", "unrestricted", "transfer_asked", "transfer_cancelled")
RECORD_BASE = f"/<any({', '.join(record_types.paths())}):kind>/<record_id>"
RECORD = RECORD_BASE + "/sharing"


@dataclass(frozen=True)
class RecordPage:
    service: str
    rpc: str                                # the read that answers the record as the caller sees it
    heading: Callable[[dict], str]
    back: Callable[[dict], str]


PAGES = {
    "case": RecordPage("cases", "get_case", lambda r: f"{r['reference']}: {r['title']}", lambda r: f"/cases/{r['id']}"),
    "profile": RecordPage("profiles", "get_profile", lambda r: r["display_name"], lambda r: f"/profiles/{r['id']}"),
    "family": RecordPage("profiles", "get_family", lambda r: r["name"], lambda r: f"/families/{r['id']}"),
}


def expires_at_from(form) -> tuple[str | None, str | None, str | None]:
    """The expiry date's boxes -> (end of that day in UTC, error, the box to point at)."""
    day, error, box = date_from_parts(form["expires-day"], form["expires-month"], form["expires-year"],
                                      "The date access ends")
    if error:
        return None, error, box
    if day is None:
        return None, None, None
    if date.fromisoformat(day) < datetime.now(timezone.utc).date():
        return None, "The date access ends must be today or in the future", "day"
    return datetime.combine(date.fromisoformat(day), time(23, 59, 59), timezone.utc).isoformat(), None, None


class RecordAccessPages:
    def _ra_context(self, kind, record_id):
        """(registered type, page, record, answers) — NotFound from the services for a record the caller may not
        see. `access` is None for someone who may view but not manage it (they see who leads it and why they
        can see it); `transfer` is the record's pending transfer, if the caller's team offered one."""
        registered = record_types.by_path(kind)
        page = PAGES[registered.name]
        record = self.remote.call(page.service, page.rpc, record_id)

        def access():
            try:
                return self.remote.call(registered.service, "get_access", registered.name, record_id)
            except Forbidden:
                return None

        def pending_transfer():
            offered = self.remote.call("permissions", "list_transfers", status="pending", direction="outgoing",
                                       limit="100")["items"]
            return next((item for item in offered if item["record"]["id"] == record["id"]), None)
        found = together(access=access, directory=self._ra_directory, transfer=pending_transfer,
                         why=lambda: self.remote.call(registered.service, "why", registered.name, record_id))
        return registered, page, record, found

    def _ra_directory(self) -> list[dict]:
        """Every organisation with its teams (asked side by side)."""
        organisations = self.remote.call("permissions", "list_organisations")["items"]
        details = eventlet.GreenPool(8).imap(
            lambda org: self.remote.call("permissions", "get_organisation", org["id"]), organisations)
        return [{"id": org["id"], "name": org["name"], "teams": detail.get("teams") or []}
                for org, detail in zip(organisations, details)]

    def _ra_page(self, principal, kind, record_id, form=None, errors=None, status=200, shared=None, revoked=False,
                 banner=None):
        registered, page, record, found = self._ra_context(kind, record_id)
        access, directory, why = found["access"], found["directory"], found["why"]
        names = {}
        for organisation in directory:
            names[("organisation", organisation["id"])] = organisation["name"]
            for team in organisation["teams"]:
                names[("team", team["id"])] = f"{team['name']} ({organisation['name']})"
        owner = access["owner"] if access else record["owner"]
        lead_team = owner["team_id"]
        grants = [{**grant, "grantee_name": names.get((grant["grantee_type"], grant["grantee_id"]))
                   or ("A person" if grant["grantee_type"] == "user" else "Not in the directory")}
                  for grant in (access or {}).get("grants", []) if grant["status"] == "active"]
        choices = [{"name": org["name"], "options": [(f"organisation:{org['id']}", f"All of {org['name']}")] + [
            (f"team:{team['id']}", team["name"]) for team in org["teams"] if team["id"] != lead_team]}
            for org in directory]
        teams = [{"name": org["name"], "options": [(team["id"], team["name"]) for team in org["teams"]
                                                   if team["id"] != lead_team]} for org in directory]
        return render("record_sharing.html", status, title=f"Who can see this {registered.singular}",
                      nav=registered.name, kind=kind, noun=registered.singular, record_id=record_id,
                      heading=page.heading(record), back=page.back(record), owner=owner,
                      lead_team=names.get(("team", lead_team)), manages=access is not None,
                      can_share=bool(why.get("can_share")), why=why,
                      restricted=access["restricted"] if access else bool(why.get("restricted")), grants=grants,
                      choices=choices, teams=[org for org in teams if org["options"]], levels=LEVELS,
                      transfer=found["transfer"],
                      form=form or {"grantee": [], "level": "view"}, shared=shared, revoked=revoked, banner=banner,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", RECORD)
    def web_record_sharing(self, request, principal, kind, record_id):
        if not valid_uuid(record_id):
            return not_found()
        shared = request.args.get("shared")
        banner = next((name for name in BANNERS if request.args.get(name) == "1"), None)
        return self._ra_page(principal, kind, record_id, shared=int(shared) if (shared or "").isdigit() else None,
                             revoked=request.args.get("revoked") == "1", banner=banner)

    @web_page("POST", RECORD)
    def web_record_share(self, request, principal, kind, record_id):
        if not valid_uuid(record_id):
            return not_found()
        form = {key: (request.form.get(key) or "").strip() for key in (
            "level", "lawful_basis", "justification", "expires-day", "expires-month", "expires-year")}
        form["grantee"] = [value for value in request.form.getlist("grantee") if ":" in value]
        errors = Errors(["grantee", "level", "lawful_basis", "expires-day", "expires-month", "expires-year",
                         "justification"])
        if not form["grantee"]:
            errors.add("grantee", "Select the teams or organisations to share it with")
        if form["level"] not in dict(LEVELS):
            errors.add("level", "Select what they may do with it")
        if not form["lawful_basis"]:
            errors.add("lawful_basis", "Enter the lawful basis for sharing")
        expires_at, message, box = expires_at_from(form)
        if message:
            errors.add(f"expires-{box}", message)
        if errors:
            return self._ra_page(principal, kind, record_id, form, errors, 422)
        registered = record_types.by_path(kind)
        done, left = 0, []
        for value in form["grantee"]:
            grantee_type, grantee_id = value.split(":", 1)
            payload = {"grantee_type": grantee_type, "grantee_id": grantee_id, "level": form["level"],
                       "lawful_basis": form["lawful_basis"], "expires_at": expires_at,
                       "justification": form["justification"] or None}
            try:
                self.remote.call(registered.service, "add_grant", registered.name, record_id, payload)
                done += 1
            except ValidationFailed as exc:
                left.append(value)
                for path, messages in exc.errors.items():
                    field = path if path in ("level", "lawful_basis", "justification") else \
                        ("expires-day" if path == "expires_at" else "grantee")
                    label = {"lawful_basis": "Lawful basis", "justification": "Justification",
                             "expires-day": "The date access ends"}.get(field, "Who to share it with")
                    errors.add(field, friendly(first_message(messages), label, value=form.get(field)))
        if not errors:
            return redirect(f"/{kind}/{record_id}/sharing?shared={done}", code=303)
        return self._ra_page(principal, kind, record_id, {**form, "grantee": left}, errors, 422,
                             shared=done or None)

    @web_page("POST", RECORD + "/<grant_id>/revoke")
    def web_record_unshare(self, request, principal, kind, record_id, grant_id):
        if not (valid_uuid(record_id) and valid_uuid(grant_id)):
            return not_found()
        registered = record_types.by_path(kind)
        self.remote.call(registered.service, "revoke_grant", registered.name, record_id, grant_id)
        return redirect(f"/{kind}/{record_id}/sharing?revoked=1", code=303)

    # -- restrict, and hand the lead to another team ------------------------------------------------------------
    @web_page("POST", RECORD_BASE + "/restriction")
    def web_record_restrict(self, request, principal, kind, record_id):
        if not valid_uuid(record_id):
            return not_found()
        restrict = request.form.get("restricted") == "yes"
        registered = record_types.by_path(kind)
        self.remote.call(registered.service, "set_restricted", registered.name, record_id, {"restricted": restrict})
        return redirect(f"/{kind}/{record_id}/sharing?{'restricted' if restrict else 'unrestricted'}=1", code=303)

    @web_page("POST", RECORD_BASE + "/transfer")
    def web_record_transfer(self, request, principal, kind, record_id):
        if not valid_uuid(record_id):
            return not_found()
        form = {key: (request.form.get(key) or "").strip() for key in ("to_team_id", "transfer_note")}
        errors = Errors(["to_team_id", "transfer_note"])
        if not valid_uuid(form["to_team_id"]):
            errors.add("to_team_id", "Select the team that should lead it")
        if not form["transfer_note"]:
            errors.add("transfer_note", "Enter why the lead should move to that team")
        if not errors:
            registered = record_types.by_path(kind)
            try:
                self.remote.call(registered.service, "request_transfer", registered.name, record_id,
                                 {"to_team_id": form["to_team_id"], "note": form["transfer_note"]})
                return redirect(f"/{kind}/{record_id}/sharing?transfer_asked=1", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    field = "transfer_note" if path == "note" else "to_team_id"
                    errors.add(field, friendly(first_message(messages), "Why" if field == "transfer_note"
                                               else "The team that should lead it", value=form.get(field)))
        return self._ra_page(principal, kind, record_id, form={"grantee": [], "level": "view", **form},
                             errors=errors, status=422)
