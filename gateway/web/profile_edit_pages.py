"""Editing a profile in the browser (issue 16): everything PATCH /api/v1/profiles/{id} takes, one section a page.

/profiles/<id>/edit                 details: names, date of birth, gender, roles, contact, consent (a person);
                                    name, type and address (premises)
/profiles/<id>/edit/<section>       aliases | identifiers | addresses | flags | people (premises' linked people):
                                    the list, a "Remove" button for each item and a form to add one
/profiles/<id>/edit/herbert-protocol the dementia flag's Herbert Protocol details (what the API stores as its detail)

Every form carries the version it was read at and the PATCH sends it as If-Match: a list is rebuilt from the
profile as it is now, but only if that is still the version the user saw, so a stale form never removes the
wrong item; a stale form answers 409 with "someone else changed this" and the current values. Each POST needs
the session's CSRF token (web_page); only edit access sees the forms (else 403), and a profile the user may not
see is the one 404 page. The service validates: its errors are shown on the fields they name.
"""
from werkzeug.utils import redirect

from concord_common.errors import NotFound, PreconditionFailed, ValidationFailed
from gateway.web.profile_forms import Errors, date_from_parts, first_message, friendly, valid_uuid
from gateway.web.profile_views import (CONSENT_LABELS, FLAG_LABELS, PREMISES_LABELS, ROLE_LABELS, SCHEME_LABELS,
                                       as_date, not_found, problem_page, render, web_page)

SECTIONS = {"aliases": "Other names", "identifiers": "Identifiers", "addresses": "Addresses", "flags": "Flags",
            "people": "People linked to these premises"}
PERSON_SECTIONS = ("aliases", "identifiers", "addresses", "flags")
STALE = ("Someone else changed this profile while you were editing it. The page now shows the current details: "
         "make your change again")
CONTACT_PREFERRED = [("phone", "Phone"), ("mobile", "Mobile"), ("email", "Email"), ("letter", "Letter")]
HERBERT = ("description", "life_history", "places_they_may_go", "medication_and_needs")

# The service's field path (after the list index) -> (form input id, label).
ITEM_FIELDS = {
    "aliases": {"given_name": ("alias_given_name", "Given name"), "family_name": ("alias_family_name", "Family name")},
    "identifiers": {"scheme": ("identifier_scheme", "Type of identifier"), "value": ("identifier_value", "Number")},
    "addresses": {"line1": ("address_line1", "Address line 1"), "line2": ("address_line2", "Address line 2"),
                  "town": ("address_town", "Town or city"), "postcode": ("address_postcode", "Postcode"),
                  "uprn": ("address_uprn", "UPRN"), "from": ("address_from-day", "Lived there from"),
                  "to": ("address_to-day", "Lived there until")},
    "flags": {"flag": ("flag", "Flag"), "detail": ("flag_detail", "Detail")},
    "people": {"": ("q", "Person")},
}
DETAIL_FIELDS = {"given_name": ("given_name", "Given name"), "family_name": ("family_name", "Family name"),
                 "date_of_birth": ("date_of_birth-day", "Date of birth"), "gender": ("gender", "Gender"),
                 "roles": ("roles", "Roles"), "contact.phone": ("contact_phone", "Phone"),
                 "contact.mobile": ("contact_mobile", "Mobile"), "contact.email": ("contact_email", "Email"),
                 "contact.preferred": ("contact_preferred", "Preferred contact"),
                 "consent.status": ("consent_status", "Consent"), "consent.detail": ("consent_detail", "Consent detail"),
                 "name": ("name", "Name"), "premises_type": ("premises_type", "Type of premises"),
                 "address.line1": ("address_line1", "Address line 1"), "address.line2": ("address_line2",
                                                                                        "Address line 2"),
                 "address.town": ("address_town", "Town or city"), "address.postcode": ("address_postcode", "Postcode"),
                 "address.uprn": ("address_uprn", "UPRN")}
MISSING = {"given_name": "Enter a given name", "family_name": "Enter a family name", "name": "Enter a name",
           "address_line1": "Enter address line 1, typically the building and street",
           "address_postcode": "Enter a postcode", "identifier_value": "Enter the number",
           "alias_given_name": "Enter a given name or a family name", "flag": "Select a flag",
           "identifier_scheme": "Select the type of identifier"}


def _strip(form, names) -> dict:
    return {name: (form.get(name) or "").strip() for name in names}


def _field_errors(exc: ValidationFailed, errors: Errors, lookup, values: dict) -> None:
    """The service's paths (`identifiers.3.value`, `contact.email`) onto the form's inputs."""
    for path, messages in exc.errors.items():
        field, label = lookup(path)
        errors.add(field, friendly(first_message(messages), label, MISSING.get(field), value=values.get(field)))
    if not errors:
        errors.add("edit-form", exc.detail.rstrip("."))


def _item_lookup(section):
    def lookup(path):
        parts = path.split(".")
        if section == "flags" and len(parts) > 3 and parts[2] == "detail":          # flags.N.detail.<herbert>
            return f"herbert_{parts[3]}", parts[3].replace("_", " ").capitalize()
        key = parts[2] if len(parts) > 2 else ""
        return ITEM_FIELDS[section].get(key) or next(iter(ITEM_FIELDS[section].values()))
    return lookup


def _detail_lookup(path):
    if path.startswith("roles"):
        return DETAIL_FIELDS["roles"]
    return DETAIL_FIELDS.get(path) or ("given_name", "Details")


def _address_out(address: dict) -> dict:
    return {key: address.get(key) for key in ("line1", "line2", "town", "postcode", "uprn", "from", "to")}


def _flag_out(flag: dict) -> dict:
    return {"flag": flag["flag"], "detail": flag.get("detail")}


def _current_list(profile, section) -> list:
    if section == "aliases":
        return [{"given_name": a.get("given_name"), "family_name": a.get("family_name")}
                for a in profile.get("aliases") or []]
    if section == "identifiers":
        return [{"scheme": i["scheme"], "value": i["value"]} for i in profile.get("identifiers") or []]
    if section == "addresses":
        return [_address_out(a) for a in profile.get("addresses") or []]
    if section == "flags":
        return [_flag_out(f) for f in profile.get("flags") or []]
    return list(profile.get("linked_people") or [])


class ProfileEditPages:
    # -- shared --------------------------------------------------------------------------------------
    def _pe_editable(self, profile_id):
        """The profile, if the user may edit it: None for an unknown or unseen one (404); 403 for view only."""
        if not valid_uuid(profile_id):
            return None
        profile = self.remote.call("profiles", "get_profile", profile_id)
        level = self.remote.call("profiles", "check_access", "profile", profile["id"], "view").get("level")
        if level != "edit" or profile.get("merged_into"):
            raise _ViewOnly(profile)
        return profile

    def _pe_guard(self, fn, principal, profile_id, *args):
        try:
            profile = self._pe_editable(profile_id)
        except _ViewOnly as only:
            if only.profile.get("merged_into"):
                return problem_page(409, "This profile has been merged",
                                    "Change the profile it was merged into instead.")
            return problem_page(403, "You cannot change this profile",
                                f"You can view {only.profile['display_name']}'s profile but not change it. "
                                "Ask the team that leads it for edit access.")
        if profile is None:
            return not_found()
        return fn(principal, profile, *args)

    def _pe_patch(self, profile, version, payload):
        return self.remote.call("profiles", "update_profile", profile["id"], payload, f'"{version}"')

    # -- details -------------------------------------------------------------------------------------
    @web_page("GET", "/profiles/<profile_id>/edit")
    def web_profile_edit(self, request, principal, profile_id):
        return self._pe_guard(lambda p, profile: self._pe_details_page(p, profile, _details_form(profile)),
                              principal, profile_id)

    def _pe_details_page(self, principal, profile, form, errors: Errors | None = None, status=200):
        return render("profile_edit_details.html", status, title=f"Change details – {profile['display_name']}",
                      nav="profile", profile=profile, person=profile["kind"] == "person", form=form,
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      roles=ROLE_LABELS, consents=CONSENT_LABELS, preferred=CONTACT_PREFERRED,
                      premises_types=PREMISES_LABELS, csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/profiles/<profile_id>/edit")
    def web_profile_edit_save(self, request, principal, profile_id):
        return self._pe_guard(self._pe_details_save, principal, profile_id, request.form)

    def _pe_details_save(self, principal, profile, posted):
        form = _details_form_from(posted, profile["kind"])
        errors = Errors(list(DETAIL_FIELDS))
        if form["version"] != str(profile["version"]):
            return self._stale_details(principal, profile)
        payload, date_problem = _details_payload(form, profile["kind"])
        if date_problem:
            errors.add(*date_problem)
        try:
            if errors:
                raise ValidationFailed("One or more fields are invalid.", {})
            self._pe_patch(profile, form["version"], payload)
        except PreconditionFailed:
            return self._stale_details(principal, self.remote.call("profiles", "get_profile", profile["id"]))
        except ValidationFailed as exc:
            if exc.errors or not errors:
                _field_errors(exc, errors, _detail_lookup, form)
            return self._pe_details_page(principal, profile, form, errors, 422)
        return redirect(f"/profiles/{profile['id']}?changed=details#details", code=303)

    def _stale_details(self, principal, current):
        errors = Errors([])
        errors.add("edit-form", STALE)
        return self._pe_details_page(principal, current, _details_form(current), errors, 409)

    # -- lists ---------------------------------------------------------------------------------------
    @web_page("GET", "/profiles/<profile_id>/edit/<section>")
    def web_profile_edit_list(self, request, principal, profile_id, section):
        if section == "herbert-protocol":
            return self._pe_guard(lambda p, profile: self._pe_herbert_page(p, profile, _herbert_form(profile)),
                                  principal, profile_id)
        if section not in SECTIONS:
            return not_found()
        return self._pe_guard(lambda p, profile: self._pe_list_page(p, profile, section, {}, query=request.args),
                              principal, profile_id)

    def _pe_list_page(self, principal, profile, section, form, errors: Errors | None = None, status=200, query=None):
        if (section == "people") != (profile["kind"] == "premises"):
            return not_found()
        people, found = [], None
        change = ((query or {}).get("change") or form.get("index") or "")
        if section == "addresses" and change.isdigit() and int(change) < len(profile.get("addresses") or []):
            if "address_line1" not in form:             # "Change" on an address: the form filled with it
                form = _address_form(profile["addresses"][int(change)])
            form["index"] = change
        if section == "people":
            people = [(pid, self._pe_profile_or_none(pid)) for pid in profile.get("linked_people") or []]
            q = ((query or {}).get("q") or "").strip()
            form = {**form, "q": q or form.get("q", "")}
            if q and not errors:
                found, problem = self._pe_find_people(q, set(profile.get("linked_people") or []))
                if problem:
                    errors = Errors([])
                    errors.add("q", problem)
                    status = 422
        return render("profile_edit_list.html", status, title=f"{SECTIONS[section]} – {profile['display_name']}",
                      nav="profile", profile=profile, section=section, heading=SECTIONS[section], form=form,
                      people=people, found=found, schemes=SCHEME_LABELS, flags=FLAG_LABELS,
                      done=next((key for key in ("added", "changed", "removed") if (query or {}).get(key) == "1"), None),
                      errors=errors.by_field if errors else {}, error_summary=errors.summary() if errors else [],
                      csrf_token=principal.get("csrf_token"))

    def _pe_profile_or_none(self, profile_id):
        try:
            return self.remote.call("profiles", "get_profile", profile_id)
        except NotFound:
            return None

    def _pe_find_people(self, q, already):
        """People the user may open whose name or identifier matches (signposts cannot be linked)."""
        try:
            items = self.remote.call("profiles", "search_profiles", {"q": q, "limit": "20"})["items"]
        except ValidationFailed as exc:
            return None, friendly(first_message(next(iter(exc.errors.values()), [exc.detail])), "Name", value=q)
        return [item for item in items if item["access"] == "full" and item["kind"] == "person"
                and item["id"] not in already], None

    @web_page("POST", "/profiles/<profile_id>/edit/<section>")
    def web_profile_edit_add(self, request, principal, profile_id, section):
        if section == "herbert-protocol":
            return self._pe_guard(self._pe_herbert_save, principal, profile_id, request.form)
        if section not in SECTIONS:
            return not_found()
        return self._pe_guard(self._pe_list_add, principal, profile_id, section, request.form)

    @web_page("POST", "/profiles/<profile_id>/edit/<section>/remove")
    def web_profile_edit_remove(self, request, principal, profile_id, section):
        if section not in SECTIONS:
            return not_found()
        return self._pe_guard(self._pe_list_remove, principal, profile_id, section, request.form)

    def _pe_list_add(self, principal, profile, section, posted):
        if (section == "people") != (profile["kind"] == "premises"):
            return not_found()
        form, item, errors = _new_item(section, posted)
        if (posted.get("version") or "") != str(profile["version"]):
            return self._stale_list(principal, profile, section)
        items = _current_list(profile, section)
        index = posted.get("index") or "" if section == "addresses" else ""     # changing an address in place
        if index and (not index.isdigit() or int(index) >= len(items)):
            return self._stale_list(principal, profile, section)
        form["index"] = index
        if index:
            items[int(index)] = item
        else:
            items.append(item)
        try:
            if errors:
                raise ValidationFailed("One or more fields are invalid.", {})
            self._pe_patch(profile, profile["version"], {section if section != "people" else "linked_people": items})
        except PreconditionFailed:
            return self._stale_list(principal, profile, section)
        except ValidationFailed as exc:
            position = index or str(len(items) - 1)
            mine = {path: messages for path, messages in exc.errors.items()
                    if path.split(".")[1:2] in ([position], []) }
            if mine or not errors:
                _field_errors(ValidationFailed(exc.detail, mine), errors, _item_lookup(section), form)
            return self._pe_list_page(principal, profile, section, form, errors, 422)
        if section == "flags" and item["flag"] == "dementia" and not item.get("detail"):
            return redirect(f"/profiles/{profile['id']}/edit/herbert-protocol?added=1", code=303)
        return redirect(f"/profiles/{profile['id']}/edit/{section}?{'changed' if index else 'added'}=1", code=303)

    def _pe_list_remove(self, principal, profile, section, posted):
        items = _current_list(profile, section)
        index = posted.get("index") or ""
        if (posted.get("version") or "") != str(profile["version"]) or not index.isdigit() \
                or int(index) >= len(items):
            return self._stale_list(principal, profile, section)
        del items[int(index)]
        try:
            self._pe_patch(profile, profile["version"], {section if section != "people" else "linked_people": items})
        except PreconditionFailed:
            return self._stale_list(principal, profile, section)
        return redirect(f"/profiles/{profile['id']}/edit/{section}?removed=1", code=303)

    def _stale_list(self, principal, profile, section):
        current = self.remote.call("profiles", "get_profile", profile["id"])
        errors = Errors([])
        errors.add("edit-form", STALE)
        return self._pe_list_page(principal, current, section, {}, errors, 409)

    # -- the Herbert Protocol (the dementia flag's detail) ------------------------------------------
    def _pe_herbert_page(self, principal, profile, form, errors: Errors | None = None, status=200):
        if profile["kind"] != "person":
            return not_found()
        return render("profile_edit_herbert.html", status, title=f"Herbert Protocol – {profile['display_name']}",
                      nav="profile", profile=profile, form=form, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    def _pe_herbert_save(self, principal, profile, posted):
        if profile["kind"] != "person":
            return not_found()
        form = {**_strip(posted, [f"herbert_{key}" for key in HERBERT]), "version": posted.get("version") or ""}
        if form["version"] != str(profile["version"]):
            errors = Errors([])
            errors.add("edit-form", STALE)
            current = self.remote.call("profiles", "get_profile", profile["id"])
            return self._pe_herbert_page(principal, current, _herbert_form(current), errors, 409)
        detail = {key: form[f"herbert_{key}"] or None for key in HERBERT}
        detail["places_they_may_go"] = [line.strip() for line in form["herbert_places_they_may_go"].splitlines()
                                        if line.strip()] or None
        flags = _current_list(profile, "flags")
        position = next((n for n, flag in enumerate(flags) if flag["flag"] == "dementia"), None)
        if position is None:
            flags.append({"flag": "dementia", "detail": detail})
            position = len(flags) - 1
        else:
            flags[position] = {"flag": "dementia", "detail": detail}
        try:
            self._pe_patch(profile, form["version"], {"flags": flags})
        except PreconditionFailed:
            current = self.remote.call("profiles", "get_profile", profile["id"])
            errors = Errors([])
            errors.add("edit-form", STALE)
            return self._pe_herbert_page(principal, current, _herbert_form(current), errors, 409)
        except ValidationFailed as exc:
            errors = Errors([f"herbert_{key}" for key in HERBERT])
            _field_errors(exc, errors, _item_lookup("flags"), form)
            return self._pe_herbert_page(principal, profile, form, errors, 422)
        return redirect(f"/profiles/{profile['id']}?changed=herbert#flags", code=303)


class _ViewOnly(Exception):
    def __init__(self, profile):
        super().__init__()
        self.profile = profile


# -- reading and writing the forms --------------------------------------------------------------------
def _details_form(profile) -> dict:
    """The details form filled from the profile as it is now."""
    born = as_date(profile.get("date_of_birth"))
    contact = profile.get("contact") or {}
    consent = profile.get("consent") or {}
    address = profile.get("address") or {}
    return {"version": str(profile["version"]), "given_name": profile.get("given_name") or "",
            "family_name": profile.get("family_name") or "", "gender": profile.get("gender") or "",
            "dob": {"day": str(born.day), "month": str(born.month), "year": str(born.year)} if born else
            {"day": "", "month": "", "year": ""},
            "roles": list(profile.get("roles") or []),
            **{f"contact_{key}": contact.get(key) or "" for key in ("phone", "mobile", "email", "preferred")},
            "consent_status": consent.get("status") or "", "consent_detail": consent.get("detail") or "",
            "name": profile.get("name") or "", "premises_type": profile.get("premises_type") or "",
            **{f"address_{key}": address.get(key) or "" for key in ("line1", "line2", "town", "postcode", "uprn")}}


def _details_form_from(posted, kind) -> dict:
    names = ["version", "given_name", "family_name", "gender", "contact_phone", "contact_mobile", "contact_email",
             "contact_preferred", "consent_status", "consent_detail", "name", "premises_type", "address_line1",
             "address_line2", "address_town", "address_postcode", "address_uprn"]
    form = _strip(posted, names)
    form["dob"] = _strip({k.split("-")[1]: v for k, v in posted.items() if k.startswith("date_of_birth-")},
                         ("day", "month", "year"))
    form["roles"] = [role for role in posted.getlist("roles") if role]
    return form


def _details_payload(form, kind):
    """(the PATCH body, a date problem (field, message) or None)."""
    if kind == "premises":
        address = {"line1": form["address_line1"], "line2": form["address_line2"] or None,
                   "town": form["address_town"] or None, "postcode": form["address_postcode"],
                   "uprn": form["address_uprn"] or None}
        payload = {"name": form["name"], "premises_type": form["premises_type"] or None}
        if any(form[f"address_{key}"] for key in ("line1", "line2", "town", "postcode", "uprn")):
            payload["address"] = address
        return payload, None
    payload = {"given_name": form["given_name"], "family_name": form["family_name"],
               "gender": form["gender"] or None, "roles": form["roles"]}
    iso, problem, part = date_from_parts(form["dob"]["day"], form["dob"]["month"], form["dob"]["year"])
    payload["date_of_birth"] = iso
    contact = {key: form[f"contact_{key}"] or None for key in ("phone", "mobile", "email", "preferred")}
    payload["contact"] = contact if any(contact.values()) else None
    if form["consent_status"]:
        payload["consent"] = {"status": form["consent_status"], "detail": form["consent_detail"] or None}
    return payload, (f"date_of_birth-{part}", problem) if problem else None


def _new_item(section, posted):
    """(the form as typed, the new list item, Errors for what the page itself checks)."""
    errors = Errors([field for field, _ in ITEM_FIELDS[section].values()])
    if section == "aliases":
        form = _strip(posted, ["alias_given_name", "alias_family_name"])
        return form, {"given_name": form["alias_given_name"] or None,
                      "family_name": form["alias_family_name"] or None}, errors
    if section == "identifiers":
        form = _strip(posted, ["identifier_scheme", "identifier_value"])
        return form, {"scheme": form["identifier_scheme"], "value": form["identifier_value"]}, errors
    if section == "flags":
        form = _strip(posted, ["flag", "flag_detail"])
        return form, {"flag": form["flag"], "detail": form["flag_detail"] or None}, errors
    if section == "people":
        form = _strip(posted, ["profile_id"])
        return form, form["profile_id"], errors
    names = ["address_line1", "address_line2", "address_town", "address_postcode", "address_uprn"]
    form = _strip(posted, names)
    item = {"line1": form["address_line1"], "line2": form["address_line2"] or None,
            "town": form["address_town"] or None, "postcode": form["address_postcode"],
            "uprn": form["address_uprn"] or None}
    for end, label in (("from", "Lived there from"), ("to", "Lived there until")):
        parts = _strip({k.split("-")[1]: v for k, v in posted.items() if k.startswith(f"address_{end}-")},
                       ("day", "month", "year"))
        form[f"address_{end}"] = parts
        iso, problem, part = date_from_parts(parts["day"], parts["month"], parts["year"], label)
        if problem:
            errors.add(f"address_{end}-{part}", problem)
        item[end] = iso
    return form, item, errors


def _address_form(address) -> dict:
    def parts(value):
        found = as_date(value)
        return {"day": str(found.day), "month": str(found.month), "year": str(found.year)} if found else {}
    return {**{f"address_{key}": address.get(key) or "" for key in ("line1", "line2", "town", "postcode", "uprn")},
            "address_from": parts(address.get("from")), "address_to": parts(address.get("to"))}


def _herbert_form(profile) -> dict:
    flag = next((f for f in profile.get("flags") or [] if f["flag"] == "dementia"), None)
    detail = flag.get("detail") if flag and isinstance(flag.get("detail"), dict) else {}
    form = {f"herbert_{key}": detail.get(key) or "" for key in HERBERT}
    form["herbert_places_they_may_go"] = "\n".join(detail.get("places_they_may_go") or [])
    form["version"] = str(profile["version"])
    form["has_flag"] = flag is not None
    return form

