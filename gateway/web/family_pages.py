"""Families and premises in the browser (issue 16): the API's families calls and creating premises.

GET/POST /families/new                    create a family (name, lead team; `?profile_id=` starts it with that person)
GET      /families/<id>                   its members (a member the user cannot open shows only a name), who leads
                                          it, a link to "Who can see this" (/families/<id>/sharing) and, with edit
                                          access, "Remove" for each member and a form to find and add a person
POST     /families/<id>/members           add a member with a role, or change a member's role
POST     /families/<id>/members/<pid>/remove
GET/POST /premises/new                    create a premises profile (name, type, address, lead team)

The profiles service decides who may do what: a family the user may not see is the one 404 page; adding or
removing without edit access is a 403 page (and the forms are only shown to those with edit access).
"""
from werkzeug.utils import redirect

from concord_common.errors import Forbidden, NotFound, ValidationFailed
from gateway.directory_names import NAMES
from gateway.http import together
from gateway.web.profile_forms import Errors, first_message, friendly, valid_uuid
from gateway.web.profile_views import FAMILY_ROLE_LABELS, PREMISES_LABELS, not_found, render, web_page

FAMILY_ORDER = ["name", "owner_team_id", "role"]
PREMISES_ORDER = ["name", "premises_type", "address_line1", "address_line2", "address_town", "address_postcode",
                  "address_uprn", "owner_team_id"]
MISSING = {"name": "Enter a name", "role": "Select their role in the family", "profile_id": "Choose a person",
           "address_line1": "Enter address line 1, typically the building and street",
           "address_postcode": "Enter a postcode", "premises_type": "Select the type of premises",
           "owner_team_id": "Select the team that leads it"}
LABELS = {"name": "Name", "role": "Role", "profile_id": "Person", "owner_team_id": "Lead team",
          "premises_type": "Type of premises", "address_line1": "Address line 1", "address_line2": "Address line 2",
          "address_town": "Town or city", "address_postcode": "Postcode", "address_uprn": "UPRN"}


def _errors_from(exc: ValidationFailed, errors: Errors, form: dict, rename=lambda path: path) -> None:
    for path, messages in exc.errors.items():
        field = rename(path)
        errors.add(field, friendly(first_message(messages), LABELS.get(field, "This"), MISSING.get(field),
                                   value=form.get(field)))
    if not errors:
        errors.add(next(iter(errors.order), "name"), exc.detail.rstrip("."))


class FamilyPages:
    # -- a family ------------------------------------------------------------------------------------
    @web_page("GET", "/families/new")
    def web_family_new(self, request, principal):
        starter = self._fp_starter(request.args.get("profile_id"))
        return self._fp_new_form(principal, {"role": ""}, starter)

    def _fp_starter(self, profile_id):
        """The person a "new family" link on a profile starts the family with (only one the user may open)."""
        if not profile_id or not valid_uuid(profile_id):
            return None
        try:
            profile = self.remote.call("profiles", "get_profile", profile_id)
        except NotFound:
            return None
        return profile if profile["kind"] == "person" else None

    def _fp_new_form(self, principal, form, starter, errors: Errors | None = None, status=200):
        return render("family_new.html", status, title="Create a family", nav="profile", form=form,
                      starter=starter, teams=principal.get("teams") or [], roles=FAMILY_ROLE_LABELS,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/families/new")
    def web_family_create(self, request, principal):
        form = {key: (request.form.get(key) or "").strip() for key in ("name", "owner_team_id", "profile_id", "role")}
        starter = self._fp_starter(form["profile_id"])
        payload = {"name": form["name"], "members": []}
        if form["owner_team_id"]:
            payload["owner_team_id"] = form["owner_team_id"]
        errors = Errors(FAMILY_ORDER)
        if not form["name"]:
            errors.add("name", "Enter a name for the family")
        if starter:
            if not form["role"]:
                errors.add("role", MISSING["role"])
            payload["members"] = [{"profile_id": starter["id"], "role": form["role"]}]
        if errors:              # checked here, so nothing is written from a form with a gap in it
            return self._fp_new_form(principal, form, starter, errors, 422)
        try:
            created = self.remote.call("profiles", "create_family", payload)
        except ValidationFailed as exc:
            _errors_from(exc, errors, form, lambda path: "role" if path.startswith("members") else path)
            return self._fp_new_form(principal, form, starter, errors, 422)
        return redirect(f"/families/{created['id']}?created=1", code=303)

    @web_page("GET", "/families/<family_id>")
    def web_family_page(self, request, principal, family_id):
        return self._fp_family_page(principal, family_id, request.args)

    def _fp_family_page(self, principal, family_id, args, form=None, errors: Errors | None = None, status=200):
        if not valid_uuid(family_id):
            return not_found()
        family = self.remote.call("profiles", "get_family", family_id)
        found = together(
            level=lambda: self.remote.call("profiles", "check_access", "family", family["id"], "view").get("level"),
            team=lambda: NAMES.team(self.remote, family["owner"]["team_id"]))
        can_edit = found["level"] == "edit"
        form = form or {"q": (args.get("q") or "").strip(), "role": ""}
        people = None
        if can_edit and form.get("q"):
            try:
                members = {member["profile_id"] for member in family["members"]}
                items = self.remote.call("profiles", "search_profiles", {"q": form["q"], "limit": "20"})["items"]
                people = [item for item in items if item["access"] == "full" and item["kind"] == "person"
                          and item["id"] not in members]
            except ValidationFailed as exc:
                errors = errors or Errors(["q"])
                errors.add("q", friendly(first_message(next(iter(exc.errors.values()), [exc.detail])), "Name",
                                         value=form["q"]))
                status = 422
        banner = next((key for key in ("created", "added", "removed") if args.get(key) == "1"), None)
        return render("family.html", status, title=family["name"], nav="profile", family=family,
                      can_edit=can_edit, team=found["team"], roles=FAMILY_ROLE_LABELS, form=form, people=people,
                      banner=banner, may_share=family["owner"]["team_id"] in
                      {team.get("id") for team in principal.get("teams") or []},
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/families/<family_id>/members")
    def web_family_add_member(self, request, principal, family_id):
        if not valid_uuid(family_id):
            return not_found()
        form = {key: (request.form.get(key) or "").strip() for key in ("profile_id", "role", "q")}
        try:
            self.remote.call("profiles", "add_family_member", family_id,
                             {"profile_id": form["profile_id"], "role": form["role"]})
        except ValidationFailed as exc:
            errors = Errors(["role", "q"])
            for path, messages in exc.errors.items():
                field = "role" if path == "role" else "q"
                errors.add(field, friendly(first_message(messages), LABELS.get(path, "Person"), MISSING.get(path)))
            return self._fp_family_page(principal, family_id, {}, {"q": form["q"], "role": form["role"],
                                                                   "profile_id": form["profile_id"]}, errors, 422)
        return redirect(f"/families/{family_id}?added=1", code=303)

    @web_page("POST", "/families/<family_id>/members/<profile_id>/remove")
    def web_family_remove_member(self, request, principal, family_id, profile_id):
        if not valid_uuid(family_id) or not valid_uuid(profile_id):
            return not_found()
        self.remote.call("profiles", "remove_family_member", family_id, profile_id)
        return redirect(f"/families/{family_id}?removed=1", code=303)

    # -- premises ------------------------------------------------------------------------------------
    @web_page("GET", "/premises/new")
    def web_premises_new(self, request, principal):
        return self._fp_premises_form(principal, {})

    def _fp_premises_form(self, principal, form, errors: Errors | None = None, status=200):
        return render("premises_new.html", status, title="Create a premises profile", nav="new", form=form,
                      teams=principal.get("teams") or [], premises_types=PREMISES_LABELS,
                      team_options=[(team["id"], team["name"]) for team in principal.get("teams") or []],
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/premises/new")
    def web_premises_create(self, request, principal):
        form = {key: (request.form.get(key) or "").strip() for key in PREMISES_ORDER}
        payload = {"kind": "premises", "name": form["name"], "premises_type": form["premises_type"] or None}
        if form["owner_team_id"]:
            payload["owner_team_id"] = form["owner_team_id"]
        if any(form[key] for key in PREMISES_ORDER if key.startswith("address_")):
            payload["address"] = {"line1": form["address_line1"], "line2": form["address_line2"] or None,
                                  "town": form["address_town"] or None, "postcode": form["address_postcode"],
                                  "uprn": form["address_uprn"] or None}
        errors = Errors(PREMISES_ORDER)
        try:
            created = self.remote.call("profiles", "create_profile", payload)
        except ValidationFailed as exc:
            _errors_from(exc, errors, form, lambda path: path.replace("address.", "address_"))
            return self._fp_premises_form(principal, form, errors, 422)
        except Forbidden as exc:
            errors.add("owner_team_id", exc.detail.rstrip("."))
            return self._fp_premises_form(principal, form, errors, 403)
        return redirect(f"/profiles/{created['id']}?created=1", code=303)
