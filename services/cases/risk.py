"""Risk assessments on cases: templates as data, a score that explains itself, a supervisor's sign-off.
Plain functions over a unit of work, no nameko.

A template (table risk_templates, seeded by migration 0008) lists questions and the points each answer is
worth; `sum` adds the points, `product` multiplies them; the score's range among the template's thresholds
is the computed level. Each answer is kept as a factor with its points, so an assessment shows why it came
out as it did. An assessor may override the level, with a reason. An assessment is part of its case's file,
not a record type of its own: whoever may view the case sees its assessments; making one needs edit on
the case; signing one off needs a supervisor of the case's lead team who is not the assessor.
"""
import math
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail
from services.cases.case_types import require_type
from services.cases.logic import add_event, add_to_timeline, load_case
from services.cases.models import Participant, RiskAssessment, RiskTemplate
from services.cases.schemas import RiskAssessmentCreateSchema

_create_schema = RiskAssessmentCreateSchema()
LEVEL_WORDS = {"low": "Low", "medium": "Medium", "high": "High"}


def _invalid(errors: dict) -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.", errors)


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- templates ---------------------------------------------------------------------------------------------------
def template_view(row) -> dict:
    return {"code": row.code, "label": row.label, "method": row.method, "questions": row.questions,
            "thresholds": row.thresholds}


def list_templates(session, caller) -> dict:
    rows = session.execute(select(RiskTemplate).where(RiskTemplate.active.is_(True))
                           .order_by(RiskTemplate.code)).scalars().all()
    return {"items": [template_view(row) for row in rows]}


def _answer_of(question: dict, given):
    """The template's answer `given` stands for, or None. JSON true is not 1: types must match too."""
    for answer in question["answers"]:
        if type(given) is type(answer["value"]) and given == answer["value"]:
            return answer
    return None


def score(template: dict, answers: dict) -> tuple[int, str, list[dict]]:
    """(score, level, factors) for answers to every question of `template`; ValidationFailed naming each
    question that is unanswered, answered with something it does not take, or not in the template."""
    errors, factors = {}, []
    codes = {question["code"] for question in template["questions"]}
    for code in answers:
        if code not in codes:
            errors[f"answers.{code}"] = [f"The {template['code']} template has no such question."]
    for question in template["questions"]:
        field = f"answers.{question['code']}"
        if question["code"] not in answers:
            errors[field] = ["Answer this question."]
            continue
        answer = _answer_of(question, answers[question["code"]])
        if answer is None:
            choices = ", ".join(str(a["value"]) for a in question["answers"])
            errors[field] = [f"Answer one of {choices}."]
            continue
        factors.append({"code": question["code"], "answer": answer["value"], "points": answer["points"]})
    if errors:
        raise _invalid(errors)
    points = [factor["points"] for factor in factors]
    total = math.prod(points) if template["method"] == "product" else sum(points)
    return total, level_for(template, total), factors


def level_for(template: dict, total: int) -> str:
    """The level whose range holds the score; below every range, the lowest; above, the highest."""
    thresholds = sorted(template["thresholds"], key=lambda t: t["min"])
    level = thresholds[0]["level"]
    for threshold in thresholds:
        if total >= threshold["min"]:
            level = threshold["level"]
    return level


def _template(session, code, case_type_row) -> dict:
    row = session.get(RiskTemplate, code)
    if row is None or not row.active:
        raise _invalid({"template": ["There is no such risk template: see GET /api/v1/risk-templates."]})
    if code not in case_type_row.risk_templates:
        offered = ", ".join(case_type_row.risk_templates) or "none"
        raise _invalid({"template": [f"A {case_type_row.label.lower()} case does not use the {code} template "
                                     f"(it offers: {offered})."]})
    return template_view(row)


# -- what an assessment looks like -------------------------------------------------------------------------------
def assessment_view(row) -> dict:
    overridden = row.override_reason is not None
    return {"id": row.id, "case_id": row.case_id, "template": row.template,
            "subject_profile_id": row.subject_profile_id, "answers": row.answers, "score": row.score,
            "computed_level": row.computed_level, "level": row.level, "factors": row.factors,
            "override": {"level": row.level, "reason": row.override_reason} if overridden else None,
            "assessed_by": {"id": row.assessed_by, "display_name": row.assessed_by_name},
            "assessed_at": _json(row.assessed_at), "review_on": _json(row.review_on),
            "signed_off_by": {"id": row.signed_off_by, "display_name": row.signed_off_by_name}
            if row.signed_off_by else None,
            "signed_off_at": _json(row.signed_off_at)}


def _event_view(row) -> dict:
    """What the audit log keeps of an assessment: the levels and the score, not the answers."""
    return {"id": row.id, "template": row.template, "score": row.score, "computed_level": row.computed_level,
            "level": row.level, "subject_profile_id": row.subject_profile_id}


# -- make one ----------------------------------------------------------------------------------------------------
def assess(uow, case_id, payload) -> dict:
    session, caller = uow.session, uow.caller
    row, access, _ = load_case(session, caller, case_id, "edit")
    found = {}

    def checks(data) -> dict:
        """The template and the answers, with the schema's own errors: every problem in one answer."""
        errors = {}
        try:
            if "template" in data:
                found["template"] = _template(session, data["template"],
                                              require_type(session, row.case_type, active_only=False))
                if "answers" in data:
                    found["scored"] = score(found["template"], data["answers"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
        subject = data.get("subject_profile_id")
        if subject and session.execute(select(Participant.id).where(
                Participant.case_id == row.id, Participant.profile_id == str(subject))).first() is None:
            errors["subject_profile_id"] = ["Not someone on this case: add them to the case first."]
        return errors
    data = load_or_fail(_create_schema, payload, db_checks=checks)
    if row.status == "closed":
        raise Conflict("The case is closed: reopen it before assessing risk on it.")
    template, (total, computed, factors) = found["template"], found["scored"]
    subject = str(data["subject_profile_id"]) if data["subject_profile_id"] else None
    override = data["override"]
    now = clock.now()
    assessment = RiskAssessment(
        id=str(uuid.uuid4()), case_id=row.id, template=template["code"], subject_profile_id=subject,
        answers={f["code"]: f["answer"] for f in factors}, factors=factors, score=total, computed_level=computed,
        level=override["level"] if override else computed,
        override_reason=override["reason"].strip() if override else None, assessed_by=caller.id,
        assessed_by_name=caller.display_name, assessed_at=now, review_on=data["review_on"])
    session.add(assessment)
    word = LEVEL_WORDS[assessment.level].lower()
    add_to_timeline(uow, row.id, "risk_assessed", f"Risk assessed ({template['label']}): {word}, score {total}",
                    ref={"type": "risk_assessment", "id": assessment.id}, at=now)
    add_event(uow, "risk_assessed", row, access, assessment=_event_view(assessment))
    if override:
        add_to_timeline(uow, row.id, "risk_overridden", f"Risk level set to {word} instead of "
                        f"{computed}: {assessment.override_reason}",
                        ref={"type": "risk_assessment", "id": assessment.id}, at=now)
        add_event(uow, "risk_overridden", row, access, assessment=_event_view(assessment),
                  fields={"level": {"before": computed, "after": assessment.level}},
                  reason=assessment.override_reason)
    session.flush()
    return assessment_view(assessment)


# -- read them ---------------------------------------------------------------------------------------------------
def list_assessments(uow, case_id) -> dict:
    row, access, decision = load_case(uow.session, uow.caller, case_id)
    found = uow.session.execute(select(RiskAssessment).where(RiskAssessment.case_id == row.id)
                                .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
                                ).scalars().all()
    add_event(uow, "viewed", row, access, level=decision.level, part="risk_assessments")
    return {"items": [assessment_view(a) for a in found]}


def _assessment(session, assessment_id, lock=False) -> RiskAssessment:
    found = session.get(RiskAssessment, records.record_uuid(assessment_id), with_for_update=lock or None)
    if found is None:
        raise NotFound()
    return found


def get_assessment(uow, assessment_id) -> dict:
    """One assessment, for whoever may view its case (404 otherwise, as for none)."""
    assessment = _assessment(uow.session, assessment_id)
    row, access, decision = load_case(uow.session, uow.caller, assessment.case_id)
    add_event(uow, "viewed", row, access, level=decision.level, part="risk_assessment",
              assessment={"id": assessment.id})
    return {**assessment_view(assessment), "can_sign_off": may_sign_off(uow.caller, access, assessment)}


# -- sign off ----------------------------------------------------------------------------------------------------
def may_sign_off(caller, access, assessment) -> bool:
    return (assessment.signed_off_at is None and caller.kind == "user" and caller.id != assessment.assessed_by
            and caller.team_role(access.owner_team_id) == "supervisor")


def sign_off(uow, assessment_id) -> dict:
    session, caller = uow.session, uow.caller
    assessment = _assessment(session, assessment_id, lock=True)
    row, access, _ = load_case(session, caller, assessment.case_id)          # 404 if they cannot see the case
    if caller.kind != "user" or caller.team_role(access.owner_team_id) != "supervisor":
        raise Forbidden("Only a supervisor of the team that leads the case may sign off its risk assessments.")
    if caller.id == assessment.assessed_by:
        raise Forbidden("Someone other than the assessor must sign off a risk assessment.")
    if assessment.signed_off_at is not None:
        raise Conflict("The risk assessment is already signed off.")
    assessment.signed_off_by, assessment.signed_off_by_name = caller.id, caller.display_name
    assessment.signed_off_at = clock.now()
    add_to_timeline(uow, row.id, "risk_signed_off",
                    f"Risk assessment signed off ({LEVEL_WORDS[assessment.level].lower()}, score {assessment.score})",
                    ref={"type": "risk_assessment", "id": assessment.id})
    add_event(uow, "risk_signed_off", row, access, assessment=_event_view(assessment),
              fields={"signed_off_at": {"before": None, "after": _json(assessment.signed_off_at)}})
    session.flush()
    return assessment_view(assessment)
