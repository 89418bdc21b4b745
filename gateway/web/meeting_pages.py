"""The practitioners' meeting pages: the meetings list (by day, upcoming first), arrange a meeting, a meeting with
its agenda (put a case you lead on it, with the lawful basis) and the minutes of each item (the chair team).

Server-rendered with GOV.UK Frontend, no JavaScript needed, CSRF on every form (web_page). The cases service
decides what each person sees: an agenda case they may not open is only "a case held by <organisation>".

Routes (GET unless said): /meetings, /meetings/new (+POST), /meetings/<id>, POST /meetings/<id>/agenda,
POST /meetings/<id>/agenda/<item_id>/minutes, POST /meetings/<id>/agenda/<item_id>/remove,
POST /meetings/<id>/cancel.
"""
import functools
from datetime import date, datetime, time, timedelta, timezone
from itertools import groupby

from werkzeug.utils import redirect

from concord_common.errors import Conflict, NotFound, ValidationFailed
from gateway.directory_names import NAMES
from gateway.http import together
from gateway.web.profile_forms import Errors, first_message, friendly, valid_uuid
from gateway.web.profile_views import LONDON, long_date, render, templates, web_page

KINDS = [("asb_panel", "ASB panel"), ("complex_case_panel", "Complex case panel"), ("iom_panel", "IOM panel"),
         ("marac", "MARAC"), ("strategy_discussion", "Strategy discussion"), ("other", "Other meeting")]
LOOK_BACK = timedelta(days=30)           # the list shows the last month's meetings after the upcoming ones
NOT_FOUND = {"title": "Page not found",
             "detail": "If you typed the web address, check it is correct. If you followed a link or pasted "
                       "the address, the meeting may not exist, or you may not be invited to it.",
             "back_href": "/meetings", "back_text": "Go to meetings"}
templates.filters.update(meeting_kind=lambda value: dict(KINDS).get(value, value),
                         clock_time=lambda value: _local(value).strftime("%-I:%M%p").lower() if value else "")


def _local(value) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(LONDON)


def meeting_page(method, url):
    """web_page, with the meetings' own "Page not found" (the same for absent and not invited)."""
    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, principal, **values):
            if any(key.endswith("_id") and not valid_uuid(value) for key, value in values.items()):
                return render("error.html", 404, **NOT_FOUND)
            try:
                return fn(self, request, principal, **values)
            except NotFound:
                return render("error.html", 404, **NOT_FOUND)
        return web_page(method, url)(handler)
    return decorate


class MeetingPages:
    def _mp_team_names(self, team_ids) -> dict:
        return {team_id: NAMES.team_name(self.remote, team_id, "A team") for team_id in set(team_ids)}

    # -- the list ----------------------------------------------------------------------------------------------
    @meeting_page("GET", "/meetings")
    def web_meetings(self, request, principal):
        today = datetime.now(LONDON).date()
        start = datetime.combine(today, time(), LONDON) - LOOK_BACK
        found = self.remote.call("cases", "list_meetings", {"from": start.astimezone(timezone.utc).isoformat(),
                                                            "limit": "300"})["items"]
        upcoming = [m for m in found if _local(m["starts_at"]).date() >= today]
        past = sorted([m for m in found if _local(m["starts_at"]).date() < today],
                      key=lambda m: m["starts_at"], reverse=True)

        def by_day(meetings):
            return [(long_date(day), list(group)) for day, group in
                    groupby(meetings, key=lambda m: _local(m["starts_at"]).date().isoformat())]
        teams = self._mp_team_names([m["chair_team_id"] for m in found])
        return render("meetings_list.html", title="Meetings", nav="meetings", upcoming=by_day(upcoming),
                      past=by_day(past), teams=teams, today=long_date(today.isoformat()),
                      banner=request.args.get("cancelled") == "1")

    # -- arrange one -------------------------------------------------------------------------------------------
    def _mp_directory(self) -> list[dict]:
        """Every organisation with its teams, for the attendee checkboxes."""
        organisations = self.remote.call("permissions", "list_organisations")["items"]
        calls = {f"o{n}": functools.partial(self.remote.call, "permissions", "get_organisation", org["id"])
                 for n, org in enumerate(organisations)}
        found = together(**calls) if calls else {}
        return [found[f"o{n}"] for n in range(len(organisations))]

    @meeting_page("GET", "/meetings/new")
    def web_meeting_new(self, request, principal):
        return self._mp_new_form(principal, {"attendees": []})

    def _mp_new_form(self, principal, form, errors: Errors | None = None, status=200):
        return render("meeting_new.html", status, title="Arrange a meeting", nav="meetings", form=form, kinds=KINDS,
                      teams=principal.get("teams") or [], directory=self._mp_directory(),
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @meeting_page("POST", "/meetings/new")
    def web_meeting_create(self, request, principal):
        names = ("kind", "title", "starts-day", "starts-month", "starts-year", "starts-time", "location",
                 "online_link", "chair_team_id")
        form = {key: (request.form.get(key) or "").strip() for key in names}
        form["attendees"] = request.form.getlist("attendees")
        teams = principal.get("teams") or []
        if not form["chair_team_id"] and len(teams) == 1:
            form["chair_team_id"] = teams[0]["id"]
        errors = Errors(["kind", "title", "starts", "starts-time", "location", "online_link", "chair_team_id",
                         "attendees"])
        if not form["kind"]:
            errors.add("kind", "Select the type of meeting")
        if not form["title"]:
            errors.add("title", "Enter a title")
        starts_at = self._mp_starts_at(form, errors)
        attendees = []
        for value in form["attendees"]:
            kind, _, attendee_id = value.partition(":")
            if kind in ("team", "organisation") and valid_uuid(attendee_id):
                attendees.append({f"{kind}_id": attendee_id})
        if not attendees:
            errors.add("attendees", "Select at least one team or organisation to invite")
        if not errors:
            payload = {"kind": form["kind"], "title": form["title"], "starts_at": starts_at,
                       "location": form["location"] or None, "online_link": form["online_link"] or None,
                       "chair_team_id": form["chair_team_id"], "attendees": attendees}
            try:
                created = self.remote.call("cases", "create_meeting", payload)
                return redirect(f"/meetings/{created['id']}?created=1", code=303)
            except ValidationFailed as exc:
                self._mp_create_errors(exc, form, errors)
        return self._mp_new_form(principal, form, errors, 422)

    @staticmethod
    def _mp_starts_at(form, errors) -> str | None:
        try:
            day = date(int(form["starts-year"]), int(form["starts-month"]), int(form["starts-day"]))
        except ValueError:
            errors.add("starts", "Enter the date of the meeting, for example 27 3 2027")
            day = None
        try:
            hour, minute = (int(part) for part in form["starts-time"].replace(".", ":").split(":"))
            at = time(hour, minute)
        except ValueError:
            errors.add("starts-time", "Enter the time the meeting starts, for example 14:30")
            at = None
        if day is None or at is None:
            return None
        return datetime.combine(day, at, LONDON).isoformat()

    @staticmethod
    def _mp_create_errors(exc, form, errors) -> None:
        labels = {"kind": ("Type of meeting", "Select the type of meeting"), "title": ("Title", "Enter a title"),
                  "starts_at": ("Date", None), "location": ("Place", None),
                  "online_link": ("Online link", None), "chair_team_id": ("Chair", "Select the team that chairs it")}
        for path, messages in exc.errors.items():
            message = first_message(messages)
            if path.startswith("attendees"):
                errors.add("attendees", message.rstrip("."))
            elif path == "starts_at":
                errors.add("starts", "The meeting must not be in the past" if "past" in message
                           else "Enter a real date and time")
            elif path == "online_link":
                errors.add("online_link", "Enter an online link starting https://")
            else:
                label, missing = labels.get(path, ("Title", None))
                errors.add(path if path in labels else "title",
                           friendly(message, label, missing, value=form.get(path)))

    # -- one meeting -------------------------------------------------------------------------------------------
    @meeting_page("GET", "/meetings/<meeting_id>")
    def web_meeting(self, request, principal, meeting_id):
        return self._mp_meeting_page(principal, meeting_id, request.args)

    def _lead_cases(self, principal, meeting) -> list[dict]:
        """Open cases the person's teams lead that are not on the agenda yet (what they may add)."""
        mine = {team["id"] for team in principal.get("teams") or []}
        listed = {item["case"].get("id") for item in meeting["agenda"]}
        found = self.remote.call("cases", "list_cases", {"status": "open", "limit": "200", "sort": "reference"})
        return [case for case in found["items"] if case.get("access") == "full"
                and case["owner"]["team_id"] in mine and case["id"] not in listed]

    def _mp_meeting_page(self, principal, meeting_id, args, status=200, errors=None, forms=None):
        meeting = self.remote.call("cases", "get_meeting", meeting_id)
        found = together(organisations=lambda: NAMES.organisation_names(self.remote),
                         teams=lambda: self._mp_team_names(
                             [meeting["chair_team_id"]] + [a["team_id"] for a in meeting["attendees"] if a["team_id"]]),
                         cases=lambda: self._lead_cases(principal, meeting) if meeting["status"] == "scheduled" else [])
        mine = {team["id"] for team in principal.get("teams") or []}
        banner = next((flag for flag in ("created", "added", "minuted", "removed", "cancelled")
                       if args.get(flag) == "1"), None)
        return render("meeting.html", status, title=meeting["title"], nav="meeting", meeting=meeting,
                      organisations=found["organisations"], teams=found["teams"], lead_cases=found["cases"],
                      my_teams=mine, banner=banner, forms=forms or {},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @meeting_page("POST", "/meetings/<meeting_id>/agenda")
    def web_meeting_add_case(self, request, principal, meeting_id):
        form = {key: (request.form.get(key) or "").strip() for key in ("case_id", "lawful_basis")}
        errors = Errors(["case_id", "lawful_basis"])
        if not valid_uuid(form["case_id"]):
            errors.add("case_id", "Select the case to put on the agenda")
        if not form["lawful_basis"]:
            errors.add("lawful_basis", "Enter the lawful basis for sharing the case with the attendees")
        if not errors:
            try:
                self.remote.call("cases", "add_agenda_item", meeting_id, form)
                return redirect(f"/meetings/{meeting_id}?added=1#agenda", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    errors.add("lawful_basis" if path == "lawful_basis" else "case_id",
                               friendly(first_message(messages), "Lawful basis" if path == "lawful_basis"
                                        else "Case", value=form.get(path)))
            except Conflict as exc:
                errors.add("case_id", exc.detail.rstrip("."))
        return self._mp_meeting_page(principal, meeting_id, {}, 422, errors, {"agenda": form})

    @meeting_page("POST", "/meetings/<meeting_id>/agenda/<item_id>/minutes")
    def web_meeting_minutes(self, request, principal, meeting_id, item_id):
        discussion = (request.form.get("discussion") or "").strip()
        decisions_text = request.form.get("decisions") or ""
        decisions = [{"text": line.strip()} for line in decisions_text.splitlines() if line.strip()]
        prefix = f"minutes-{item_id}"
        errors = Errors([f"{prefix}-discussion", f"{prefix}-decisions"])
        if not discussion:
            errors.add(f"{prefix}-discussion", "Enter what was discussed")
        if not errors:
            try:
                self.remote.call("cases", "record_minutes", meeting_id, item_id,
                                 {"discussion": discussion, "decisions": decisions})
                return redirect(f"/meetings/{meeting_id}?minuted=1#item-{item_id}", code=303)
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    field = f"{prefix}-decisions" if path.startswith("decisions") else f"{prefix}-discussion"
                    errors.add(field, friendly(first_message(messages), "Decisions" if "decisions" in field
                                               else "Discussion", value=discussion))
            except Conflict as exc:
                errors.add(f"{prefix}-discussion", exc.detail.rstrip("."))
        return self._mp_meeting_page(principal, meeting_id, {}, 422, errors,
                                     {item_id: {"discussion": discussion, "decisions": decisions_text}})

    @meeting_page("POST", "/meetings/<meeting_id>/agenda/<item_id>/remove")
    def web_meeting_remove_case(self, request, principal, meeting_id, item_id):
        self.remote.call("cases", "remove_agenda_item", meeting_id, item_id)
        return redirect(f"/meetings/{meeting_id}?removed=1#agenda", code=303)

    @meeting_page("POST", "/meetings/<meeting_id>/cancel")
    def web_meeting_cancel(self, request, principal, meeting_id):
        try:
            self.remote.call("cases", "cancel_meeting", meeting_id)
        except Conflict:
            pass                     # cancelled already (a second click): the page says so
        return redirect(f"/meetings/{meeting_id}?cancelled=1", code=303)
