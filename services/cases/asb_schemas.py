"""The ASB toolkit's contract: powers, breaches, complaints and the Community Trigger (marshmallow).
Named in services/cases/schemas.py's CONTRACT, so the OpenAPI document has them."""
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from concord_common import clock
from concord_common.contract import Described

POWERS = ("cpw", "cpn", "civil_injunction", "cbo", "closure_notice", "closure_order", "dispersal_direction", "abc")
POWER_STATUSES = ("considered", "applied", "issued", "granted", "refused", "breached", "discharged", "expired")
TEXT_MAX = 20000


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _not_future(value):
    if value is not None and value > (clock.now() + timedelta(hours=14)).date():     # any UK-ish time zone
        raise ValidationError("Cannot be in the future.")


class _Dates:
    @validates_schema
    def _expiry_after_service(self, data, **_):
        served, expires = data.get("served_on"), data.get("expires_on")
        if served and expires and expires < served:
            raise ValidationError({"expires_on": ["Must be on or after the date it was served (served_on)."]})


class PowerCreateSchema(_Dates, Schema):
    """A power on the case; `profile_id`, if given, must be a participant of the case."""
    power = fields.String(required=True, validate=validate.OneOf(POWERS))
    profile_id = fields.UUID(load_default=None, allow_none=True)
    status = fields.String(load_default="considered", validate=validate.OneOf(POWER_STATUSES), metadata={
        "description": "A new power starts considered, applied, issued or granted (docs/asb.md)."})
    served_on = fields.Date(load_default=None, allow_none=True, validate=_not_future)
    expires_on = fields.Date(load_default=None, allow_none=True)
    conditions = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX))


class PowerUpdateSchema(_Dates, Schema):
    """A change of status, dates or conditions; the status moves only as docs/asb.md says."""
    status = fields.String(validate=validate.OneOf(POWER_STATUSES))
    served_on = fields.Date(allow_none=True, validate=_not_future)
    expires_on = fields.Date(allow_none=True)
    conditions = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX))

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.")


class BreachCreateSchema(Schema):
    occurred_on = fields.Date(required=True, validate=_not_future)
    detail = fields.String(required=True, validate=[validate.Length(min=1, max=TEXT_MAX), _not_blank])
    action_taken = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX))


class ExpiringSchema(Schema):
    expiring_within_days = fields.Integer(load_default=28, validate=validate.Range(min=0, max=366))

    @pre_load
    def _blank_is_absent(self, data, **_):
        return {k: v for k, v in data.items() if v not in ("", None)} if isinstance(data, dict) else data


class ComplaintCreateSchema(Schema):
    """A complaint of ASB on an ASB case, by a profile on the case."""
    complainant_profile_id = fields.UUID(required=True)
    received_on = fields.Date(required=True, validate=_not_future)
    summary = fields.String(required=True, validate=[validate.Length(min=1, max=TEXT_MAX), _not_blank])


class WithdrawSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=2000), _not_blank])


class ThresholdSchema(Schema):
    """An area's Community Trigger settings (its lead organisation's): complaints within months."""
    complaints = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=50))
    window_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=36))
    review_working_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=90))


# -- answers ------------------------------------------------------------------------------------------------------
class BreachViewSchema(Described):
    id = fields.UUID()
    power_id = fields.UUID()
    occurred_on = fields.Date()
    detail = fields.String()
    action_taken = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    recorded_by = fields.String(allow_none=True)


class PowerCaseSchema(Described):
    id = fields.UUID()
    reference = fields.String()
    title = fields.String()


class PowerViewSchema(Described):
    """A power on a case, with its breaches."""
    id = fields.UUID()
    case_id = fields.UUID()
    case = fields.Nested(PowerCaseSchema, metadata={"description": "In lists across cases."})
    power = fields.String(validate=validate.OneOf(POWERS))
    profile_id = fields.UUID(allow_none=True)
    subject_name = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(POWER_STATUSES))
    next_statuses = fields.List(fields.String(), metadata={"description": "Where the status may move next."})
    served_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    conditions = fields.String(allow_none=True)
    breaches = fields.List(fields.Nested(BreachViewSchema))
    recorded_at = fields.DateTime()
    updated_at = fields.DateTime()


class PowerPageSchema(Described):
    items = fields.List(fields.Nested(PowerViewSchema))


class ComplaintViewSchema(Described):
    id = fields.UUID()
    case_id = fields.UUID()
    complainant_profile_id = fields.UUID()
    complainant_name = fields.String(allow_none=True)
    received_on = fields.Date()
    summary = fields.String()
    recorded_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)
    activation_id = fields.UUID(allow_none=True, metadata={"description": "The activation it counted in."})


class ComplaintPageSchema(Described):
    items = fields.List(fields.Nested(ComplaintViewSchema))


class ActivationCaseSchema(Described):
    """A case in an activation: `access: full` (reference, title, lead) if the caller may open it, else a
    signpost naming the organisations that hold it, never its content."""
    id = fields.UUID(allow_none=True)
    access = fields.String(validate=validate.OneOf(["full", "signpost"]))
    reference = fields.String()
    title = fields.String()
    case_type = fields.String()
    owner = fields.Dict()
    involved_organisations = fields.List(fields.Dict())
    request_access = fields.String()


class ActivationSchema(Described):
    """A Community Trigger activation."""
    id = fields.UUID()
    complainant_profile_id = fields.UUID()
    met_on = fields.Date()
    review_due = fields.Date()
    review_overdue = fields.Boolean()
    status = fields.String(validate=validate.OneOf(["open"]))
    threshold = fields.Integer()
    window_months = fields.Integer()
    complaints = fields.List(fields.Dict(), metadata={"description": "{received_on, withdrawn} per complaint "
                                                                     "counted (withdrawn ones stay)."})
    complaints_withdrawn = fields.Integer()
    cases = fields.List(fields.Nested(ActivationCaseSchema))


class ActivationPageSchema(Described):
    items = fields.List(fields.Nested(ActivationSchema))


class ThresholdViewSchema(Described):
    organisation_id = fields.String(allow_none=True)
    complaints = fields.Integer()
    window_months = fields.Integer()
    review_working_days = fields.Integer()
    source = fields.String(validate=validate.OneOf(["deployment", "area"]))


CONTRACT = {
    "PowerCreate": PowerCreateSchema, "PowerUpdate": PowerUpdateSchema, "BreachCreate": BreachCreateSchema,
    "PowersExpiring": ExpiringSchema, "ComplaintCreate": ComplaintCreateSchema, "ComplaintWithdraw": WithdrawSchema,
    "TriggerThresholdSet": ThresholdSchema, "Power": PowerViewSchema, "PowerPage": PowerPageSchema,
    "Breach": BreachViewSchema, "Complaint": ComplaintViewSchema, "ComplaintPage": ComplaintPageSchema,
    "TriggerActivation": ActivationSchema, "TriggerActivationPage": ActivationPageSchema,
    "TriggerThreshold": ThresholdViewSchema,
}
