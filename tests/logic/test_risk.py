"""Risk assessments: how a template's answers make a score, a level and its factors, and the rules of assessing
and signing off, against a real cases database (no broker).

Who may see and make assessments through the gateway (restricted cases, signposts, partner clients) is the
matrix in tests/e2e/test_risk_assessments.py.
"""
import uuid

import pytest
from sqlalchemy import func, select

from concord_common.context import Caller, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.cases import listing, logic, notes, risk
from services.cases.models import RiskAssessment, RiskTemplate
from tests.logic import world

ORG = world.ORG_A
LEAD_TEAM, OTHER_TEAM = str(uuid.uuid4()), str(uuid.uuid4())


def person(name, team=LEAD_TEAM, role="practitioner", organisation=ORG):
    return Caller(kind="user", id=f"u-{name}-{uuid.uuid4().hex[:6]}", organisation_id=organisation,
                  teams=({"id": team, "role": role},), display_name=name.title())


@pytest.fixture
def run(cases_engine):
    """run(caller, fn, *args): fn(uow, *args) in one unit of work as `caller` (committed unless it raises)."""
    def call(caller, fn, *args):
        with unit_of_work(cases_engine, "cases", caller, new_request_id()) as uow:
            return fn(uow, *args)
    return call


class Profiles:
    def profile(self, profile_id):
        return {"id": profile_id, "kind": "person", "display_name": "Ann Example"}


def open_case(run, caller, case_type="asb", **extra):
    return run(caller, logic.create_case, {"case_type": case_type, "title": "Risk test case", **extra},
               Profiles(), world.Directory())


def count(cases_engine, case_id):
    with cases_engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RiskAssessment)
                            .where(RiskAssessment.case_id == case_id)).scalar_one()


# -- templates and scores ----------------------------------------------------------------------------------------
def test_the_two_shipped_templates_are_data(run):
    templates = {t["code"]: t for t in run(person("a"), lambda uow: risk.list_templates(uow.session, uow.caller))
                 ["items"]}
    assert {"matrix_5x5", "asb_vulnerability"} <= set(templates)
    matrix = templates["matrix_5x5"]
    assert matrix["method"] == "product"
    assert [q["code"] for q in matrix["questions"]] == ["likelihood", "impact"]
    assert [a["value"] for a in matrix["questions"][0]["answers"]] == [1, 2, 3, 4, 5]
    vulnerability = templates["asb_vulnerability"]
    assert vulnerability["method"] == "sum" and 10 <= len(vulnerability["questions"]) <= 14
    for question in vulnerability["questions"]:
        assert [a["value"] for a in question["answers"]] == ["yes", "no"]
        assert question["answers"][0]["points"] > 0 and question["answers"][1]["points"] == 0
    # The top threshold reaches the most a "yes" to everything can score.
    most = sum(q["answers"][0]["points"] for q in vulnerability["questions"])
    assert vulnerability["thresholds"][-1]["max"] == most


@pytest.mark.parametrize("likelihood, impact, level", [
    (1, 1, "low"), (2, 2, "low"), (1, 4, "low"), (1, 5, "medium"), (3, 4, "medium"), (4, 3, "medium"),
    (3, 5, "high"), (4, 4, "high"), (5, 5, "high")])
def test_the_matrix_score_is_the_product_and_its_band_the_level(run, likelihood, impact, level):
    template = run(person("a"), lambda uow: risk.template_view(uow.session.get(RiskTemplate, "matrix_5x5")))
    total, computed, factors = risk.score(template, {"likelihood": likelihood, "impact": impact})
    assert (total, computed) == (likelihood * impact, level)
    assert factors == [{"code": "likelihood", "answer": likelihood, "points": likelihood},
                       {"code": "impact", "answer": impact, "points": impact}]


def test_every_matrix_score_falls_in_exactly_one_band(run):
    template = run(person("a"), lambda uow: risk.template_view(uow.session.get(RiskTemplate, "matrix_5x5")))
    for total in {a * b for a in range(1, 6) for b in range(1, 6)}:
        bands = [t["level"] for t in template["thresholds"] if t["min"] <= total <= t["max"]]
        assert bands == [risk.level_for(template, total)], total


def test_bad_answers_are_named_by_question(run):
    template = run(person("a"), lambda uow: risk.template_view(uow.session.get(RiskTemplate, "matrix_5x5")))
    with pytest.raises(ValidationFailed) as refused:
        risk.score(template, {"likelihood": 6, "colour": "red"})
    assert set(refused.value.errors) == {"answers.likelihood", "answers.impact", "answers.colour"}
    assert refused.value.errors["answers.impact"] == ["Answer this question."]
    with pytest.raises(ValidationFailed) as refused:
        risk.score(template, {"likelihood": True, "impact": "3"})          # not 1, not 3
    assert set(refused.value.errors) == {"answers.likelihood", "answers.impact"}


# -- assessing ----------------------------------------------------------------------------------------------------
def test_an_assessment_explains_itself_and_shows_on_the_case(run, cases_engine):
    lead = person("lead")
    case = open_case(run, lead)
    answers = {q: "no" for q in ("repeat_victim", "targeted", "health_condition", "alone", "others_in_home",
                                 "unsafe_at_home", "daily_life", "health_worse", "self_harm", "violence",
                                 "escalating", "moving_out", "let_down")}
    answers.update(self_harm="yes", violence="yes", unsafe_at_home="yes")
    made = run(lead, risk.assess, case["id"], {"template": "asb_vulnerability", "answers": answers,
                                               "review_on": None})
    assert (made["score"], made["computed_level"], made["level"], made["override"]) == (12, "medium", "medium", None)
    assert {f["code"]: f["points"] for f in made["factors"] if f["points"]} == {
        "self_harm": 5, "violence": 4, "unsafe_at_home": 3}
    assert made["assessed_by"]["id"] == lead.id and made["signed_off_at"] is None
    seen = run(lead, logic.get_case, case["id"])
    assert seen["risk"] == {"id": made["id"], "level": "medium", "assessed_at": made["assessed_at"], "signed_off": False}
    kinds = [e["kind"] for e in run(lead, notes.timeline, case["id"], {})["items"]]
    assert kinds[0] == "risk_assessed"


def test_an_override_needs_a_reason_and_its_level_stands(run):
    lead = person("lead")
    case = open_case(run, lead)
    body = {"template": "matrix_5x5", "answers": {"likelihood": 2, "impact": 2}}
    for override, field in (({"level": "high"}, "override.reason"), ({"level": "severe", "reason": "Knife seen."},
                                                                      "override.level")):
        with pytest.raises(ValidationFailed) as refused:
            run(lead, risk.assess, case["id"], {**body, "override": override})
        assert field in refused.value.errors
    made = run(lead, risk.assess, case["id"], {**body, "override": {"level": "high", "reason": "Knife seen."}})
    assert (made["score"], made["computed_level"], made["level"]) == (4, "low", "high")
    assert made["override"] == {"level": "high", "reason": "Knife seen."}
    timeline = run(lead, notes.timeline, case["id"], {})["items"]
    assert {"risk_assessed", "risk_overridden"} <= {e["kind"] for e in timeline}


def test_refusals_write_nothing(run, cases_engine):
    lead = person("lead")
    case = open_case(run, lead, case_type="iom")                # offers matrix_5x5 only
    cases = {
        "template": {"template": "no_such", "answers": {}},
        "template ": {"template": "asb_vulnerability", "answers": {}},
        "answers.likelihood": {"template": "matrix_5x5", "answers": {"likelihood": 0, "impact": 3}},
        "subject_profile_id": {"template": "matrix_5x5", "answers": {"likelihood": 1, "impact": 3},
                               "subject_profile_id": str(uuid.uuid4())},
        "review_on": {"template": "matrix_5x5", "answers": {"likelihood": 1, "impact": 3}, "review_on": "2001-01-01"},
    }
    for field, body in cases.items():
        with pytest.raises(ValidationFailed) as refused:
            run(lead, risk.assess, case["id"], body)
        assert field.strip() in refused.value.errors, (field, refused.value.errors)
    assert count(cases_engine, case["id"]) == 0


def test_the_subject_must_be_on_the_case(run):
    lead = person("lead")
    profile_id = str(uuid.uuid4())
    case = open_case(run, lead)
    run(lead, logic.add_participant, case["id"], {"profile_id": profile_id, "role": "victim"}, Profiles())
    made = run(lead, risk.assess, case["id"], {"template": "matrix_5x5", "answers": {"likelihood": 5, "impact": 3},
                                               "subject_profile_id": profile_id})
    assert made["subject_profile_id"] == profile_id and made["level"] == "high"


def test_who_may_assess_and_see(run):
    lead, stranger = person("lead"), person("stranger", OTHER_TEAM)
    case = open_case(run, lead)
    body = {"template": "matrix_5x5", "answers": {"likelihood": 1, "impact": 1}}
    with pytest.raises(NotFound):
        run(stranger, risk.assess, case["id"], body)
    made = run(lead, risk.assess, case["id"], body)
    with pytest.raises(NotFound):
        run(stranger, risk.list_assessments, case["id"])
    with pytest.raises(NotFound):
        run(stranger, risk.get_assessment, made["id"])
    with pytest.raises(NotFound):
        run(stranger, risk.get_assessment, str(uuid.uuid4()))
    closed = open_case(run, lead)
    run(lead, logic.close_case, closed["id"], {"outcome": "resolved"})
    with pytest.raises(Conflict):
        run(lead, risk.assess, closed["id"], body)


# -- signing off --------------------------------------------------------------------------------------------------
def test_sign_off_by_a_supervisor_of_the_lead_team_who_did_not_assess(run):
    lead, supervisor = person("lead"), person("super", role="supervisor")
    other_supervisor = person("elsewhere", OTHER_TEAM, role="supervisor")
    case = open_case(run, lead)
    body = {"template": "matrix_5x5", "answers": {"likelihood": 4, "impact": 5}}
    own = run(supervisor, risk.assess, case["id"], body)
    with pytest.raises(Forbidden):
        run(supervisor, risk.sign_off, own["id"])                  # the assessor
    made = run(lead, risk.assess, case["id"], body)
    with pytest.raises(Forbidden):
        run(lead, risk.sign_off, made["id"])                       # not a supervisor
    with pytest.raises(NotFound):
        run(other_supervisor, risk.sign_off, made["id"])           # cannot see the case
    assert run(supervisor, risk.get_assessment, made["id"])["can_sign_off"] is True
    signed = run(supervisor, risk.sign_off, made["id"])
    assert signed["signed_off_by"]["id"] == supervisor.id and signed["signed_off_at"]
    with pytest.raises(Conflict):
        run(supervisor, risk.sign_off, made["id"])
    assert run(lead, logic.get_case, case["id"])["risk"]["signed_off"] is True
    history = run(lead, risk.list_assessments, case["id"])["items"]
    assert [a["id"] for a in history] == [made["id"], own["id"]]    # newest first
    assert "risk_signed_off" in {e["kind"] for e in run(lead, notes.timeline, case["id"], {})["items"]}


def test_lists_show_the_newest_level_never_on_signposts(run):
    lead, colleague = person("lead"), person("colleague", OTHER_TEAM)
    profile_id = str(uuid.uuid4())
    case = open_case(run, lead)
    run(lead, logic.add_participant, case["id"], {"profile_id": profile_id, "role": "victim"}, Profiles())
    run(lead, risk.assess, case["id"], {"template": "matrix_5x5", "answers": {"likelihood": 5, "impact": 5}})
    mine = run(lead, listing.list_cases, {"profile_id": profile_id})["items"]
    assert [(item["id"], item["risk"]["level"]) for item in mine] == [(case["id"], "high")]
    theirs = run(colleague, listing.list_cases, {"profile_id": profile_id})["items"]
    assert [item["access"] for item in theirs] == ["signpost"] and "risk" not in theirs[0]


def test_every_seeded_case_type_offers_templates_that_exist(run):
    from services.cases.models import CaseType

    def offered(uow):
        known = set(uow.session.execute(select(RiskTemplate.code)).scalars())
        return known, {row.code: list(row.risk_templates) for row in uow.session.execute(select(CaseType)).scalars()}
    known, types = run(person("a"), offered)
    assert types["asb"] == ["asb_vulnerability", "matrix_5x5"]
    assert all(codes and set(codes) <= known for codes in types.values()), types


def test_a_case_type_offers_only_templates_that_exist(run):
    from concord_common.context import SYSTEM
    from services.cases import case_types
    with pytest.raises(ValidationFailed) as refused:
        run(SYSTEM, case_types.create_type, {"code": f"t_{uuid.uuid4().hex[:8]}", "label": "Test type",
                                             "participant_roles": ["subject"], "review_days": 7,
                                             "risk_templates": ["matrix_5x5", "tea_leaves"]})
    assert refused.value.errors == {"risk_templates": [
        "There is no risk template tea_leaves: see GET /api/v1/risk-templates."]}
    with pytest.raises(ValidationFailed) as refused:
        run(SYSTEM, case_types.update_type, "iom", {"risk_templates": ["tea_leaves"]})
    assert "risk_templates" in refused.value.errors
