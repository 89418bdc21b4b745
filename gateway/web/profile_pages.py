"""The practitioners' profile pages: search, a profile, its history, create a person, merge and undo.

Server-rendered with GOV.UK Frontend; every page works without JavaScript. Pages authenticate as
pages.py does: the web session cookie, a redirect to /sign-in when there is none; every POST carries
the session's CSRF token, which `self.auth.require` checks. The services decide who may see what: a
profile the caller may not see renders the very same "Page not found" as an id that does not exist.

Routes (all GET unless said): /profiles (search), /profiles/new (+POST), /profiles/<id>,
/profiles/<id>/history, /profiles/<id>/merge?duplicate_id= (+POST), POST /profiles/<id>/unmerge,
POST /profiles/<id>/request-access.
"""
import uuid
from urllib.parse import urlencode

import eventlet
from werkzeug.utils import redirect

from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from concord_common.sizes import human_size
from gateway.directory_names import NAMES
from gateway.http import together
from gateway.routes.attachments import max_file_bytes
from gateway.web.profile_forms import (CREATE_ORDER, SEARCH_LABELS, SEARCH_ORDER, Errors, create_field,
                                       date_from_parts, first_message, friendly, safe_return, valid_uuid,
                                       with_params)
from gateway.web.profile_views import (FLAG_LABELS, LIKELY_DUPLICATE, SEARCH_PAGE_SIZE, as_date, long_date,
                                       not_found, render, web_page)


def search_title(criteria: dict) -> str:
    """The page title names what was searched for: "Okafor, born 4 May 2010, LS9 8AA – Search profiles"."""
    terms = [criteria.get("q"), criteria.get("identifier"),
             f"born {long_date(criteria['date_of_birth'])}" if criteria.get("date_of_birth") else None,
             criteria.get("postcode"),
             {"true": "under 18", "false": "18 or over"}.get(criteria.get("young_person")),
             f"family flag: {FLAG_LABELS[criteria['family_flag']].lower()}" if criteria.get("family_flag") else None]
    return ", ".join(term for term in terms if term) + " – Search profiles"


class ProfilePages:
    # -- lookups ------------------------------------------------------------------------------------
    def _pp_user_names(self, user_ids) -> dict:
        """{user id: display name}; someone the caller's directory does not show stays unnamed."""
        def one(user_id):
            try:
                return user_id, self.remote.call("permissions", "get_user", user_id)["display_name"]
            except NotFound:
                return user_id, None
        wanted = sorted({user_id for user_id in user_ids if user_id})
        if not wanted:
            return {}
        return dict(eventlet.GreenPool(min(8, len(wanted))).imap(one, wanted))

    @staticmethod
    def _pp_leads(principal, profile) -> bool:
        """Whether the signed-in person is in the team that leads the profile (only they may share it; the
        sharing page asks the profiles service, this only decides whether to offer the link, as the case page does)."""
        return profile["owner"]["team_id"] in {team.get("id") for team in principal.get("teams") or []}

    def _pp_level(self, profile_id) -> str | None:
        """view | edit for a profile the caller may see."""
        try:
            return self.remote.call("profiles", "check_access", "profile", profile_id, "view").get("level")
        except (NotFound, Forbidden):
            return None

    def _pp_profile_or_none(self, profile_id):
        try:
            return self.remote.call("profiles", "get_profile", profile_id)
        except NotFound:
            return None

    # -- search -------------------------------------------------------------------------------------
    @web_page("GET", "/profiles")
    def web_profiles_search(self, request, principal):
        return self._pp_search_page(principal, request.args)

    def _pp_search_page(self, principal, args, status=200):
        form = {key: (args.get(key) or "").strip() for key in ("q", "postcode", "identifier", "young_person",
                                                               "family_flag")}
        form["young_person"] = {"true": "true", "false": "false"}.get(form["young_person"], "")
        form["family_flag"] = form["family_flag"] if form["family_flag"] in FLAG_LABELS else ""
        parts = {part: (args.get(f"date_of_birth-{part}") or "").strip() for part in ("day", "month", "year")}
        errors = Errors(SEARCH_ORDER)
        criteria = {key: value for key, value in form.items() if value}
        iso, date_error, bad_part = date_from_parts(parts["day"], parts["month"], parts["year"])
        if date_error:
            errors.add(f"date_of_birth-{bad_part}", date_error)
        elif iso:
            criteria["date_of_birth"] = iso
        elif (args.get("date_of_birth") or "").strip():          # paging links carry the ISO date
            criteria["date_of_birth"] = args["date_of_birth"].strip()
            found = as_date(criteria["date_of_birth"])
            if found:
                parts = {"day": str(found.day), "month": str(found.month), "year": str(found.year)}
        limit = int(args["limit"]) if (args.get("limit") or "").isdigit() and 0 < int(args["limit"]) <= 100 \
            else SEARCH_PAGE_SIZE
        cursor = int(args["cursor"]) if (args.get("cursor") or "").isdigit() else 0
        submitted = any(key in args for key in ("q", "postcode", "identifier", "date_of_birth", "young_person",
                                                "family_flag",
                                                "date_of_birth-day", "date_of_birth-month", "date_of_birth-year"))
        results, organisations, next_cursor = None, {}, None
        if submitted and not errors:
            try:
                answer = self.remote.call("profiles", "search_profiles",
                                          {**criteria, "limit": str(limit), "cursor": str(cursor)})
                results, next_cursor = answer["items"], answer.get("next_cursor")
            except ValidationFailed as exc:
                for path, messages in exc.errors.items():
                    if path == "date_of_birth":
                        errors.add("date_of_birth-day", friendly(first_message(messages), "Date of birth"))
                    elif path in ("young_person", "family_flag"):        # offered as choices: not expected
                        errors.add("q", friendly(first_message(messages), SEARCH_LABELS.get(path, "Filter")))
                    elif path in ("postcode", "identifier"):
                        errors.add(path, friendly(first_message(messages), SEARCH_LABELS[path],
                                                  value=form[path]))
                    elif path == "q" and not criteria:
                        errors.add("q", "Enter a name, date of birth, postcode or identifier to search")
                    else:
                        errors.add("q", friendly(first_message(messages), "Name", value=form["q"]))
        if results and any(item["access"] == "signpost" for item in results):
            organisations = NAMES.organisation_names(self.remote)
        query = {**criteria}
        if limit != SEARCH_PAGE_SIZE:
            query["limit"] = str(limit)
        here = "/profiles?" + urlencode({**query, **({"cursor": str(cursor)} if cursor else {})})
        paging = {"previous": ("/profiles?" + urlencode({**query, **({"cursor": str(max(0, cursor - limit))}
                                                                    if cursor - limit > 0 else {})}))
                  if cursor > 0 else None,
                  "next": "/profiles?" + urlencode({**query, "cursor": next_cursor}) if next_cursor else None,
                  "first": cursor + 1, "last": cursor + len(results or [])}
        requested = args.get("requested")
        banner = None
        if requested:
            name = next((item["display_name"] for item in results or [] if item["id"] == requested), None)
            banner = {"pending": args.get("pending") == "1", "name": name}
        return render("profiles_search.html", 422 if errors else status, nav="search",
                      title=search_title(criteria) if submitted else "Search profiles", flags=FLAG_LABELS,
                      filtered=bool(form["young_person"] or form["family_flag"]),
                      form=form, parts=parts, errors=errors.by_field, error_summary=errors.summary(),
                      submitted=submitted, results=results, organisations=organisations, paging=paging,
                      here=here, banner=banner,
                      csrf_token=principal.get("csrf_token"))

    # -- ask for access (from a signpost) -------------------------------------------------------------
    @web_page("POST", "/profiles/<profile_id>/request-access")
    def web_profile_request_access(self, request, principal, profile_id):
        form = request.form
        reason = (form.get("reason") or "").strip()
        back = safe_return(form.get("return_to"))
        name = (form.get("name") or "").strip()[:300]
        if not valid_uuid(profile_id):
            return not_found()
        try:
            asked = self.remote.call("profiles", "request_access", "profile", profile_id, {"reason": reason})
        except ValidationFailed as exc:
            message = friendly(first_message(exc.errors.get("reason") or ["Give a reason."]), "Reason",
                               "Enter why you need access to this profile", value=reason)
            if not reason or message == "Give a reason":
                message = "Enter why you need access to this profile"
            return render("profile_request_access.html", 422, title="Request access", profile_id=profile_id,
                          name=name, reason=reason, return_to=back, errors={"reason": message},
                          error_summary=[{"href": "#reason", "text": message}],
                          csrf_token=principal.get("csrf_token"))
        except Conflict as exc:
            message = exc.detail.rstrip(".")
            return render("profile_request_access.html", 409, title="Request access", profile_id=profile_id,
                          name=name, reason=reason, return_to=back, errors={}, conflict=True,
                          error_summary=[{"href": "#reason", "text": message}],
                          csrf_token=principal.get("csrf_token"))
        pending = "0" if asked.get("created", True) else "1"
        return redirect(with_params(back, requested=profile_id, pending=pending), code=303)

    # -- one profile ---------------------------------------------------------------------------------
    @web_page("GET", "/profiles/<profile_id>")
    def web_profile_page(self, request, principal, profile_id):
        return self._pp_profile_page(principal, profile_id, request.args)

    def _pp_profile_page(self, principal, profile_id, args, status=200, errors=None):
        if not valid_uuid(profile_id):
            return not_found()
        # The profiles service's parts in one call (profile, level, families, matches, files, premises) beside the
        # person's cases (asked by the id in the address: a profile the caller may not see is the profiles
        # service's 404 whatever the cases service answers); then what depends on the profile, in parallel.
        first = together(page=lambda: self.remote.call("profiles", "profile_page", profile_id),
                         cases=lambda: self.remote.call("cases", "list_cases", {
                             "profile_id": str(uuid.UUID(profile_id)), "limit": "50", "sort": "-opened_at"})["items"])
        page = first["page"]
        profile = page["profile"]
        person = profile["kind"] == "person"
        calls = {"organisations": lambda: NAMES.organisation_names(self.remote),
                 "team": lambda: NAMES.team(self.remote, profile["owner"]["team_id"]),
                 "users": lambda: self._pp_user_names(flag.get("set_by") for flag in profile.get("flags") or [])}
        if profile.get("merged_into"):
            calls["survivor"] = lambda: self._pp_profile_or_none(profile["merged_into"])
        if profile.get("merged_from"):
            calls["merged_from"] = lambda: [(pid, self._pp_profile_or_none(pid)) for pid in profile["merged_from"]]
        if profile["kind"] == "premises" and profile.get("linked_people"):
            calls["linked"] = lambda: [(pid, self._pp_profile_or_none(pid)) for pid in profile["linked_people"]]
        found = {**together(**calls), "cases": first["cases"],
                 **{part: page[part] for part in ("level", "families", "matches", "attachments", "premises")}}
        uploaders = {item["uploaded_by"] for item in found["attachments"]} - set(found["users"])
        if uploaders:
            found["users"].update(self._pp_user_names(uploaders))
        matches = found.get("matches") or []
        banner = None
        if args.get("duplicates") == "1":
            likely = [match for match in matches if match["score"] >= LIKELY_DUPLICATE]
            banner = {"kind": "duplicates", "matches": likely, "created": args.get("created") == "1"} if likely \
                else None
        if banner is None:
            for flag in ("created", "merged", "merge_requested", "unmerged", "uploaded", "emergency"):
                if args.get(flag) == "1":
                    banner = {"kind": flag}
                    break
            if args.get("requested") and valid_uuid(args["requested"]):
                name = next((m["profile"]["display_name"] for m in matches
                             if m["profile"]["id"] == args["requested"]), None)
                banner = {"kind": "requested", "name": name, "pending": args.get("pending") == "1"}
        can_edit = found["level"] == "edit"
        return render("profile.html", status, title=profile["display_name"], nav="profile", profile=profile,
                      person=person, can_edit=can_edit, families=found["families"], matches=matches,
                      organisations=found["organisations"], team=found["team"], users=found["users"],
                      survivor=found.get("survivor"), merged_from=found.get("merged_from") or [],
                      linked=found.get("linked") or [], banner=banner, attachments=found["attachments"],
                      cases=found["cases"], may_share=self._pp_leads(principal, profile),
                      premises=found.get("premises") or [], changed=args.get("changed"),
                      max_upload=human_size(max_file_bytes(self)),
                      error_summary=errors or [], here=f"/profiles/{profile['id']}",
                      csrf_token=principal.get("csrf_token"))

    @web_page("GET", "/profiles/<profile_id>/history")
    def web_profile_history(self, request, principal, profile_id):
        if not valid_uuid(profile_id):
            return not_found()
        profile = self.remote.call("profiles", "get_profile", profile_id)
        items = self.remote.call("profiles", "profile_history", profile["id"], {})["items"]
        users = self._pp_user_names(item.get("by") for item in items)
        items = items[::-1]         # newest first (the service lists oldest first, in the order written)
        return render("profile_history.html", title=f"History of {profile['display_name']}", nav="profile",
                      profile=profile, items=items, users=users)

    # -- create a person -----------------------------------------------------------------------------
    @web_page("GET", "/profiles/new")
    def web_profile_new(self, request, principal):
        return self._pp_new_form(principal, {}, {"day": "", "month": "", "year": ""})

    def _pp_new_form(self, principal, form, parts, errors: Errors | None = None, status=200):
        teams = principal.get("teams") or []
        return render("profiles_new.html", status, title="Create a person profile", nav="new", form=form,
                      parts=parts, teams=teams, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/profiles/new")
    def web_profile_create(self, request, principal):
        names = ("given_name", "family_name", "gender", "nhs_number", "address_line1", "address_town",
                 "address_postcode", "owner_team_id")
        form = {key: (request.form.get(key) or "").strip() for key in names}
        parts = {part: (request.form.get(f"date_of_birth-{part}") or "").strip() for part in ("day", "month", "year")}
        errors = Errors(CREATE_ORDER)
        payload = {"kind": "person"}
        for key in ("given_name", "family_name", "gender", "owner_team_id"):
            if form[key]:
                payload[key] = form[key]
        iso, date_error, bad_part = date_from_parts(parts["day"], parts["month"], parts["year"])
        if date_error:
            errors.add(f"date_of_birth-{bad_part}", date_error)
            payload["date_of_birth"] = "not-a-date"     # so the service reports every other field too, writing nothing
        elif iso:
            payload["date_of_birth"] = iso
        if form["nhs_number"]:
            payload["identifiers"] = [{"scheme": "nhs_number", "value": form["nhs_number"]}]
        if form["address_line1"] or form["address_town"] or form["address_postcode"]:
            address = {"line1": form["address_line1"], "town": form["address_town"] or None,
                       "postcode": form["address_postcode"]}
            payload["addresses"] = [{key: value for key, value in address.items() if value}]
        if request.form.get("change") == "1":          # back from the likely matches (duplicate_check.py)
            return self._pp_new_form(principal, form, parts)
        if request.form.get("create_anyway") != "1" and not date_error:
            matches_page = self._dc_matches_page(principal, payload, form, parts)
            if matches_page is not None:
                return matches_page
        try:
            created = self.remote.call("profiles", "create_profile", payload)
        except ValidationFailed as exc:
            for path, messages in exc.errors.items():
                if path == "date_of_birth" and date_error:
                    continue
                field, label, missing = create_field(path)
                if path == "date_of_birth":
                    field = "date_of_birth-day"
                errors.add(field, friendly(first_message(messages), label, missing,
                                           value=form.get(field) if field in form else None))
            if not errors:
                errors.add("given_name", friendly(exc.detail, "Profile"))
            return self._pp_new_form(principal, form, parts, errors, 422)
        if date_error:          # cannot happen: the service refuses the date; never keep a half-checked form
            return self._pp_new_form(principal, form, parts, errors, 422)
        flags = {"created": "1"}
        if created.get("possible_duplicates"):
            flags["duplicates"] = "1"
        return redirect(f"/profiles/{created['id']}?{urlencode(flags)}", code=303)

    # -- merge and undo -------------------------------------------------------------------------------
    @web_page("GET", "/profiles/<profile_id>/merge")
    def web_profile_merge_confirm(self, request, principal, profile_id):
        return self._pp_merge_page(principal, profile_id, request.args.get("duplicate_id") or "")

    def _pp_merge_page(self, principal, survivor_id, duplicate_id, status=200, error=None):
        if not valid_uuid(survivor_id) or not valid_uuid(duplicate_id) or \
                str(uuid.UUID(survivor_id)) == str(uuid.UUID(duplicate_id)):
            return not_found()
        survivor = self.remote.call("profiles", "get_profile", survivor_id)
        duplicate = self.remote.call("profiles", "get_profile", duplicate_id)
        found = together(
            survivor_level=lambda: self._pp_level(survivor["id"]),
            duplicate_level=lambda: self._pp_level(duplicate["id"]),
            matches=lambda: self.remote.call("profiles", "profile_matches", survivor["id"],
                                             {"min_score": "0", "limit": "50"})["items"]
            if survivor["kind"] == "person" and not survivor.get("merged_into") else [],
            organisations=lambda: NAMES.organisation_names(self.remote))
        match = next((m for m in found["matches"] if m["profile"]["id"] == duplicate["id"]), None)
        blockers = []
        if found["survivor_level"] != "edit":
            blockers.append(f"You can only view {survivor['display_name']}'s profile, so you cannot merge into it")
        if found["duplicate_level"] != "edit":
            blockers.append(f"You can only view the other profile of {duplicate['display_name']}, "
                            "so you cannot merge it")
        if survivor.get("merged_into"):
            blockers.append("This profile has itself been merged into another: merge into that one instead")
        if duplicate.get("merged_into"):
            blockers.append(f"The other profile of {duplicate['display_name']} is already merged into a profile")
        if survivor["kind"] != duplicate["kind"]:
            blockers.append("A person and a premises cannot be merged")
        messages = blockers or ([error] if error else [])      # ours name the people; the service's, ids
        return render("profile_merge.html", status, title="Merge these profiles?", nav="profile",
                      survivor=survivor, duplicate=duplicate, match=match, blocked=bool(blockers),
                      organisations=found["organisations"],
                      error_summary=[{"href": "#merge", "text": message} for message in messages],
                      csrf_token=principal.get("csrf_token"))

    @web_page("POST", "/profiles/<profile_id>/merge")
    def web_profile_merge(self, request, principal, profile_id):
        duplicate_id = (request.form.get("duplicate_id") or "").strip()
        if not valid_uuid(profile_id):
            return not_found()
        try:
            answer = self.remote.call("profiles", "merge_profiles", profile_id, {"duplicate_id": duplicate_id})
        except (Forbidden, Conflict, ValidationFailed) as exc:
            message = exc.detail
            if isinstance(exc, ValidationFailed):
                message = first_message(next(iter(exc.errors.values()), [exc.detail]))
            return self._pp_merge_page(principal, profile_id, duplicate_id,
                                       {Forbidden: 403, Conflict: 409}.get(type(exc), 422), message.rstrip("."))
        if "merge_request" in answer:             # another team leads the duplicate: it was asked
            return redirect(f"/profiles/{profile_id}?merge_requested=1", code=303)
        return redirect(f"/profiles/{profile_id}?merged=1", code=303)

    @web_page("POST", "/profiles/<profile_id>/unmerge")
    def web_profile_unmerge(self, request, principal, profile_id):
        if not valid_uuid(profile_id):
            return not_found()
        duplicate_id = (request.form.get("duplicate_id") or "").strip()
        try:
            self.remote.call("profiles", "unmerge_profile", profile_id,
                             {"duplicate_id": duplicate_id} if duplicate_id else {})
        except (Forbidden, Conflict, ValidationFailed) as exc:
            message = exc.detail
            if isinstance(exc, ValidationFailed):
                message = first_message(next(iter(exc.errors.values()), [exc.detail]))
            return self._pp_profile_page(principal, profile_id, {},
                                         {Forbidden: 403, Conflict: 409}.get(type(exc), 422),
                                         [{"href": "#undo-merge", "text": message.rstrip(".")}])
        return redirect(f"/profiles/{profile_id}?unmerged=1", code=303)
