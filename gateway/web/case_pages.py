"""The practitioners' case pages: the case list, open a case (from a profile or a family), a case, add a
participant, add a note, close and reopen.

Server-rendered with GOV.UK Frontend, usable without JavaScript; they sign in, check CSRF and render as the
profile pages do (profile_views.web_page). The cases service decides who may see what: a case the caller
may not see renders the same "Page not found" as an id that does not exist.

Routes (GET unless said): /cases, /cases/new (+POST), /cases/<id>, POST /cases/<id>/notes,
/cases/<id>/participants/new (+POST), POST /cases/<id>/participants/<pid>/end, /cases/<id>/close (+POST),
/cases/<id>/reopen (+POST).
"""
import functools
from urllib.parse import urlencode

from werkzeug.utils import redirect

from concord_common.errors import Conflict, NotFound, ValidationFailed
from concord_common.sizes import human_size
from gateway.directory_names import NAMES
from gateway.http import together
from gateway.routes.attachments import max_file_bytes
from gateway.web.profile_forms import Errors, first_message, friendly, valid_uuid
from gateway.web.profile_views import render, templates, web_page
from gateway.web.words import words

PRIORITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]
PRIORITY_COLOURS = {"low": "govuk-tag--grey", "medium": "govuk-tag--blue", "high": "govuk-tag--orange",
                    "critical": "govuk-tag--red"}
OUTCOMES = [("resolved", "Resolved"), ("no_further_action", "No further action"),
            ("referred_elsewhere", "Referred elsewhere"), ("escalated", "Escalated"), ("withdrawn", "Withdrawn"),
            ("other", "Other")]
NOTE_KINDS = [("update", "Update"), ("contact", "Contact"), ("meeting", "Meeting"), ("decision", "Decision"),
              ("third_party", "Third-party information")]
CASE_ROLES = {"subject": "Subject", "victim": "Victim", "perpetrator": "Perpetrator", "offender": "Offender",
              "witness": "Witness", "complainant": "Complainant", "household_member": "Household member",
              "young_person": "Young person", "carer": "Carer", "premises_of_concern": "Premises of concern",
              "other": "Other"}
SORTABLE = [("reference", "Reference"), ("title", None), ("case_type", None), ("priority", "Priority"),
            ("status", None), ("review_due", "Review due")]
LIST_PAGE_SIZE = 25
NOT_FOUND = {"title": "Page not found",
             "detail": "If you typed the web address, check it is correct. If you followed a link or pasted "
                       "the address, the case may not exist, or you may not have access to it.",
             "back_href": "/cases", "back_text": "Go to cases"}
templates.filters.update(
    priority_label=lambda value: dict(PRIORITIES).get(value) or words(value),
    priority_colour=lambda value: PRIORITY_COLOURS.get(value, ""),
    outcome_label=lambda value: dict(OUTCOMES).get(value) or words(value),
    note_kind_label=lambda value: dict(NOTE_KINDS).get(value) or words(value),
    case_role_label=lambda value: CASE_ROLES.get(value) or words(value))


def case_not_found():
    return render("error.html", 404, **NOT_FOUND)


def case_page(method, url):
    """web_page, with the cases' own "Page not found" (the same for absent and not yours)."""
    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, principal, **values):
            if any(key.endswith("_id") and not valid_uuid(value) for key, value in values.items()):
                return case_not_found()
            try:
                return fn(self, request, principal, **values)
            except NotFound:
                return case_not_found()
        return web_page(method, url)(handler)
    return decorate


class CasePages:
    def _cp_types(self) -> list[dict]:
        return self.remote.call("cases", "list_case_types")["items"]

    # -- the list ---------------------------------------------------------------------------------------------
    @case_page("GET", "/cases")
    def web_cases(self, request, principal):
        args = request.args
        form = {key: (args.get(key) or "").strip() for key in ("q", "status", "case_type", "priority", "team_id",
                                                                 "review_overdue", "sort", "cursor")}
        form["status"] = form["status"] if "status" in args else "open"
        params = {key: value for key, value in form.items() if value and key != "cursor"}
        params.update({"limit": str(LIST_PAGE_SIZE), "cursor": form["cursor"] or "0"})
        errors = Errors(["q"])
        found = together(types=self._cp_types, organisations=lambda: NAMES.organisation_names(self.remote))
        answer = {"items": [], "next_cursor": None}
        try:
            answer = self.remote.call("cases", "list_cases", params)
        except ValidationFailed as exc:
            for path, messages in exc.errors.items():
                errors.add("q", friendly(first_message(messages), "Reference or title" if path == "q" else path,
                                         value=form.get("q")))
        query = {key: value for key, value in form.items() if value and key != "cursor"}
        sort = form["sort"] or "-opened_at"

        def sort_link(column):
            wanted = column if sort != column else f"-{column}"
            return "/cases?" + urlencode({**query, "sort": wanted})
        sorting = {column: {"href": sort_link(column), "aria": "ascending" if sort == column else
                            ("descending" if sort == f"-{column}" else "none")} for column, _ in SORTABLE}
        cursor = int(form["cursor"]) if form["cursor"].isdigit() else 0
        paging = {"next": "/cases?" + urlencode({**query, "cursor": answer["next_cursor"]})
                  if answer["next_cursor"] else None,
                  "previous": "/cases?" + urlencode({**query, "cursor": str(max(0, cursor - LIST_PAGE_SIZE))})
                  if cursor else None}
        return render("cases_list.html", 422 if errors else 200, title="Cases", nav="cases", form=form,
                      types=found["types"], type_labels={t["code"]: t["label"] for t in found["types"]},
                      organisations=found["organisations"], teams=principal.get("teams") or [],
                      results=answer["items"], sorting=sorting, paging=paging, errors=errors.by_field,
                      error_summary=errors.summary(), csrf_token=principal.get("csrf_token"))

    # -- open a case ------------------------------------------------------------------------------------------
    @case_page("GET", "/cases/new")
    def web_case_new(self, request, principal):
        return self._cp_new_form(principal, {key: request.args.get(key, "") for key in ("profile_id", "family_id")})

    def _cp_new_form(self, principal, form, errors: Errors | None = None, status=200):
        found = together(types=self._cp_types, about=lambda: self._cp_about(form))
        return render("case_new.html", status, title="Open a case", nav="cases", form=form,
                      types=[t for t in found["types"] if t["active"]], about=found["about"],
                      roles=CASE_ROLES, priorities=PRIORITIES, teams=principal.get("teams") or [],
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    def _cp_about(self, form):
        """The profile or family the case is opened from (404 if the caller may not see it)."""
        if form.get("profile_id"):
            if not valid_uuid(form["profile_id"]):
                raise NotFound()
            profile = self.remote.call("profiles", "get_profile", form["profile_id"])
            return {"kind": "profile", "id": profile["id"], "name": profile["display_name"]}
        if form.get("family_id"):
            if not valid_uuid(form["family_id"]):
                raise NotFound()
            family = self.remote.call("profiles", "get_family", form["family_id"])
            return {"kind": "family", "id": family["id"], "name": family["name"]}
        return None

    @case_page("POST", "/cases/new")
    def web_case_create(self, request, principal):
        names = ("case_type", "title", "summary", "priority", "owner_team_id", "profile_id", "family_id", "role")
        form = {key: (request.form.get(key) or "").strip() for key in names}
        payload = {key: form[key] for key in ("case_type", "title", "summary", "priority", "owner_team_id")
                   if form[key]}
        payload.setdefault("case_type", "")
        payload.setdefault("title", "")
        about = "profile_id" if form["profile_id"] else ("family_id" if form["family_id"] else None)
        if about:
            payload["participants"] = [{about: form[about], "role": form["role"] or "missing"}]
        errors = Errors(["case_type", "title", "summary", "priority", "role", "owner_team_id"])
        try:
            created = self.remote.call("cases", "create_case", payload)
        except ValidationFailed as exc:
            labels = {"case_type": ("Type of case", "Select the type of case"), "title": ("Title", "Enter a title"),
                      "summary": ("Summary", None), "priority": ("Priority", "Select a priority"),
                      "owner_team_id": ("Lead team", "Select the team that leads this case")}
            for path, messages in exc.errors.items():
                field = "role" if path.startswith("participants") else path
                label, missing = labels.get(field, ("Their role on the case", "Select their role on the case"))
                message = missing if field == "role" and form["role"] == "" else \
                    friendly(first_message(messages), label, missing, value=form.get(field))
                errors.add(field if field in labels or field == "role" else "title", message)
            return self._cp_new_form(principal, form, errors, 422)
        return redirect(f"/cases/{created['id']}?created=1", code=303)

    # -- one case ---------------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>")
    def web_case(self, request, principal, case_id):
        return self._cp_case_page(principal, case_id, request.args)

    def _cp_case_page(self, principal, case_id, args, status=200, errors=None, note_form=None, action_form=None):
        # The cases service's parts in one call (services/cases/case_page.py), then the directory's in parallel.
        cursor = args.get("timeline_cursor") or None
        page = self.remote.call("cases", "case_page", case_id, {"cursor": cursor} if cursor else {})
        case = page["case"]
        found = {**together(organisations=lambda: NAMES.organisation_names(self.remote),
                            team=lambda: NAMES.team(self.remote, case["owner"]["team_id"])),
                 **{part: page[part] for part in ("why", "notes", "timeline", "documents")},
                 "asb": {"powers": page["powers"], "complaints": page["complaints"]}}
        grants = page["grants"]
        teams = {grant["grantee_id"]: NAMES.team_name(self.remote, grant["grantee_id"])
                 for grant in grants if grant["grantee_type"] == "team"}
        banner = next((flag for flag in ("created", "noted", "added", "ended", "closed", "reopened", "uploaded",
                                         "power", "breach", "complaint", "emergency", "actioned", "action_changed")
                       if args.get(flag) == "1"), None)
        lead = case["owner"]["team_id"] in {team.get("id") for team in principal.get("teams") or []}
        return render("case.html", status, title=f"{case['reference']}: {case['title']}", nav="case", case=case,
                      type_labels={t["code"]: t["label"] for t in page["types"]}, why=found["why"],
                      can_edit=bool(found["why"].get("can_edit")), is_lead=lead, notes=found["notes"],
                      timeline=found["timeline"], organisations=found["organisations"], team=found["team"],
                      grants=[g for g in grants if g["status"] == "active"], grant_teams=teams, banner=banner,
                      note_kinds=NOTE_KINDS, note_form=note_form or {"kind": "update"},
                      documents=found["documents"], asb=found["asb"], max_upload=human_size(max_file_bytes(self)),
                      **self._ap_case_section(page["actions"], bool(found["why"].get("can_edit")), grants, teams,
                                              found["team"], found["organisations"], action_form),   # action_pages.py
                      errors=(errors.by_field if errors else {}), error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/notes")
    def web_case_add_note(self, request, principal, case_id):
        form = {key: (request.form.get(key) or "").strip() for key in ("text", "kind")}
        form["sensitive"] = request.form.get("sensitive") == "yes"
        payload = {"text": form["text"], "kind": form["kind"] or "update", "sensitive": form["sensitive"]}
        try:
            self.remote.call("cases", "add_note", case_id, payload)
        except ValidationFailed as exc:
            errors = Errors(["note-text", "note-kind", "note-sensitive"])
            for path, messages in exc.errors.items():
                label = {"text": "Note", "kind": "Kind of note", "sensitive": "Sensitive"}.get(path, "Note")
                errors.add(f"note-{path}" if path in ("text", "kind", "sensitive") else "note-text",
                           friendly(first_message(messages), label, "Enter the note", value=form.get(path)))
            return self._cp_case_page(principal, case_id, {}, 422, errors, form)
        return redirect(f"/cases/{case_id}?noted=1#notes", code=303)

    # -- participants -----------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/participants/new")
    def web_case_participant_new(self, request, principal, case_id):
        return self._cp_participant_form(principal, case_id, {"q": (request.args.get("q") or "").strip()})

    def _cp_participant_form(self, principal, case_id, form, errors=None, status=200):
        case = self.remote.call("cases", "get_case", case_id)
        types = {t["code"]: t for t in self._cp_types()}
        results, search_error = None, None
        if form.get("q"):
            try:
                found = self.remote.call("profiles", "search_profiles", {"q": form["q"], "limit": "20"})["items"]
                results = [item for item in found if item["access"] == "full"]
            except ValidationFailed:
                search_error = "Enter at least 2 letters of a name"
        roles = [(role, CASE_ROLES.get(role, role)) for role in types[case["case_type"]]["participant_roles"]]
        if search_error:
            errors = errors or Errors(["q"])
            errors.add("q", search_error)
        return render("case_participant_new.html", 422 if errors else status, title="Add someone to the case",
                      nav="case", case=case, form=form, results=results, roles=roles,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/participants")
    def web_case_participant_add(self, request, principal, case_id):
        form = {key: (request.form.get(key) or "").strip() for key in ("q", "profile_id", "role")}
        errors = Errors(["profile_id", "role"])
        if not valid_uuid(form["profile_id"]):
            errors.add("profile_id", "Select the person or premises to add")
        if not form["role"]:
            errors.add("role", "Select their role on the case")
        if not errors:
            try:
                self.remote.call("cases", "add_participant", case_id, {"profile_id": form["profile_id"],
                                                                    "role": form["role"]})
                return redirect(f"/cases/{case_id}?added=1#participants", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    errors.add("role" if path == "role" else "profile_id", first_message(messages).rstrip("."))
            except Conflict as exc:
                errors.add("role", exc.detail.rstrip("."))
        return self._cp_participant_form(principal, case_id, form, errors, 422)

    @case_page("POST", "/cases/<case_id>/participants/<participant_id>/end")
    def web_case_participant_end(self, request, principal, case_id, participant_id):
        self.remote.call("cases", "end_participant", case_id, participant_id)
        return redirect(f"/cases/{case_id}?ended=1#participants", code=303)

    # -- close and reopen -------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/close")
    def web_case_close_form(self, request, principal, case_id):
        return self._cp_status_form(principal, case_id, "close", {})

    @case_page("GET", "/cases/<case_id>/reopen")
    def web_case_reopen_form(self, request, principal, case_id):
        return self._cp_status_form(principal, case_id, "reopen", {})

    def _cp_status_form(self, principal, case_id, action, form, errors=None, status=200):
        case = self.remote.call("cases", "get_case", case_id)
        open_actions = self.remote.call("cases", "case_actions", case_id, {"limit": "1"})["counts"]["active"] \
            if action == "close" else 0
        return render("case_status.html", status, title=f"{'Close' if action == 'close' else 'Reopen'} "
                      f"{case['reference']}", nav="case", case=case, action=action, form=form,
                      outcomes=OUTCOMES, open_actions=open_actions, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/close")
    def web_case_close(self, request, principal, case_id):
        return self._cp_status_change(request, principal, case_id, "close")

    @case_page("POST", "/cases/<case_id>/reopen")
    def web_case_reopen(self, request, principal, case_id):
        return self._cp_status_change(request, principal, case_id, "reopen")

    def _cp_status_change(self, request, principal, case_id, action):
        form = {key: (request.form.get(key) or "").strip() for key in ("outcome", "note", "reason")}
        payload = {"outcome": form["outcome"] or None, "note": form["note"] or None} if action == "close" \
            else {"reason": form["reason"]}
        errors = Errors(["outcome", "note", "reason"])
        try:
            self.remote.call("cases", f"{action}_case", case_id, payload)
            return redirect(f"/cases/{case_id}?{'closed' if action == 'close' else 'reopened'}=1", code=303)
        except ValidationFailed as exc:
            for path, messages in exc.errors.items():
                if path == "outcome":
                    errors.add("outcome", "Select the outcome")
                elif path == "reason":
                    errors.add("reason", friendly(first_message(messages), "Reason",
                                                  "Enter why the case is being reopened", value=form["reason"]))
                else:
                    errors.add("note", friendly(first_message(messages), "Closing note", value=form["note"]))
        except Conflict as exc:
            errors.add("outcome" if action == "close" else "reason", exc.detail.rstrip("."))
        return self._cp_status_form(principal, case_id, action, form, errors, 422)
