"""The cases contract: what comes in and what goes out (marshmallow)."""
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from concord_common import clock
from concord_common.attachments.schemas import AttachmentSchemas
from concord_common.contract import Described, ref

PARTICIPANT_ROLES = ("subject", "victim", "perpetrator", "offender", "witness", "complainant", "household_member",
                     "young_person", "carer", "premises_of_concern", "other")
PRIORITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "closed")
OUTCOMES = ("resolved", "no_further_action", "referred_elsewhere", "escalated", "withdrawn", "other")
NOTE_KINDS = ("update", "contact", "meeting", "decision", "third_party")
NOTE_MAX_CHARS = 20000
SORTS = ("-opened_at", "opened_at", "review_due", "-review_due", "-priority", "priority", "reference", "-reference")
CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,49}$", error="Use 2 to 50 lower-case letters, digits or underscores, "
                                                       "starting with a letter.")
STRICT_BOOLEAN = {"truthy": {True}, "falsy": {False}}          # JSON true/false only
QUERY_BOOLEAN = {"truthy": {"true", "1", "yes", True}, "falsy": {"false", "0", "no", False}}


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("List each one once.")


# -- case types -----------------------------------------------------------------------------------------------
class CaseTypeCreateSchema(Schema):
    """A new case type (system administrators)."""
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=[validate.Length(min=1, max=200), _not_blank])
    reference_prefix = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Z]{2,6}$", error="Use 2 to 6 capital letters."), metadata={
        "description": "Starts each reference (ASB-2026-000042); by default the code's first letters."})
    participant_roles = fields.List(fields.String(validate=validate.OneOf(PARTICIPANT_ROLES)), required=True,
                                    validate=[validate.Length(min=1), _unique])
    risk_templates = fields.List(fields.String(validate=CODE), load_default=list, validate=_unique)
    review_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3650))


class CaseTypeUpdateSchema(Schema):
    """A change to a case type (system administrators); `active: false` stops new cases of it."""
    label = fields.String(validate=[validate.Length(min=1, max=200), _not_blank])
    participant_roles = fields.List(fields.String(validate=validate.OneOf(PARTICIPANT_ROLES)),
                                    validate=[validate.Length(min=1), _unique])
    risk_templates = fields.List(fields.String(validate=CODE), validate=_unique)
    review_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    active = fields.Boolean(**STRICT_BOOLEAN)

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.")


# -- cases ------------------------------------------------------------------------------------------------------
class ParticipantCreateSchema(Schema):
    """A profile (person or premises), or a family (each current member), in a role on the case."""
    profile_id = fields.UUID(load_default=None)
    family_id = fields.UUID(load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(PARTICIPANT_ROLES))

    @validates_schema
    def _one_of(self, data, **_):
        if (data.get("profile_id") is None) == (data.get("family_id") is None):
            raise ValidationError({"profile_id": ["Give a profile_id or a family_id (one of them)."]})


class CaseCreateSchema(Schema):
    case_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), _not_blank])
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=NOTE_MAX_CHARS))
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    owner_team_id = fields.UUID(load_default=None)
    restricted = fields.Boolean(load_default=False, **STRICT_BOOLEAN)
    participants = fields.List(fields.Nested(ParticipantCreateSchema), load_default=list,
                               validate=validate.Length(max=100))


class CaseUpdateSchema(Schema):
    title = fields.String(validate=[validate.Length(min=1, max=300), _not_blank])
    summary = fields.String(allow_none=True, validate=validate.Length(max=NOTE_MAX_CHARS))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    review_due = fields.Date(allow_none=True)

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.")


class CloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=NOTE_MAX_CHARS))


class ReopenSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=2000), _not_blank])


class NoteCreateSchema(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=NOTE_MAX_CHARS), _not_blank])
    kind = fields.String(load_default="update", validate=validate.OneOf(NOTE_KINDS))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When it happened (default: now); not in the future."})
    sensitive = fields.Boolean(load_default=False, **STRICT_BOOLEAN, metadata={
        "description": "Seen by the lead team only."})

    @validates("occurred_at")
    def _not_in_future(self, value, **_):
        if value is not None and value > clock.now() + timedelta(minutes=5):
            raise ValidationError("Cannot be in the future.")


class CorrectionSchema(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=NOTE_MAX_CHARS), _not_blank])
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=2000), _not_blank])


class LinkCreateSchema(Schema):
    case_id = fields.UUID(required=True)


class CaseListSchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    case_type = fields.String(validate=validate.Length(min=1, max=50))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    team_id = fields.UUID()
    profile_id = fields.UUID()
    q = fields.String(validate=validate.Length(min=2, max=200))
    review_overdue = fields.Boolean(**QUERY_BOOLEAN)
    sort = fields.String(load_default="-opened_at", validate=validate.OneOf(SORTS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))

    @pre_load
    def _blank_is_absent(self, data, **_):
        return {key: value for key, value in data.items() if value not in ("", None)} \
            if isinstance(data, dict) else data


class PageSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


# -- answers (descriptive only: concord_common.contract.Described) -----------------------------------------------
class CaseTypeSchema(Described):
    """A business area cases are worked in."""
    code = fields.String()
    label = fields.String()
    reference_prefix = fields.String()
    participant_roles = fields.List(fields.String(validate=validate.OneOf(PARTICIPANT_ROLES)))
    risk_templates = fields.List(fields.String())
    review_days = fields.Integer()
    active = fields.Boolean()


class CaseTypePageSchema(Described):
    items = fields.List(fields.Nested(CaseTypeSchema))


class CaseOwnerSchema(Described):
    """The lead organisation and team of a case."""
    organisation_id = fields.UUID()
    team_id = fields.UUID()


class ParticipantViewSchema(Described):
    """A profile on the case in a role; `ended_at` once it no longer is (kept in the case's history)."""
    id = fields.UUID()
    profile_id = fields.UUID()
    profile_kind = fields.String(validate=validate.OneOf(["person", "premises"]))
    display_name = fields.String(metadata={"description": "The profile's name when it was added."})
    role = fields.String(validate=validate.OneOf(PARTICIPANT_ROLES))
    family_id = fields.UUID(allow_none=True)
    family_role = fields.String(allow_none=True)
    added_at = fields.DateTime()
    added_by = fields.String(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)


class LinkedCaseSchema(Described):
    """A case linked to this one (only those the caller may open are listed)."""
    id = fields.UUID()
    reference = fields.String()
    title = fields.String()
    case_type = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))


class CaseViewSchema(Described):
    """A case the caller may open (`access: full`)."""
    id = fields.UUID()
    reference = fields.String(metadata={"description": "Unique and readable: ASB-2026-000042."})
    case_type = fields.String()
    title = fields.String()
    summary = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    owner = fields.Nested(CaseOwnerSchema)
    restricted = fields.Boolean()
    participants = fields.List(fields.Nested(ParticipantViewSchema))
    linked_cases = fields.List(fields.Nested(LinkedCaseSchema))
    opened_at = fields.DateTime()
    opened_by = fields.String(allow_none=True)
    review_due = fields.Date(allow_none=True)
    review_overdue = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES))
    updated_at = fields.DateTime()
    version = fields.Integer()
    access = fields.String(validate=validate.OneOf(["full"]))
    risk = fields.Nested("CaseRiskSchema", allow_none=True, metadata={
        "description": "The newest risk assessment's level (none yet: null)."})


class InvolvedOrganisationSchema(Described):
    organisation_id = fields.UUID()


class CaseSignpostSchema(Described):
    """A case the caller may not open: its type, status and who is involved, and where to ask for access."""
    id = fields.UUID()
    access = fields.String(validate=validate.OneOf(["signpost"]))
    case_type = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    involved_organisations = fields.List(fields.Nested(InvolvedOrganisationSchema))
    request_access = fields.String(metadata={"description": "The path to POST an access request to."})


class CasePageSchema(Described):
    """Cases the caller may open and, where a profile or words were asked for, signposts."""
    items = fields.List(fields.Raw(metadata={"oneOf": [ref("Case"), ref("CaseSignpost")]}))
    next_cursor = fields.String(allow_none=True)


class AuthorSchema(Described):
    id = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)


class NoteViewSchema(Described):
    """A note on a case: never changed; a correction is a new note naming the one it `corrects`."""
    id = fields.UUID()
    case_id = fields.UUID()
    text = fields.String()
    kind = fields.String(validate=validate.OneOf(NOTE_KINDS))
    author = fields.Nested(AuthorSchema)
    occurred_at = fields.DateTime()
    recorded_at = fields.DateTime()
    sensitive = fields.Boolean()
    corrects = fields.UUID(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    corrected_by = fields.List(fields.UUID(), metadata={"description": "Notes that correct this one."})


class NotePageSchema(Described):
    items = fields.List(fields.Nested(NoteViewSchema))
    next_cursor = fields.String(allow_none=True)


class TimelineEntrySchema(Described):
    """One line of the case's chronology."""
    at = fields.DateTime()
    kind = fields.String(metadata={"description": "opened, participant_added, participant_ended, note, "
                                                  "note_corrected, updated, closed, reopened, linked, transferred …"})
    summary = fields.String()
    by = fields.Nested(AuthorSchema, allow_none=True)
    ref = fields.Dict(allow_none=True, metadata={"description": "What the entry is about: {type, id}."})


class TimelinePageSchema(Described):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    next_cursor = fields.String(allow_none=True)


class LinkViewSchema(Described):
    """Two cases now linked."""
    case_id = fields.UUID()
    linked_case = fields.Nested(LinkedCaseSchema)
    linked_at = fields.DateTime()


# Documents on cases (attachments.py): the shapes every record type's files have.
ATTACHMENTS = AttachmentSchemas("case", ("document",))

# The cases service's part of the API document: {name: schema} (the RPC contract_schemas).
CONTRACT = {
    "CaseTypeCreate": CaseTypeCreateSchema, "CaseTypeUpdate": CaseTypeUpdateSchema, "CaseType": CaseTypeSchema,
    "CaseTypePage": CaseTypePageSchema, "CaseCreate": CaseCreateSchema, "CaseUpdate": CaseUpdateSchema,
    "ParticipantCreate": ParticipantCreateSchema, "Close": CloseSchema, "Reopen": ReopenSchema,
    "NoteCreate": NoteCreateSchema, "Correction": CorrectionSchema, "LinkCreate": LinkCreateSchema,
    "CaseList": CaseListSchema, "Page": PageSchema, "Case": CaseViewSchema, "CaseSignpost": CaseSignpostSchema,
    "CasePage": CasePageSchema, "Participant": ParticipantViewSchema, "Note": NoteViewSchema,
    "NotePage": NotePageSchema, "TimelinePage": TimelinePageSchema, "Link": LinkViewSchema,
    "Owner": CaseOwnerSchema,
    "AttachmentForm": ATTACHMENTS.form, "AttachmentList": ATTACHMENTS.listing, "Attachment": ATTACHMENTS.view,
    "AttachmentPage": ATTACHMENTS.page,
}


# -- risk assessments (risk.py) ---------------------------------------------------------------------------------
RISK_LEVELS = ("low", "medium", "high")


class RiskOverrideSchema(Schema):
    """The assessor's own level instead of the computed one, and why."""
    level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=2000), _not_blank])


class RiskAssessmentCreateSchema(Schema):
    template = fields.String(required=True, validate=validate.Length(min=1, max=50), metadata={
        "description": "A template the case's type offers (GET /api/v1/case-types: risk_templates)."})
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                          validate=validate.Length(max=100), metadata={
                              "description": "{question code: answer value}, one for every question of the "
                                             "template (GET /api/v1/risk-templates)."})
    subject_profile_id = fields.UUID(load_default=None, allow_none=True, metadata={
        "description": "Whom it is about: a participant of the case."})
    override = fields.Nested(RiskOverrideSchema, load_default=None, allow_none=True)
    review_on = fields.Date(load_default=None, allow_none=True)

    @validates("review_on")
    def _not_in_past(self, value, **_):
        if value is not None and value < clock.now().date():
            raise ValidationError("Cannot be in the past.")


class RiskAnswerSchema(Described):
    """One answer a question takes, and the points it is worth."""
    value = fields.Raw(metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]})
    label = fields.String()
    points = fields.Integer()


class RiskQuestionSchema(Described):
    code = fields.String()
    text = fields.String()
    answers = fields.List(fields.Nested(RiskAnswerSchema))


class RiskThresholdSchema(Described):
    """Scores from `min` to `max` (both included) are this level."""
    level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    min = fields.Integer()
    max = fields.Integer()


class RiskTemplateSchema(Described):
    """Questions and how their answers' points make a score: `sum` adds them, `product` multiplies them."""
    code = fields.String()
    label = fields.String()
    method = fields.String(validate=validate.OneOf(["sum", "product"]))
    questions = fields.List(fields.Nested(RiskQuestionSchema))
    thresholds = fields.List(fields.Nested(RiskThresholdSchema))


class RiskTemplatePageSchema(Described):
    items = fields.List(fields.Nested(RiskTemplateSchema))


class RiskFactorSchema(Described):
    """One answer and the points it added to (or multiplied into) the score."""
    code = fields.String()
    answer = fields.Raw(metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]})
    points = fields.Integer()


class RiskOverrideViewSchema(Described):
    level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    reason = fields.String()


class RiskAssessmentSchema(Described):
    """A risk assessment on a case: the score and level computed from the answers, and the level that stands."""
    id = fields.UUID()
    case_id = fields.UUID()
    template = fields.String()
    subject_profile_id = fields.UUID(allow_none=True)
    answers = fields.Dict()
    score = fields.Integer()
    computed_level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    factors = fields.List(fields.Nested(RiskFactorSchema))
    override = fields.Nested(RiskOverrideViewSchema, allow_none=True)
    assessed_by = fields.Nested(AuthorSchema)
    assessed_at = fields.DateTime()
    review_on = fields.Date(allow_none=True)
    signed_off_by = fields.Nested(AuthorSchema, allow_none=True)
    signed_off_at = fields.DateTime(allow_none=True)


class RiskAssessmentPageSchema(Described):
    items = fields.List(fields.Nested(RiskAssessmentSchema))


class CaseRiskSchema(Described):
    """The newest risk assessment of a case."""
    id = fields.UUID()
    level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    assessed_at = fields.DateTime()
    signed_off = fields.Boolean()


CONTRACT.update({
    "RiskAssessmentCreate": RiskAssessmentCreateSchema, "RiskTemplatePage": RiskTemplatePageSchema,
    "RiskAssessment": RiskAssessmentSchema, "RiskAssessmentPage": RiskAssessmentPageSchema,
    "CaseRisk": CaseRiskSchema,
})

# The ASB toolkit (powers, complaints, Community Trigger): its own module, in the same document.
from services.cases.asb_schemas import CONTRACT as _ASB_CONTRACT  # noqa: E402

CONTRACT.update(_ASB_CONTRACT)

# Actions (action_schemas.py, issue 13).
from services.cases.action_schemas import ACTION_CONTRACT  # noqa: E402
CONTRACT.update(ACTION_CONTRACT)


# Meetings and panels (meeting_schemas.py), in the same part of the API document.
from services.cases.meeting_schemas import CONTRACT as _MEETINGS  # noqa: E402

CONTRACT.update(_MEETINGS)

# MASH referrals (mash_schemas.py, issue 15).
from services.cases.mash_schemas import MASH_CONTRACT  # noqa: E402
CONTRACT.update(MASH_CONTRACT)
