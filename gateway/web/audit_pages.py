"""Reading the audit log in the browser: who has looked at a record, what a person did, usage figures.

* /<profiles|families|cases>/<id>/audit — "Who has looked at this": the record's entries, for whoever the
  owning service lets audit it (its lead team; docs/audit.md). A record the reader may not know exists is the
  one "Page not found"; one they may see but not audit, "You cannot do this" (403).
* /users/<id>/activity — what a person did: their supervisors, their organisation's administrators, system
  administrators (the audit service decides; users of other organisations are "Page not found").
* /admin/usage — page views and visits per day for an organisation's administrators (system administrators
  pick an organisation, or see all): an SVG chart (role="img", title, description, text labels) and the same
  figures in a table beneath it.

Every read here is itself audited by the audit service. Pages go forward with the API's cursors.
"""
from datetime import date, datetime, timedelta, timezone

import eventlet

from concord_common import record_types
from concord_common.errors import Forbidden, NotFound, ValidationFailed
from gateway.directory_names import NAMES
from gateway.http import together
from gateway.web.home_pages import record_href
from gateway.web.profile_forms import valid_uuid
from gateway.web.profile_views import not_found, render, web_page
from gateway.web.record_access_pages import PAGES
from gateway.web.usage_chart import chart, daily_series
from gateway.web.words import words

PAGE_SIZE = "50"
# What an entry's action means, said of the record ("Looked at it") or of the person ("Looked at").
ACTIONS = {"viewed": "Looked at", "searched": "Searched", "created": "Created", "updated": "Changed",
           "deleted": "Deleted", "shared": "Shared", "unshared": "Stopped sharing", "exported": "Exported",
           "login": "Signed in", "login_failed": "Failed to sign in", "logout": "Signed out",
           "break_glass": "Used emergency access", "access_requested": "Asked for access",
           "access_approved": "Approved access", "transferred": "Transferred", "denied": "Was refused access to",
           "read": "Read the audit log", "restricted": "Restricted", "merged": "Merged",
           "grant_added": "Shared", "grant_revoked": "Stopped sharing"}


def action_words(entry: dict) -> str:
    return ACTIONS.get(entry.get("action"), words(entry.get("action")))


def clean_cursor(value) -> str | None:
    """The API's cursor as given (opaque); anything odd is dropped rather than sent on."""
    value = (value or "").strip()
    return value if value and len(value) <= 500 and value.isprintable() else None


class AuditPages:
    def _au_names(self, entries: list[dict]) -> dict:
        """Who each actor is, as far as the reader may know: a person's name, else their organisation's."""
        organisations = NAMES.organisation_names(self.remote)
        ids = sorted({(entry.get("actor") or {}).get("id") for entry in entries
                      if (entry.get("actor") or {}).get("kind") == "user"} - {None})

        def person(user_id):
            try:
                return user_id, self.remote.call("permissions", "get_user", user_id)["display_name"]
            except NotFound:          # another organisation's person: the reader may not know who
                return user_id, None
        people = dict(eventlet.GreenPool(8).imap(person, ids))
        names = {}
        for entry in entries:
            actor = entry.get("actor") or {}
            organisation = organisations.get(actor.get("organisation_id"))
            if actor.get("kind") == "user":
                name = people.get(actor.get("id")) or (f"Someone at {organisation}" if organisation else "Someone")
            elif actor.get("kind") == "client":
                name = f"A partner system of {organisation}" if organisation else "A partner system"
            else:
                name = "Concord itself"
            names[entry["seq"]] = {"name": name, "organisation": organisation or ""}
        return names

    @web_page("GET", f"/<any({', '.join(record_types.paths())}):kind>/<record_id>/audit")
    def web_record_audit(self, request, principal, kind, record_id):
        if not valid_uuid(record_id):
            return not_found()
        registered = record_types.by_path(kind)
        page = PAGES[registered.name]
        query = {"limit": PAGE_SIZE}
        if cursor := clean_cursor(request.args.get("cursor")):
            query["cursor"] = cursor
        try:
            found = together(
                record=lambda: self.remote.call(page.service, page.rpc, record_id),
                log=lambda: self.remote.call("audit", "record_entries", registered.name, record_id, query))
        except ValidationFailed:
            return not_found()        # a cursor that is not the API's
        except Forbidden:
            return render("error.html", 403, title="You cannot see who has looked at this",
                          detail=f"Only the team that leads this {registered.singular}, and its supervisors, "
                                 f"can see who has looked at it.",
                          back_href=f"/{kind}/{record_id}/sharing", back_text=f"Who can see this {registered.singular}")
        record, log = found["record"], found["log"]
        names = self._au_names(log["items"])
        entries = [{**entry, "who": names[entry["seq"]], "what": action_words(entry)} for entry in log["items"]]
        return render("audit_record.html", title=f"Who has looked at this {registered.singular}",
                      nav=registered.name, kind=kind, record_id=record_id, noun=registered.singular,
                      heading=page.heading(record), back=page.back(record), entries=entries,
                      next_cursor=log.get("next_cursor"), first_page=not cursor)

    @web_page("GET", "/users/<user_id>/activity")
    def web_user_activity(self, request, principal, user_id):
        if not valid_uuid(user_id):
            return not_found()
        query = {"limit": PAGE_SIZE}
        if cursor := clean_cursor(request.args.get("cursor")):
            query["cursor"] = cursor
        try:
            found = together(user=lambda: self.remote.call("permissions", "get_user", user_id),
                             log=lambda: self.remote.call("audit", "user_entries", user_id, query))
        except ValidationFailed:
            return not_found()
        except Forbidden:
            return render("error.html", 403, title="You cannot see what this person did",
                          detail="Only their supervisors and their organisation's administrators can see it.",
                          back_href="/", back_text="Go to your home page")
        entries = [{**entry, "what": action_words(entry),
                    "noun": words((entry.get("record") or {}).get("type")) or "",
                    "href": record_href((entry.get("record") or {}).get("type"), (entry.get("record") or {}).get("id"))
                    if entry.get("action") != "deleted" else None}
                   for entry in found["log"]["items"]]
        admin = bool({"org_admin", "system_admin"} & set(principal.get("roles") or ()))
        return render("audit_user.html", title=f"What {found['user']['display_name']} did", nav="admin" if admin
                      else "account", person=found["user"], entries=entries, admin=admin,
                      next_cursor=found["log"].get("next_cursor"), first_page=not cursor)

    @web_page("GET", "/admin/usage")
    def web_usage(self, request, principal):
        roles = set(principal.get("roles") or ())
        if not roles & {"org_admin", "system_admin"}:
            return render("error.html", 403, title="You cannot see usage figures",
                          detail="Only administrators can see how Concord is used.", back_href="/",
                          back_text="Go to your home page")
        system_admin = "system_admin" in roles
        chosen = (request.args.get("organisation_id") or "").strip()
        if chosen and not valid_uuid(chosen):
            chosen = ""
        days = 30
        to = datetime.now(timezone.utc).date() + timedelta(days=1)
        query = {"interval": "day", "from": (to - timedelta(days=days)).isoformat(), "to": to.isoformat()}
        if chosen or not system_admin:
            query["organisation_id"] = chosen or principal.get("organisation_id")
        found = together(usage=lambda: self.remote.call("audit", "usage", query),
                         organisations=lambda: self.remote.call("permissions", "list_organisations")["items"])
        usage, organisations = found["usage"], found["organisations"]
        names = {org["id"]: org["name"] for org in organisations}
        series = daily_series(usage["series"], date.fromisoformat(query["from"]), days)
        organisation_name = names.get(query.get("organisation_id")) if query.get("organisation_id") else None
        scope = organisation_name or "every organisation"
        return render("audit_usage.html", title="Usage figures", nav="admin", usage=usage, series=series,
                      chart=chart(series, f"Page views and visits per day, {scope}"), scope=scope,
                      system_admin=system_admin, organisations=organisations, chosen=query.get("organisation_id"),
                      per_organisation=[{**item, "name": names.get(item["organisation_id"], "Not in the directory")}
                                        for item in usage.get("organisations", [])])
