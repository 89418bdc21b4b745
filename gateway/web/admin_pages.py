"""Administration: organisations, teams, memberships and users, for organisation and system administrators.

* /admin — where administration starts (the header's "Administration" link, shown only to administrators).
* /admin/organisations (+POST, system administrators): every organisation; add one.
* /admin/organisations/<id>: its teams and people; add a team (+POST …/teams); /…/users/new (+POST) adds a
  person with a one-time password, shown once.
* /admin/users/<id>: a person's teams and roles; add them to a team or change their role, disable them, reset
  their password (a new one-time password, shown once), see what they did.
* /admin/teams/<id>: its members; add one, change a role, remove one.
* /teams: the teams someone is in, and for those they supervise, each member's activity.

The permissions service decides every change (docs/sign-in.md); the pages only refuse early, with a 403 page,
someone who is no administrator at all, or an organisation administrator looking at another organisation.
The directory lists people through their teams (the API has no list of an organisation's users), so someone
in no team is reached only from the page that created them.
"""
import secrets

import eventlet
from werkzeug.utils import redirect

from concord_common.errors import ValidationFailed
from gateway.http import together
from gateway.web.pages import PAGE_HEADERS
from gateway.web.profile_forms import Errors, first_message, friendly, valid_uuid
from gateway.web.profile_views import not_found, render, web_page

ORGANISATION_TYPES = ("police", "council", "housing", "education", "health", "fire", "probation",
                      "youth_offending", "charity", "other")
TEAM_ROLES = ("practitioner", "spoc", "supervisor")
ROLE_HINTS = {"practitioner": "Works on the team's records",
              "spoc": "Also adds and removes the team's members",
              "supervisor": "Also sees the team's restricted records and what its members did"}
# A one-time password: 16 letters and digits people do not mix up, in groups of four (about 80 bits).
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
USER_FIELDS = {"display_name": "Full name", "username": "Username", "email": "Email address",
               "team_id": "Team", "role": "Role in the team", "roles": "Administrator"}
DONE = {"team": "Team added", "member": "Membership saved", "removed": "Removed from the team",
        "disabled": "Account disabled: they are signed out and cannot sign in", "organisation": "Organisation added"}


def one_time_password() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(4))


def admin_of(principal: dict) -> tuple[bool, bool]:
    roles = set(principal.get("roles") or ())
    return "system_admin" in roles, "org_admin" in roles


def refused(title="You cannot use administration", detail="Only organisation and system administrators can."):
    return render("error.html", 403, title=title, detail=detail, back_href="/", back_text="Go to your home page")


def shown_once(template: str, **values):
    """A page holding a secret shown once: never cached, never stored by the browser."""
    response = render(template, 200, **values)
    response.headers.update({**PAGE_HEADERS, "Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"})
    return response


def service_errors(exc: ValidationFailed, errors: Errors, fields: dict, labels: dict, default: str, form: dict):
    """A service's field errors (its paths) on the form's inputs, in words."""
    for path, messages in (exc.errors or {"": [exc.detail]}).items():
        field = next((target for prefix, target in fields.items() if path == prefix or path.startswith(prefix + ".")),
                     default)
        errors.add(field, friendly(first_message(messages), labels.get(field, "This"), value=form.get(field)))


class AdminPages:
    # -- what every page here needs -----------------------------------------------------------------------------
    def _ad_may_run(self, principal, organisation_id) -> bool:
        system_admin, org_admin = admin_of(principal)
        return system_admin or (org_admin and organisation_id == principal.get("organisation_id"))

    def _ad_people(self, organisation: dict) -> list[dict]:
        """An organisation's people, through its teams: [{user_id, display_name, username, teams: [...]}]."""
        teams = list(eventlet.GreenPool(8).imap(
            lambda team: self.remote.call("permissions", "get_team", team["id"]), organisation.get("teams") or []))
        people = {}
        for team in teams:
            for member in team.get("members") or []:
                person = people.setdefault(member["user_id"], {**member, "teams": []})
                person["teams"].append({"id": team["id"], "name": team["name"], "role": member["role"]})
        return sorted(people.values(), key=lambda p: (p["display_name"].lower(), p["username"]))

    # -- the start ----------------------------------------------------------------------------------------------
    @web_page("GET", "/admin")
    def web_admin(self, request, principal):
        system_admin, org_admin = admin_of(principal)
        if not (system_admin or org_admin):
            return refused()
        own = self.remote.call("permissions", "get_organisation", principal["organisation_id"])
        return render("admin_home.html", title="Administration", nav="admin", system_admin=system_admin,
                      org_admin=org_admin, own=own)

    # -- organisations (system administrators) ------------------------------------------------------------------
    def _ad_organisations(self, principal, form=None, errors=None, status=200, done=None):
        organisations = self.remote.call("permissions", "list_organisations")["items"]
        return render("admin_organisations.html", status, title="Organisations", nav="admin",
                      organisations=organisations, types=[(t, t) for t in ORGANISATION_TYPES],
                      form=form or {"require_mfa": "yes"}, done=done,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/organisations")
    def web_admin_organisations(self, request, principal):
        if not admin_of(principal)[0]:
            return refused("You cannot manage organisations", "Only system administrators can.")
        return self._ad_organisations(principal, done=DONE.get(request.args.get("done")))

    @web_page("POST", "/admin/organisations")
    def web_admin_add_organisation(self, request, principal):
        if not admin_of(principal)[0]:
            return refused("You cannot manage organisations", "Only system administrators can.")
        form = {key: (request.form.get(key) or "").strip() for key in ("name", "type", "area", "require_mfa")}
        errors = Errors(["name", "type", "area", "require_mfa"])
        if not form["name"]:
            errors.add("name", "Enter the organisation's name")
        if form["type"] not in ORGANISATION_TYPES:
            errors.add("type", "Select the kind of organisation")
        if not form["area"]:
            errors.add("area", "Enter the area it works in")
        if form["require_mfa"] not in ("yes", "no"):
            errors.add("require_mfa", "Select whether its people must use two-factor authentication")
        if not errors:
            try:
                created = self.remote.call("permissions", "create_organisation", {
                    "name": form["name"], "type": form["type"], "area": form["area"],
                    "require_mfa": form["require_mfa"] == "yes"})
                return redirect(f"/admin/organisations/{created['id']}?done=organisation", code=303)
            except ValidationFailed as exc:
                service_errors(exc, errors, {"name": "name", "type": "type", "area": "area",
                                             "require_mfa": "require_mfa"},
                               {"name": "Name", "type": "Kind of organisation", "area": "Area"}, "name", form)
        return self._ad_organisations(principal, form, errors, 422)

    # -- one organisation: teams and people ---------------------------------------------------------------------
    def _ad_organisation(self, principal, organisation_id, form=None, errors=None, status=200, done=None):
        organisation = self.remote.call("permissions", "get_organisation", organisation_id)
        return render("admin_organisation.html", status, title=organisation["name"], nav="admin",
                      organisation=organisation, people=self._ad_people(organisation), form=form or {},
                      system_admin=admin_of(principal)[0], done=done,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/organisations/<organisation_id>")
    def web_admin_organisation(self, request, principal, organisation_id):
        if not valid_uuid(organisation_id):
            return not_found()
        if not self._ad_may_run(principal, organisation_id):
            return refused(detail="Only this organisation's administrators, and system administrators, can.")
        return self._ad_organisation(principal, organisation_id, done=DONE.get(request.args.get("done")))

    @web_page("POST", "/admin/organisations/<organisation_id>/teams")
    def web_admin_add_team(self, request, principal, organisation_id):
        if not valid_uuid(organisation_id):
            return not_found()
        if not self._ad_may_run(principal, organisation_id):
            return refused(detail="Only this organisation's administrators, and system administrators, can.")
        form = {"team_name": (request.form.get("team_name") or "").strip()}
        errors = Errors(["team_name"])
        if not form["team_name"]:
            errors.add("team_name", "Enter the team's name")
        else:
            try:
                team = self.remote.call("permissions", "create_team", organisation_id, {"name": form["team_name"]})
                return redirect(f"/admin/teams/{team['id']}?done=team", code=303)
            except ValidationFailed as exc:
                service_errors(exc, errors, {}, {"team_name": "Team name"}, "team_name", form)
        return self._ad_organisation(principal, organisation_id, form, errors, 422)

    # -- adding a person ----------------------------------------------------------------------------------------
    def _ad_new_user(self, principal, organisation_id, form=None, errors=None, status=200):
        organisation = self.remote.call("permissions", "get_organisation", organisation_id)
        return render("admin_user_new.html", status, title=f"Add a person to {organisation['name']}", nav="admin",
                      organisation=organisation, roles=[(r, r) for r in TEAM_ROLES], role_hints=ROLE_HINTS,
                      system_admin=admin_of(principal)[0], form=form or {"role": "practitioner", "roles": []},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/organisations/<organisation_id>/users/new")
    def web_admin_new_user(self, request, principal, organisation_id):
        if not valid_uuid(organisation_id):
            return not_found()
        if not self._ad_may_run(principal, organisation_id):
            return refused(detail="Only this organisation's administrators, and system administrators, can.")
        return self._ad_new_user(principal, organisation_id)

    @web_page("POST", "/admin/organisations/<organisation_id>/users/new")
    def web_admin_add_user(self, request, principal, organisation_id):
        if not valid_uuid(organisation_id):
            return not_found()
        if not self._ad_may_run(principal, organisation_id):
            return refused(detail="Only this organisation's administrators, and system administrators, can.")
        form = {key: (request.form.get(key) or "").strip() for key in
                ("display_name", "username", "email", "team_id", "role")}
        form["roles"] = [r for r in request.form.getlist("roles") if r in ("org_admin", "system_admin")]
        errors = Errors(["display_name", "username", "email", "team_id", "role", "roles"])
        for field, message in (("display_name", "Enter the person's full name"), ("username", "Enter a username"),
                               ("email", "Enter their email address")):
            if not form[field]:
                errors.add(field, message)
        if not valid_uuid(form["team_id"]):
            errors.add("team_id", "Select the team they work in")
        if form["role"] not in TEAM_ROLES:
            errors.add("role", "Select their role in the team")
        if not errors:
            password = one_time_password()
            try:
                user = self.remote.call("permissions", "create_user", {
                    "username": form["username"], "display_name": form["display_name"], "email": form["email"],
                    "password": password, "organisation_id": organisation_id,
                    "teams": [{"team_id": form["team_id"], "role": form["role"]}], "roles": form["roles"]})
                return shown_once("admin_password.html", title=f"{user['display_name']} can now sign in",
                                  nav="admin", person=user, password=password, created=True)
            except ValidationFailed as exc:
                service_errors(exc, errors, {"teams": "team_id", "roles": "roles", "display_name": "display_name",
                                             "username": "username", "email": "email"}, USER_FIELDS,
                               "username", form)
        return self._ad_new_user(principal, organisation_id, form, errors, 422)

    # -- one person ---------------------------------------------------------------------------------------------
    def _ad_user(self, principal, user_id, form=None, errors=None, status=200, done=None):
        person = self.remote.call("permissions", "get_user", user_id)
        if not self._ad_may_run(principal, person["organisation_id"]):
            return refused(detail="Only their organisation's administrators, and system administrators, can.")
        organisation = self.remote.call("permissions", "get_organisation", person["organisation_id"])
        return render("admin_user.html", status, title=person["display_name"], nav="admin", person=person,
                      organisation=organisation, roles=[(r, r) for r in TEAM_ROLES], role_hints=ROLE_HINTS,
                      myself=person["id"] == principal.get("id"), form=form or {"role": "practitioner"}, done=done,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/users/<user_id>")
    def web_admin_user(self, request, principal, user_id):
        if not valid_uuid(user_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        return self._ad_user(principal, user_id, done=DONE.get(request.args.get("done")))

    @web_page("POST", "/admin/users/<user_id>/disable")
    def web_admin_disable(self, request, principal, user_id):
        if not valid_uuid(user_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        self.remote.call("permissions", "disable_user", user_id)
        return redirect(f"/admin/users/{user_id}?done=disabled", code=303)

    @web_page("POST", "/admin/users/<user_id>/password")
    def web_admin_reset_password(self, request, principal, user_id):
        if not valid_uuid(user_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        person = self.remote.call("permissions", "get_user", user_id)
        password = one_time_password()
        self.remote.call("permissions", "change_password", user_id, {"new_password": password})
        return shown_once("admin_password.html", title=f"New password for {person['display_name']}", nav="admin",
                          person=person, password=password, created=False)

    # -- teams and memberships ----------------------------------------------------------------------------------
    def _ad_team(self, principal, team_id, form=None, errors=None, status=200, done=None):
        team = self.remote.call("permissions", "get_team", team_id)
        if not self._ad_may_run(principal, team["organisation_id"]):
            return refused(detail="Only the team's organisation's administrators, and system administrators, can.")
        organisation = self.remote.call("permissions", "get_organisation", team["organisation_id"])
        members = {m["user_id"] for m in team.get("members") or []}
        others = [p for p in self._ad_people(organisation) if p["user_id"] not in members]
        return render("admin_team.html", status, title=team["name"], nav="admin", team=team,
                      organisation=organisation, others=others, roles=[(r, r) for r in TEAM_ROLES],
                      role_hints=ROLE_HINTS, me=principal.get("id"), form=form or {"role": "practitioner"},
                      done=done, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/admin/teams/<team_id>")
    def web_admin_team(self, request, principal, team_id):
        if not valid_uuid(team_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        return self._ad_team(principal, team_id, done=DONE.get(request.args.get("done")))

    @web_page("POST", "/admin/teams/<team_id>/members")
    def web_admin_set_member(self, request, principal, team_id):
        """Add someone to the team, or change their role in it (the team's page)."""
        if not valid_uuid(team_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        form = {key: (request.form.get(key) or "").strip() for key in ("user_id", "role")}
        errors = self._ad_membership(team_id, form["user_id"], form, "user_id")
        if not errors:
            return redirect(f"/admin/teams/{team_id}?done=member", code=303)
        return self._ad_team(principal, team_id, form, errors, 422)

    @web_page("POST", "/admin/users/<user_id>/teams")
    def web_admin_add_to_team(self, request, principal, user_id):
        """Put the person in a team, or change their role in it (the person's page)."""
        if not valid_uuid(user_id):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        form = {key: (request.form.get(key) or "").strip() for key in ("team_id", "role")}
        errors = self._ad_membership(form["team_id"], user_id, form, "team_id")
        if not errors:
            return redirect(f"/admin/users/{user_id}?done=member", code=303)
        return self._ad_user(principal, user_id, form, errors, 422)

    def _ad_membership(self, team_id, user_id, form, chooser) -> Errors:
        """add_member, with its refusals as the form's errors (`chooser`: the input that picks the team or the
        person)."""
        errors = Errors([chooser, "role"])
        if not valid_uuid(team_id if chooser == "team_id" else user_id):
            errors.add(chooser, "Select the team" if chooser == "team_id" else "Select the person to add")
        if form["role"] not in TEAM_ROLES:
            errors.add("role", "Select their role in the team")
        if not errors:
            try:
                self.remote.call("permissions", "add_member", team_id, {"user_id": user_id, "role": form["role"]})
            except ValidationFailed as exc:
                service_errors(exc, errors, {"role": "role"}, {chooser: "The team" if chooser == "team_id"
                                                               else "The person", "role": "Role in the team"},
                               chooser, form)
        return errors

    @web_page("POST", "/admin/teams/<team_id>/members/<user_id>/remove")
    def web_admin_remove_member(self, request, principal, team_id, user_id):
        if not (valid_uuid(team_id) and valid_uuid(user_id)):
            return not_found()
        if not any(admin_of(principal)):
            return refused()
        self.remote.call("permissions", "remove_member", team_id, user_id)
        return redirect(f"/admin/teams/{team_id}?done=removed", code=303)

    # -- a person's own teams (supervisors reach their members' activity here) ----------------------------------
    @web_page("GET", "/teams")
    def web_my_teams(self, request, principal):
        places = self.remote.call("permissions", "me")["teams"]          # the directory now, not a cached caller
        found = together(**{f"t{index}": (lambda team_id=place["id"]: self.remote.call("permissions", "get_team",
                                                                                        team_id))
                            for index, place in enumerate(places)}) if places else {}
        roles = {place["id"]: place["role"] for place in places}
        teams = [{**team, "my_role": roles.get(team["id"])} for team in found.values()]
        return render("my_teams.html", title="Your teams", nav="account", teams=teams, me=principal.get("id"),
                      admin=any(admin_of(principal)))

