"""The MASH contract (mash.py, docs/mash.md): what comes in and what goes out. Named in schemas.CONTRACT.

Kept apart from schemas.py (which imports this module at its end), so it imports nothing from it."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from concord_common.contract import Described

CATEGORIES = ("child", "adult")
RAGS = ("red", "amber", "green")
STATUSES = ("received", "triaged", "decided")
OUTCOMES = ("strategy_discussion", "s47_enquiry", "child_in_need", "early_help", "adult_safeguarding_enquiry",
            "universal_services", "no_further_action")
ANSWERS = ("information", "nothing_known")
TEXT_MAX = 20000
PERSON_FIELDS = ("given_name", "family_name", "date_of_birth", "gender", "identifiers", "addresses", "aliases")


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _text(required=True, max_length=TEXT_MAX):
    return fields.String(required=required, validate=[validate.Length(min=1, max=max_length), _not_blank])


class SubjectSchema(Schema):
    """An existing profile the referrer may see (`profile_id`), or a new person's details: the profiles service
    links the best match above the threshold, else creates the profile (led by the MASH team)."""
    class Meta:
        unknown = EXCLUDE

    profile_id = fields.UUID(load_default=None)
    given_name = fields.String(validate=validate.Length(min=1, max=200))
    family_name = fields.String(validate=validate.Length(min=1, max=200))
    date_of_birth = fields.Date()
    gender = fields.String(validate=validate.Length(max=50))
    identifiers = fields.List(fields.Dict())
    addresses = fields.List(fields.Dict())
    aliases = fields.List(fields.Dict())

    @validates_schema(skip_on_field_errors=False)
    def _one_subject(self, data, **_):
        person = any(key in data for key in PERSON_FIELDS)
        if data.get("profile_id") is not None and person:
            raise ValidationError("Give a profile_id or a new person's details, not both.", "profile_id")
        if data.get("profile_id") is None:
            missing = [key for key in ("given_name", "family_name") if not (data.get(key) or "").strip()]
            if missing:
                raise ValidationError("Give a profile_id, or a new person's given_name and family_name.",
                                      "profile_id" if not person else missing[0])


class ReferrerSchema(Schema):
    name = _text(max_length=300)
    organisation = _text(max_length=300)
    contact = _text(max_length=500)


class ReferralCreateSchema(Schema):
    """A referral to the MASH (practitioners, and partner systems with scope mash:refer)."""
    subject = fields.Nested(SubjectSchema, required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    concerns = _text()
    referrer = fields.Nested(ReferrerSchema, required=True)
    received_at = fields.AwareDateTime(load_default=None, metadata={"description": "When the referral reached the "
                                                                                   "MASH; default now."})
    mash_team_id = fields.UUID(load_default=None, metadata={"description": "Needed only where there is more than "
                                                                           "one MASH team."})


class TriageSchema(Schema):
    rag = fields.String(required=True, validate=validate.OneOf(RAGS))
    rationale = _text()


class ResearchRequestCreateSchema(Schema):
    team_id = fields.UUID(required=True)
    question = _text(max_length=5000)
    due = fields.AwareDateTime(load_default=None, metadata={"description": "Default: now plus the RAG's timescale."})


class ResearchAnswerSchema(Schema):
    """The asked team's answer, once: what they know (`information`), or `nothing_known: true`."""
    information = fields.String(load_default=None, validate=validate.Length(max=TEXT_MAX))
    nothing_known = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=False)
    def _one_answer(self, data, **_):
        given = bool((data.get("information") or "").strip())
        if given == bool(data.get("nothing_known")):
            raise ValidationError("Give the information you hold, or nothing_known: true (one of them).",
                                  "information")


class OpenCaseSchema(Schema):
    case_type = fields.String(required=True)
    owner_team_id = fields.UUID(load_default=None, metadata={"description": "One of the decider's teams; default "
                                                                            "the MASH team."})


class DecisionSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    rationale = _text()
    open_case = fields.Nested(OpenCaseSchema, load_default=None)


class DashboardQuerySchema(Schema):
    mash_team_id = fields.UUID(load_default=None)


# -- answers ---------------------------------------------------------------------------------------------------
class ResearchRequestViewSchema(Described):
    id = fields.UUID()
    referral_id = fields.UUID(allow_none=True)
    reference = fields.String()
    subject_name = fields.String()
    team_id = fields.String()
    team_name = fields.String()
    question = fields.String()
    due = fields.DateTime()
    overdue = fields.Boolean()
    asked_at = fields.DateTime()
    answer = fields.String(allow_none=True, validate=validate.OneOf(ANSWERS))
    information = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class TriageViewSchema(Described):
    rag = fields.String(validate=validate.OneOf(RAGS))
    rationale = fields.String()
    respond_by = fields.DateTime()
    triaged_by = fields.String(allow_none=True)
    triaged_at = fields.DateTime()


class ReferralViewSchema(Described):
    """A referral as the MASH team sees it (the referrer sees only reference, status and outcome)."""
    id = fields.UUID()
    reference = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    concerns = fields.String()
    subject = fields.Dict()
    referrer = fields.Dict()
    mash_team_id = fields.String()
    received_at = fields.DateTime()
    rag = fields.String(allow_none=True)
    rag_rationale = fields.String(allow_none=True)
    respond_by = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    triage_history = fields.List(fields.Nested(TriageViewSchema))
    research_requests = fields.List(fields.Nested(ResearchRequestViewSchema))
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES))
    outcome_rationale = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    case_id = fields.UUID(allow_none=True)
    access = fields.String(metadata={"description": "full (MASH team) or referrer."})


class ReferralPageSchema(Described):
    items = fields.List(fields.Nested(ReferralViewSchema))
    next_cursor = fields.String(allow_none=True)


class DashboardSchema(Described):
    mash_team_id = fields.String()
    awaiting_triage = fields.Integer()
    by_rag = fields.Dict(keys=fields.String(), values=fields.Integer())
    overdue = fields.List(fields.Dict())
    research_outstanding = fields.List(fields.Dict(), metadata={"description": "By agency: organisation_id, teams, "
                                                                              "count, overdue."})
    decided_today = fields.Integer()
    as_at = fields.DateTime()


MASH_CONTRACT = {"ReferralCreate": ReferralCreateSchema, "Triage": TriageSchema,
                 "ResearchRequestCreate": ResearchRequestCreateSchema, "ResearchAnswer": ResearchAnswerSchema,
                 "Decision": DecisionSchema, "MashDashboardQuery": DashboardQuerySchema, "Referral": ReferralViewSchema, "ReferralPage": ReferralPageSchema,
                 "ResearchRequest": ResearchRequestViewSchema, "MashDashboard": DashboardSchema}
