"""The risk pages of a case: assess (the template's questions as radios, an optional override with its reason),
an assessment with each answer's points, a supervisor's sign-off, and the case's history of assessments.

Server-rendered with GOV.UK Frontend, no JavaScript; CSRF on every form (web_page). The cases service decides
who may see and do what (services/cases/risk.py): a case the caller may not see is the cases' "Page not found".

Routes (GET unless said): /cases/<id>/risk (history), /cases/<id>/risk/new[?template=…] (+POST /cases/<id>/risk),
/cases/<id>/risk/<assessment_id>, POST /cases/<id>/risk/<assessment_id>/sign-off.
"""
from werkzeug.utils import redirect

from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gateway.http import together
from gateway.web.case_pages import case_page
from gateway.web.profile_forms import Errors, date_from_parts, first_message, friendly
from gateway.web.profile_views import render, templates
from gateway.web.words import words

LEVELS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]
LEVEL_COLOURS = {"low": "govuk-tag--green", "medium": "govuk-tag--yellow", "high": "govuk-tag--red"}
templates.filters.update(risk_label=lambda value: dict(LEVELS).get(value) or words(value),
                         risk_colour=lambda value: LEVEL_COLOURS.get(value, "govuk-tag--grey"))


class RiskPages:
    def _rp_templates(self) -> dict:
        return {t["code"]: t for t in self.remote.call("cases", "list_risk_templates")["items"]}

    def _rp_case_and_templates(self, case_id):
        """The case (NotFound if the caller may not see it), the templates its type offers, and may they edit."""
        found = together(case=lambda: self.remote.call("cases", "get_case", case_id), all=self._rp_templates,
                         types=lambda: self.remote.call("cases", "list_case_types")["items"],
                         why=lambda: self.remote.call("cases", "why", "case", case_id))
        case, types = found["case"], {t["code"]: t for t in found["types"]}
        case_type = types.get(case["case_type"], {"label": words(case["case_type"]), "risk_templates": []})
        offered = [found["all"][code] for code in case_type["risk_templates"] if code in found["all"]]
        return case, case_type, offered, bool(found["why"].get("can_edit"))

    # -- history ----------------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/risk")
    def web_case_risk_history(self, request, principal, case_id):
        found = together(case=lambda: self.remote.call("cases", "get_case", case_id),
                         items=lambda: self.remote.call("cases", "list_risk_assessments", case_id)["items"],
                         templates=self._rp_templates,
                         why=lambda: self.remote.call("cases", "why", "case", case_id))
        case = found["case"]
        return render("risk_history.html", 200, title=f"Risk assessments: {case['reference']}", nav="case",
                      case=case, assessments=found["items"], templates=found["templates"],
                      can_edit=bool(found["why"].get("can_edit")))

    # -- assess -----------------------------------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/risk/new")
    def web_case_risk_new(self, request, principal, case_id):
        return self._rp_form(principal, case_id, {"template": (request.args.get("template") or "").strip()})

    def _rp_form(self, principal, case_id, form, errors: Errors | None = None, status=200):
        case, case_type, offered, can_edit = self._rp_case_and_templates(case_id)
        if not can_edit:
            raise Forbidden("You may view this case but not change it, so you cannot assess risk on it.")
        chosen = next((t for t in offered if t["code"] == form.get("template")), None)
        if chosen is None and len(offered) == 1:
            chosen = offered[0]
        people = [p for p in case["participants"] if p["ended_at"] is None and p["profile_kind"] == "person"]
        return render("risk_assess.html", 422 if errors else status, title=f"Assess risk: {case['reference']}",
                      nav="case", case=case, case_type=case_type, offered=offered, risk_template=chosen, form=form,
                      people=people, levels=LEVELS, errors=errors.by_field if errors else {},
                      error_summary=errors.summary() if errors else [], csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/risk")
    def web_case_risk_create(self, request, principal, case_id):
        data = request.form
        form = {key: (data.get(key) or "").strip() for key in (
            "template", "subject_profile_id", "override_level", "override_reason", "review_on-day",
            "review_on-month", "review_on-year")}
        form["override"] = data.get("override") == "yes"
        template = self._rp_templates().get(form["template"])
        if template is None:                 # the form always names one: someone has been editing it
            return self._rp_form(principal, case_id, {"template": ""})
        form["answers"] = {q["code"]: (data.get(f"answer-{q['code']}") or "") for q in template["questions"]}
        order = ["template", "subject_profile_id"] + [f"answer-{q['code']}" for q in template["questions"]] + [
            "override_level", "override_reason", "review_on-day"]
        errors = Errors(order)
        payload = {"template": template["code"], "answers": {}}
        for question in template["questions"]:
            given = form["answers"][question["code"]]
            # The answer whose value reads as the radio's; an unanswered question is left out (the service names it).
            match = next((a["value"] for a in question["answers"] if str(a["value"]) == given), None)
            if given and match is None:
                match = given
            if match is not None:
                payload["answers"][question["code"]] = match
        if form["subject_profile_id"]:
            payload["subject_profile_id"] = form["subject_profile_id"]
        if form["override"]:
            payload["override"] = {"level": form["override_level"], "reason": form["override_reason"]}
        review_on, date_error, box = date_from_parts(form["review_on-day"], form["review_on-month"],
                                                     form["review_on-year"], "Review date")
        if date_error:
            errors.add(f"review_on-{box}", date_error)
        elif review_on:
            payload["review_on"] = review_on
        if not errors:
            try:
                made = self.remote.call("cases", "assess_risk", case_id, payload)
                return redirect(f"/cases/{case_id}/risk/{made['id']}?created=1", code=303)
            except ValidationFailed as exc:
                self._rp_errors(errors, exc.errors, template, form)
            except Conflict as exc:                  # the case was closed meanwhile
                errors.add("template", exc.detail.rstrip("."))
        return self._rp_form(principal, case_id, form, errors, 422)

    @staticmethod
    def _rp_errors(errors: Errors, found: dict, template: dict, form: dict) -> None:
        texts = {q["code"]: q["text"] for q in template["questions"]}
        for path, messages in found.items():
            message = first_message(messages)
            if path.startswith("answers."):
                code = path.split(".", 1)[1]
                if code in texts:
                    errors.add(f"answer-{code}", f"Answer: {texts[code].rstrip('?')}" if "Answer this" in message
                               else message.rstrip("."))
            elif path == "override.level":
                errors.add("override_level", "Select the level that stands instead")
            elif path == "override.reason":
                errors.add("override_reason", friendly(message, "Reason", "Enter why the level is different",
                                                       value=form["override_reason"]))
            elif path == "review_on":
                errors.add("review_on-day", "Review date must be today or in the future")
            elif path == "template":
                errors.add("template", message.rstrip("."))
            else:
                errors.add("subject_profile_id", message.rstrip("."))

    # -- one assessment, and signing it off -----------------------------------------------------------------------
    @case_page("GET", "/cases/<case_id>/risk/<assessment_id>")
    def web_case_risk_assessment(self, request, principal, case_id, assessment_id):
        banner = next((flag for flag in ("created", "signed") if request.args.get(flag) == "1"), None)
        return self._rp_assessment(principal, case_id, assessment_id, banner=banner)

    def _rp_assessment(self, principal, case_id, assessment_id, banner=None, error=None, status=200):
        found = together(case=lambda: self.remote.call("cases", "get_case", case_id),
                         assessment=lambda: self.remote.call("cases", "get_risk_assessment", assessment_id),
                         templates=self._rp_templates)
        case, assessment = found["case"], found["assessment"]
        if assessment["case_id"] != case["id"]:
            raise NotFound()
        template = found["templates"].get(assessment["template"]) or {"label": assessment["template"],
                                                                      "questions": [], "thresholds": []}
        questions = {q["code"]: q for q in template["questions"]}
        rows = []
        for factor in assessment["factors"]:
            question = questions.get(factor["code"], {"text": factor["code"], "answers": []})
            label = next((a["label"] for a in question["answers"] if a["value"] == factor["answer"]),
                         str(factor["answer"]))
            rows.append({"question": question["text"], "answer": label, "points": factor["points"]})
        subject = next((p for p in case["participants"] if p["profile_id"] == assessment["subject_profile_id"]), None)
        return render("risk_assessment.html", status, title=f"Risk assessment: {case['reference']}", nav="case",
                      case=case, assessment=assessment, risk_template=template, factors=rows, subject=subject,
                      banner=banner, error=error, csrf_token=principal.get("csrf_token"))

    @case_page("POST", "/cases/<case_id>/risk/<assessment_id>/sign-off")
    def web_case_risk_sign_off(self, request, principal, case_id, assessment_id):
        try:
            signed = self.remote.call("cases", "sign_off_risk_assessment", assessment_id)
        except (Forbidden, Conflict) as exc:
            return self._rp_assessment(principal, case_id, assessment_id, error=exc.detail,
                                       status=exc.status)
        return redirect(f"/cases/{signed['case_id']}/risk/{assessment_id}?signed=1", code=303)
