"""The MASH pages (issue 15, docs/mash.md): the MASH dashboard a manager leaves open all day (it reloads itself
every 60 seconds with a meta refresh; a plain reload does the same without one), make a referral, one referral
with its triage, research and decision forms, and a research request as the asked team sees and answers it.

Routes (GET unless said): /mash, /mash/referrals/new (+POST), /mash/referrals/<id>, POST
/mash/referrals/<id>/triage | /research | /decision, /research-requests/<id> (+POST). No JavaScript needed;
every form carries the session's CSRF token. The cases service decides who may see and do what.
"""
from werkzeug.utils import redirect

from concord_common.errors import Conflict, Forbidden, ValidationFailed
from gateway.directory_names import NAMES
from gateway.web.case_pages import case_page
from gateway.web.profile_forms import Errors, date_from_parts, first_message
from gateway.web.profile_views import render

OUTCOMES = ("strategy_discussion", "s47_enquiry", "child_in_need", "early_help", "adult_safeguarding_enquiry",
            "universal_services", "no_further_action")
REFERRAL_FIELDS = ["mash_team_id", "given_name", "family_name", "date_of_birth-day", "profile_id", "category",
                   "concerns", "referrer_name", "referrer_organisation", "referrer_contact"]
FORM_FIELD = {"subject.profile_id": "profile_id", "subject.given_name": "given_name",
              "subject.family_name": "family_name", "subject.date_of_birth": "date_of_birth-day",
              "category": "category", "concerns": "concerns", "referrer.name": "referrer_name",
              "referrer.organisation": "referrer_organisation", "referrer.contact": "referrer_contact",
              "mash_team_id": "mash_team_id"}


def _form(request) -> dict:
    return {key: (value or "").strip() for key, value in request.form.items()}


def _service_errors(exc, errors, fields, fallback):
    for path, messages in (exc.errors or {}).items():
        errors.add(fields.get(path, fallback), first_message(messages).rstrip("."))


class MashPages:
    # -- the dashboard ----------------------------------------------------------------------------------------
    @case_page("GET", "/mash")
    def web_mash_dashboard(self, request, principal):
        try:
            board = self.remote.call("cases", "mash_dashboard", {})
        except Forbidden:
            return render("mash_dashboard.html", 200, title="MASH", nav="mash", board=None)
        referrals = self.remote.call("cases", "list_referrals", {})["items"]
        # Reloading itself is the viewer's choice, which they can stop (WCAG 2.2.1 Timing adjustable).
        reloading = request.args.get("reload") == "1"
        return render("mash_dashboard.html", 200, title="MASH dashboard", nav="mash", board=board,
                      referrals=referrals, refresh_seconds=60 if reloading else None)

    # -- make a referral ---------------------------------------------------------------------------------------
    def _mp_mash_teams(self) -> list[tuple[str, str]]:
        """(id, "team (organisation)") of every MASH: the referrer chooses where there is more than one."""
        teams = self.remote.call("permissions", "teams_of_kind", "mash")
        if len(teams) < 2:
            return []
        names = NAMES.organisation_names(self.remote)
        return [(team["id"], f"{team['name']} ({names.get(team['organisation_id'], 'another organisation')})")
                for team in teams]

    def _mp_new(self, principal, form, errors=None):
        return render("mash_referral_new.html", 422 if errors else 200, title="Make a MASH referral", nav="mash",
                      form=form, mash_teams=self._mp_mash_teams(), errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"),
                      parts={part: form.get(f"date_of_birth-{part}", "") for part in ("day", "month", "year")})

    @case_page("GET", "/mash/referrals/new")
    def web_mash_referral_new(self, request, principal):
        return self._mp_new(principal, {"profile_id": request.args.get("profile_id", "")})

    @case_page("POST", "/mash/referrals/new")
    def web_mash_referral_create(self, request, principal):
        form, errors = _form(request), Errors(REFERRAL_FIELDS)
        if form.get("profile_id"):
            subject = {"profile_id": form["profile_id"]}
        else:
            subject = {"given_name": form.get("given_name", ""), "family_name": form.get("family_name", "")}
            if any(form.get(f"date_of_birth-{part}") for part in ("day", "month", "year")):
                iso, message, part = date_from_parts(form.get("date_of_birth-day", ""),
                                                     form.get("date_of_birth-month", ""),
                                                     form.get("date_of_birth-year", ""), "Date of birth")
                if message:
                    errors.add(f"date_of_birth-{part}", message)
                subject["date_of_birth"] = iso
            for key, label in (("given_name", "Enter the person's first name"),
                               ("family_name", "Enter the person's last name")):
                if not subject[key]:
                    errors.add(key, label)
        if not form.get("category"):
            errors.add("category", "Select whether the person is a child or an adult")
        if not errors:
            payload = {"subject": subject, "category": form["category"], "concerns": form.get("concerns", ""),
                       "referrer": {"name": form.get("referrer_name", ""),
                                    "organisation": form.get("referrer_organisation", ""),
                                    "contact": form.get("referrer_contact", "")}}
            if form.get("mash_team_id"):
                payload["mash_team_id"] = form["mash_team_id"]
            try:
                made = self.remote.call("cases", "create_referral", payload)
                return redirect(f"/mash/referrals/{made['id']}?made=1", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, FORM_FIELD, "concerns")
        return self._mp_new(principal, form, errors)

    # -- one referral ------------------------------------------------------------------------------------------
    def _mp_teams(self, mash_team_id) -> list[tuple[str, str]]:
        """Teams research may be asked of: every team of every organisation but the MASH team."""
        found = []
        for organisation in self.remote.call("permissions", "list_organisations")["items"]:
            full = self.remote.call("permissions", "get_organisation", organisation["id"])
            found += [(team["id"], f"{team['name']} ({organisation['name']})") for team in full.get("teams") or ()
                      if team["id"] != mash_team_id]
        return found

    def _mp_referral(self, principal, referral_id, errors=None, form=None, status=200, done=None):
        referral = self.remote.call("cases", "get_referral", referral_id)
        case_types = self.remote.call("cases", "list_case_types")["items"] if referral["access"] == "full" else []
        teams = self._mp_teams(referral["mash_team_id"]) if referral["access"] == "full" and \
            referral["status"] != "decided" else []
        return render("mash_referral.html", 422 if errors else status, title=f"Referral {referral['reference']}",
                      nav="mash", referral=referral, teams=teams, outcomes=OUTCOMES, case_types=case_types,
                      form=form or {}, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"),
                      done=done)

    @case_page("GET", "/mash/referrals/<referral_id>")
    def web_mash_referral(self, request, principal, referral_id):
        done = next((key for key in ("made", "triaged", "asked", "decided") if request.args.get(key)), None)
        return self._mp_referral(principal, referral_id, done=done)

    def _mp_act(self, principal, referral_id, method, payload, fields, fallback, done):
        errors = Errors(list(fields.values()))
        try:
            self.remote.call("cases", method, referral_id, payload)
            return redirect(f"/mash/referrals/{referral_id}?{done}=1", code=303)
        except ValidationFailed as exc:
            _service_errors(exc, errors, fields, fallback)
        except Conflict as exc:
            errors.add(fallback, exc.detail.rstrip("."))
        return None, errors

    @case_page("POST", "/mash/referrals/<referral_id>/triage")
    def web_mash_triage(self, request, principal, referral_id):
        form = _form(request)
        answer = self._mp_act(principal, referral_id, "triage_referral",
                              {"rag": form.get("rag") or None, "rationale": form.get("rationale", "")},
                              {"rag": "rag", "rationale": "rationale"}, "rag", "triaged")
        if not isinstance(answer, tuple):
            return answer
        return self._mp_referral(principal, referral_id, answer[1], form)

    @case_page("POST", "/mash/referrals/<referral_id>/research")
    def web_mash_research(self, request, principal, referral_id):
        form = _form(request)
        answer = self._mp_act(principal, referral_id, "request_research",
                              {"team_id": form.get("team_id") or None, "question": form.get("question", "")},
                              {"team_id": "team_id", "question": "question"}, "team_id", "asked")
        if not isinstance(answer, tuple):
            return answer
        return self._mp_referral(principal, referral_id, answer[1], form)

    @case_page("POST", "/mash/referrals/<referral_id>/decision")
    def web_mash_decision(self, request, principal, referral_id):
        form = _form(request)
        payload = {"outcome": form.get("outcome") or None, "rationale": form.get("decision_rationale", "")}
        if form.get("case_type"):
            payload["open_case"] = {"case_type": form["case_type"]}
        answer = self._mp_act(principal, referral_id, "decide_referral", payload,
                              {"outcome": "outcome", "rationale": "decision_rationale",
                               "open_case.case_type": "case_type", "open_case.owner_team_id": "case_type"},
                              "outcome", "decided")
        if not isinstance(answer, tuple):
            return answer
        return self._mp_referral(principal, referral_id, answer[1], form)

    # -- a research request, as the asked team sees it ------------------------------------------------------------
    def _mp_request(self, principal, request_id, errors=None, form=None, done=False):
        asked = self.remote.call("cases", "get_research_request", request_id)
        return render("mash_research_request.html", 422 if errors else 200, title="MASH research request",
                      nav="actions", asked=asked, form=form or {}, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"),
                      done=done)

    @case_page("GET", "/research-requests/<request_id>")
    def web_research_request(self, request, principal, request_id):
        return self._mp_request(principal, request_id, done=bool(request.args.get("answered")))

    @case_page("POST", "/research-requests/<request_id>")
    def web_research_answer(self, request, principal, request_id):
        form, errors = _form(request), Errors(["answer", "information"])
        if form.get("answer") not in ("information", "nothing_known"):
            errors.add("answer", "Select whether your team holds information")
        elif form["answer"] == "information" and not form.get("information"):
            errors.add("information", "Enter what your team knows")
        if not errors:
            payload = {"information": form["information"]} if form["answer"] == "information" else \
                {"nothing_known": True}
            try:
                self.remote.call("cases", "answer_research", request_id, payload)
                return redirect(f"/research-requests/{request_id}?answered=1", code=303)
            except ValidationFailed as exc:
                _service_errors(exc, errors, {"information": "information"}, "answer")
            except (Conflict, Forbidden) as exc:
                errors.add("answer", exc.detail.rstrip("."))
        return self._mp_request(principal, request_id, errors, form)
