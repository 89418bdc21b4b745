"""Actions in the practitioners' pages: the Actions section of a case page (its list and the "Add an action"
form, rendered by case_pages._cp_case_page with `_ap_case_section`), changing an action's status (and, for the
lead team, its due date), and "My actions" (/actions) with its filters and counts.

Routes: POST /cases/<id>/actions, /cases/<id>/actions/<action_id> (+POST), /actions. No JavaScript needed; every
form carries the session's CSRF token (web_page checks it). The cases service decides who may do what.
"""
from datetime import date
from urllib.parse import urlencode

from werkzeug.utils import redirect

from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gateway.web.case_pages import PRIORITIES, case_page
from gateway.web.profile_forms import Errors, first_message, friendly
from gateway.web.profile_views import render, templates
from gateway.web.words import words

ACTION_STATUSES = {"open": "Open", "in_progress": "In progress", "done": "Done", "cancelled": "Cancelled"}
STATUS_COLOURS = {"open": "govuk-tag--blue", "in_progress": "govuk-tag--light-blue", "done": "govuk-tag--green",
                  "cancelled": "govuk-tag--grey"}
CHANGES = [("in_progress", "In progress"), ("done", "Done"), ("cancelled", "Cancelled")]
# My actions: the filters a practitioner picks (view=), as the API's query parameters.
VIEWS = {"active": ("Open and in progress", {}), "overdue": ("Overdue", {"overdue": "true"}),
         "week": ("Due this week", {"due_this_week": "true"}), "done": ("Done", {"status": "done"})}
COUNTED = {"active": "active", "overdue": "overdue", "week": "due_this_week"}
ADD_FIELDS = ["action-title", "action-detail", "action-assignee", "action-due-day", "action-priority"]
templates.filters.update(action_status_label=lambda value: ACTION_STATUSES.get(value) or words(value),
                         action_status_colour=lambda value: STATUS_COLOURS.get(value, ""))


def _date_from(form, name) -> tuple[str | None, str | None]:
    """(YYYY-MM-DD, None) from a GOV.UK date input's three boxes, or (None, the error message)."""
    parts = [form.get(f"{name}-{part}", "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None, "Enter the due date"
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat(), None
    except ValueError:
        return None, "Due date must be a real date"


def _due_message(messages) -> str:
    text = first_message(messages)
    return "Due date must be today or in the future" if "past" in text else friendly(text, "Due date")


class ActionPages:
    # -- the case page's Actions section ---------------------------------------------------------------------
    def _ap_case_section(self, actions, can_edit, grants, grant_teams, lead_team, organisations,
                         action_form=None) -> dict:
        """What case.html's Actions section needs: the case's actions (read with the case page) and, for those who
        may add one, the teams that can view the case (the lead team, teams granted it, the teams of organisations
        granted it)."""
        teams = {}
        if can_edit:
            if lead_team:
                teams[lead_team["id"]] = f"{lead_team['name']} (leads the case)"
            for grant in grants:
                if grant["grantee_type"] == "team" and grant_teams.get(grant["grantee_id"]):
                    where = organisations.get(grant.get("grantee_organisation_id"))
                    teams.setdefault(grant["grantee_id"], grant_teams[grant["grantee_id"]] + (f" ({where})" if where
                                                                                               else ""))
                elif grant["grantee_type"] == "organisation":
                    try:
                        organisation = self.remote.call("permissions", "get_organisation", grant["grantee_id"])
                    except NotFound:
                        continue
                    for team in organisation.get("teams") or ():
                        teams.setdefault(team["id"], f"{team['name']} ({organisation['name']})")
        return {"actions": actions, "assignee_teams": list(teams.items()), "action_priorities": PRIORITIES,
                "action_form": action_form or {"priority": "medium"}}

    @case_page("POST", "/cases/<case_id>/actions")
    def web_case_add_action(self, request, principal, case_id):
        names = ("title", "detail", "assignee", "priority", "due-day", "due-month", "due-year")
        form = {key: (request.form.get(f"action-{key}") or "").strip() for key in names}
        errors = Errors(ADD_FIELDS)
        due, due_error = _date_from(form, "due")
        payload = {"title": form["title"], "detail": form["detail"] or None, "priority": form["priority"] or "medium",
                   "assignee": {"team_id": form["assignee"]} if form["assignee"] else {}, "due": due or "2000-01-01"}
        try:
            self.remote.call("cases", "create_action", case_id, payload)
        except ValidationFailed as exc:
            for path, messages in exc.errors.items():
                if path.startswith("assignee"):
                    errors.add("action-assignee", "Select who the action is for" if not form["assignee"]
                               else first_message(messages).rstrip("."))
                elif path == "due":
                    errors.add("action-due-day", due_error or _due_message(messages))
                elif path in ("title", "detail", "priority"):
                    label = {"title": "Action", "detail": "Detail", "priority": "Priority"}[path]
                    errors.add(f"action-{path}", friendly(first_message(messages), label, "Enter the action",
                                                          value=form.get(path)))
        except Conflict as exc:
            errors.add("action-title", exc.detail.rstrip("."))
        if due_error:
            errors.add("action-due-day", due_error)
        if not errors:
            return redirect(f"/cases/{case_id}?actioned=1#actions", code=303)
        return self._cp_case_page(principal, case_id, {}, 422, errors, action_form=form)

    # -- change one action ----------------------------------------------------------------------------------
    def _ap_find(self, case_id, action_id) -> tuple[dict, dict]:
        found = self.remote.call("cases", "case_action", case_id, action_id)
        return found["case"], found["action"]

    @case_page("GET", "/cases/<case_id>/actions/<action_id>")
    def web_action_change_form(self, request, principal, case_id, action_id):
        case, action = self._ap_find(case_id, action_id)
        return self._ap_change_form(principal, case, action, {"from": request.args.get("from", "")})

    def _ap_change_form(self, principal, case, action, form, errors=None, status=200):
        due = date.fromisoformat(action["due"])
        form.setdefault("due-day", str(due.day))
        form.setdefault("due-month", str(due.month))
        form.setdefault("due-year", str(due.year))
        return render("action_change.html", status, title=f"Change action: {action['title']}", nav="case",
                      case=case, action=action, form=form, changes=CHANGES, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/actions/<action_id>")
    def web_action_change(self, request, principal, case_id, action_id):
        case, action = self._ap_find(case_id, action_id)
        names = ("status", "note", "due-day", "due-month", "due-year", "from")
        form = {key: (request.form.get(key) or "").strip() for key in names}
        errors = Errors(["status", "note", "due-day"])
        payload = {}
        if form["status"]:
            payload["status"] = form["status"]
            if form["note"]:
                payload["note"] = form["note"]
        if action["can_change_due"]:
            due, due_error = _date_from(form, "due")
            if due_error:
                errors.add("due-day", due_error)
            elif due != action["due"]:
                payload["due"] = due
        if not payload and not errors:
            errors.add("status", "Select the new status" + (" or change the due date" if action["can_change_due"]
                                                             else ""))
        if not errors:
            try:
                self.remote.call("cases", "update_action", action_id, payload)
                back = "/actions?changed=1" if form["from"] == "mine" else f"/cases/{case_id}?action_changed=1#actions"
                return redirect(back, code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    if path == "note":
                        errors.add("note", f"Enter why the action is {ACTION_STATUSES.get(form['status'], '').lower()}"
                                   if not form["note"] else friendly(first_message(messages), "Note"))
                    elif path == "due":
                        errors.add("due-day", _due_message(messages))
                    else:
                        errors.add("status", "Select the new status")
            except (Forbidden, Conflict) as exc:
                errors.add("status", exc.detail.rstrip("."))
        return self._ap_change_form(principal, case, action, form, errors, 422)

    # -- my actions ---------------------------------------------------------------------------------------------
    @case_page("GET", "/actions")
    def web_my_actions(self, request, principal):
        view = request.args.get("view") if request.args.get("view") in VIEWS else "active"
        cursor = request.args.get("cursor") or "0"
        params = {**VIEWS[view][1], "limit": "50", "cursor": cursor if cursor.isdigit() else "0"}
        answer = self.remote.call("cases", "my_actions", params)
        filters = [{"view": key, "label": label, "href": "/actions" + (f"?view={key}" if key != "active" else ""),
                    "count": answer["counts"].get(COUNTED.get(key)), "current": key == view}
                   for key, (label, _) in VIEWS.items()]
        next_href = "/actions?" + urlencode({"view": view, "cursor": answer["next_cursor"]}) \
            if answer["next_cursor"] else None
        return render("my_actions.html", 200, title="My actions", nav="actions", view=view, filters=filters,
                      research_requests=answer.get("research_requests") or [],
                      heading=VIEWS[view][0], actions=answer["items"], counts=answer["counts"], next_href=next_href,
                      changed=request.args.get("changed") == "1", csrf_token=principal.get("csrf_token"))
