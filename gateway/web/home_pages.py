"""The home page: each signed-in person's dashboard (their account details are at /account, pages.py).

Sections, each asked of the service that knows, all at once (`together`): the open cases my teams lead,
my notifications (unread first; the notifications page is /notifications), the records I opened lately
(the audit service's trail of my own views, named by the owning services only where I may still open them),
my actions (the cases service's `my_actions`: counts of overdue, due this week and open, and the soonest due),
and what waits for my teams: access requests to decide and transfers to accept, with counts. A section
whose service does not answer says so; the rest of the page still shows.
"""
from werkzeug.utils import redirect

from concord_common import record_types
from concord_common.errors import ConcordError
from gateway.http import api, together
from gateway.web import header
from gateway.web.profile_views import render

CASES_PER_TEAM = 10
NOTIFICATIONS_SHOWN = 5
RECENT_SHOWN = 8
ACTIONS_SHOWN = 5           # the soonest due of my open actions; the rest are at /actions
INBOX_LIMIT = 100           # counts above it read "100 or more"
UNAVAILABLE = object()      # a section whose service did not answer


def record_href(record_type: str, record_id: str) -> str | None:
    """Where a record opens in the browser (families have no page of their own yet)."""
    return {"profile": f"/profiles/{record_id}", "case": f"/cases/{record_id}"}.get(record_type)


def count_text(answer: dict) -> str:
    return f"{INBOX_LIMIT} or more" if answer.get("next_cursor") else str(len(answer["items"]))


class HomePages:
    def _hp_section(self, call):
        """One section's answer, or UNAVAILABLE if its service failed (the page shows the others)."""
        def run():
            try:
                return call()
            except ConcordError:
                return UNAVAILABLE
        return run

    def _hp_team_cases(self, team):
        answer = self.remote.call("cases", "list_cases", {"team_id": team["id"], "status": "open",
                                                          "limit": str(CASES_PER_TEAM), "sort": "-opened_at"})
        return {"team": team, "items": answer["items"], "more": bool(answer.get("next_cursor"))}

    def _hp_notifications(self):
        items = self.remote.call("notifications", "my_notifications", False)["items"]
        unread = [item for item in items if not item.get("read")]
        shown = (unread + [item for item in items if item.get("read")])[:NOTIFICATIONS_SHOWN]
        return {"unread": len(unread), "items": [{**item, "href": record_href(
            (item.get("record") or {}).get("type"), (item.get("record") or {}).get("id"))} for item in shown]}

    def _hp_recent(self):
        """Records I opened lately, newest first, named only where I may still open them."""
        viewed = self.remote.call("audit", "my_recent_records", {"limit": RECENT_SHOWN})["items"]
        by_type: dict[str, list] = {}
        for item in viewed:
            by_type.setdefault(item["record"]["type"], []).append(item["record"]["id"])
        calls = {name: (lambda name=name, ids=ids: self.remote.call(
            record_types.by_name(name).service, "visible_names", name, ids))
            for name, ids in by_type.items() if record_types.by_name(name)}
        names = {}
        for answer in together(**calls).values() if calls else ():
            names.update({item["id"]: item["display_name"] for item in answer["items"]})
        return [{**item, "name": names[item["record"]["id"]],
                 "noun": record_types.by_name(item["record"]["type"]).singular,
                 "href": record_href(item["record"]["type"], item["record"]["id"])}
                for item in viewed if item["record"]["id"] in names]

    @api("GET", "/", public=True)
    def home(self, request):
        principal = self.auth.optional(request)
        if principal is None or principal["kind"] != "user":
            return redirect("/sign-in", code=303)
        if principal.get("mfa_enrolment_required"):
            return redirect("/mfa", code=303)
        teams = principal.get("teams") or []
        calls = {"notifications": self._hp_notifications, "recent": self._hp_recent,
                 "actions": lambda: self.remote.call("cases", "my_actions", {"limit": str(ACTIONS_SHOWN)}),
                 "my_requests": lambda: self.remote.call("permissions", "list_access_requests", status="pending",
                                                         direction="outgoing", limit=str(INBOX_LIMIT))}
        if teams:
            calls["requests"] = lambda: self.remote.call("permissions", "list_access_requests", status="pending",
                                                         direction="incoming", limit=str(INBOX_LIMIT))
            calls["transfers"] = lambda: self.remote.call("permissions", "list_transfers", status="pending",
                                                          direction="incoming", limit=str(INBOX_LIMIT))
            for position, team in enumerate(teams):
                calls[f"cases-{position}"] = lambda team=team: self._hp_team_cases(team)
        top = header.begin(self, principal, eager=False)     # its unread count is the notifications section's
        try:
            found = together(**{name: self._hp_section(call) for name, call in calls.items()})
            if found["notifications"] is not UNAVAILABLE:
                top.set_unread(found["notifications"]["unread"])
            waiting = {name: (UNAVAILABLE if found[name] is UNAVAILABLE else
                              {"count": count_text(found[name]), "none": not found[name]["items"]})
                       for name in ("requests", "transfers", "my_requests") if name in found}
            return render("home.html", title="Home", nav="home", principal=principal, teams=teams,
                          team_cases=[found[f"cases-{position}"] for position in range(len(teams))],
                          notifications=found["notifications"], recent=found["recent"], waiting=waiting,
                          my_actions=found["actions"],
                          unavailable=UNAVAILABLE, csrf_token=principal.get("csrf_token"))
        finally:
            header.end()
