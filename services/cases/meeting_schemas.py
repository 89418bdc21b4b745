"""The meetings contract (services/cases/meetings.py): what comes in and what goes out (marshmallow).

Kept apart from schemas.py (which imports this module's CONTRACT into its own) so that the meetings' shapes
read in one place.
"""
from datetime import date, datetime, time, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from concord_common import clock
from concord_common.contract import Described

KINDS = ("asb_panel", "complex_case_panel", "iom_panel", "marac", "strategy_discussion", "other")
KIND_WORDS = {"asb_panel": "ASB panel", "complex_case_panel": "Complex case panel", "iom_panel": "IOM panel",
              "marac": "MARAC", "strategy_discussion": "Strategy discussion", "other": "Meeting"}
STATUSES = ("scheduled", "cancelled")
TEXT_MAX = 20000
# A meeting may be written up a little after it was due to start (the room was late, the form slow), not days.
PAST_GRACE = timedelta(hours=1)
FURTHEST = timedelta(days=3652)


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


class AttendeeSchema(Schema):
    """A team, or a whole organisation (each of its people), invited to the meeting."""
    team_id = fields.UUID(load_default=None)
    organisation_id = fields.UUID(load_default=None)

    @validates_schema
    def _one_of(self, data, **_):
        if (data.get("team_id") is None) == (data.get("organisation_id") is None):
            raise ValidationError({"team_id": ["Give a team_id or an organisation_id (one of them)."]})


class MeetingCreateSchema(Schema):
    """A new meeting, chaired by one of the caller's teams (an API client: a team of its organisation)."""
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), _not_blank])
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "Not in the past."})
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    online_link = fields.Url(load_default=None, allow_none=True, schemes={"https"}, validate=validate.Length(max=2000))
    chair_team_id = fields.UUID(required=True)
    attendees = fields.List(fields.Nested(AttendeeSchema), required=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "At least one team or organisation besides the chair."})

    @validates("starts_at")
    def _not_past(self, value, **_):
        if value < clock.now() - PAST_GRACE:
            raise ValidationError("Must not be in the past.")
        if value > clock.now() + FURTHEST:
            raise ValidationError("Must be within ten years.")

    @validates("attendees")
    def _someone(self, value, **_):
        if not value:
            raise ValidationError("Invite at least one team or organisation.")


class AgendaItemCreateSchema(Schema):
    """A case for the agenda, by its lead team, with the lawful basis for showing it to the attendees."""
    case_id = fields.UUID(required=True)
    lawful_basis = fields.String(required=True, validate=[validate.Length(min=3, max=500), _not_blank])


class DecisionCreateSchema(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=2000), _not_blank])
    action = fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "An action to set on the case (the body of POST /api/v1/cases/{id}/actions)."})


class MinutesCreateSchema(Schema):
    """The minutes of one agenda item (the chair team): what was discussed and what was decided."""
    discussion = fields.String(required=True, validate=[validate.Length(min=1, max=TEXT_MAX), _not_blank])
    decisions = fields.List(fields.Nested(DecisionCreateSchema), load_default=list,
                            validate=validate.Length(max=50))


class DateOrDateTime(fields.String):
    """A day (2026-12-07: its start, UTC) or an instant with a zone."""
    def _deserialize(self, value, attr, data, **kwargs):
        found = self._moment(value)
        if not 1970 <= found.year <= 2200:          # and so far from datetime's (and PostgreSQL's) limits
            raise ValidationError("Give a date between 1970 and 2200.")
        return found

    @staticmethod
    def _moment(value):
        if isinstance(value, str):
            try:
                return datetime.combine(date.fromisoformat(value), time(), timezone.utc)
            except ValueError:
                pass
            try:
                found = datetime.fromisoformat(value.replace("Z", "+00:00"))
                if found.tzinfo is not None:
                    return found
            except ValueError:
                pass
        raise ValidationError("Give a date (YYYY-MM-DD) or a date and time with a zone.")


class MeetingListSchema(Schema):
    from_ = DateOrDateTime(data_key="from", load_default=None, metadata={
        "description": "From this day or instant (default: the start of today, UTC)."})
    to = DateOrDateTime(load_default=None, metadata={"description": "Before this day or instant."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @pre_load
    def _blank_is_absent(self, data, **_):
        return {key: value for key, value in data.items() if value not in ("", None)} \
            if isinstance(data, dict) else data


# -- answers ------------------------------------------------------------------------------------------------------
class AttendeeViewSchema(Described):
    """A team (`team_id`, and its organisation) or a whole organisation invited."""
    team_id = fields.UUID(allow_none=True)
    organisation_id = fields.UUID()


class DecisionViewSchema(Described):
    id = fields.UUID()
    text = fields.String()
    action_id = fields.UUID(allow_none=True, metadata={"description": "The action it set on the case."})


class PersonSchema(Described):
    id = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)


class MinutesViewSchema(Described):
    """Minutes of one agenda item: never changed once written."""
    id = fields.UUID()
    discussion = fields.String()
    recorded_by = fields.Nested(PersonSchema)
    recorded_at = fields.DateTime()
    decisions = fields.List(fields.Nested(DecisionViewSchema))


class AgendaCaseSchema(Described):
    """The case of an agenda item as the caller may see it: `full` (a case they may open) or `signpost`
    (a case held by an organisation: no reference, title or content)."""
    access = fields.String(validate=validate.OneOf(["full", "signpost"]))
    id = fields.UUID(metadata={"description": "full only"})
    reference = fields.String(metadata={"description": "full only"})
    title = fields.String(metadata={"description": "full only"})
    case_type = fields.String(metadata={"description": "full only"})
    status = fields.String(metadata={"description": "full only"})
    owner_team_id = fields.UUID(metadata={"description": "full only"})
    organisation_id = fields.UUID(metadata={"description": "The organisation that leads the case."})


class AgendaItemViewSchema(Described):
    """A case on the agenda. Minutes are shown only with a case the caller may open."""
    id = fields.UUID()
    meeting_id = fields.UUID()
    position = fields.Integer()
    case = fields.Nested(AgendaCaseSchema)
    lawful_basis = fields.String(metadata={"description": "full only"})
    added_at = fields.DateTime()
    access_until = fields.DateTime(metadata={"description": "Attendees may view the case until then."})
    minutes = fields.List(fields.Nested(MinutesViewSchema))


class MeetingViewSchema(Described):
    """A meeting the caller's team chairs or attends (or their organisation is invited to)."""
    id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(KINDS))
    title = fields.String()
    starts_at = fields.DateTime()
    location = fields.String(allow_none=True)
    online_link = fields.String(allow_none=True)
    chair_team_id = fields.UUID()
    chair_organisation_id = fields.UUID()
    attendees = fields.List(fields.Nested(AttendeeViewSchema))
    status = fields.String(validate=validate.OneOf(STATUSES))
    is_chair = fields.Boolean(metadata={"description": "The caller is in the chair team (writes the minutes)."})
    agenda = fields.List(fields.Nested(AgendaItemViewSchema), metadata={"description": "One meeting only."})
    agenda_count = fields.Integer()
    created_at = fields.DateTime()
    cancelled_at = fields.DateTime(allow_none=True)


class MeetingPageSchema(Described):
    """Meetings the caller's teams chair or attend, soonest first."""
    items = fields.List(fields.Nested(MeetingViewSchema))


class MinutesAnswerSchema(Described):
    """The minutes written, and the agenda item they belong to."""
    agenda_item_id = fields.UUID()
    minutes = fields.Nested(MinutesViewSchema)


CONTRACT = {
    "MeetingCreate": MeetingCreateSchema, "AgendaItemCreate": AgendaItemCreateSchema,
    "MinutesCreate": MinutesCreateSchema, "MeetingList": MeetingListSchema, "Meeting": MeetingViewSchema,
    "MeetingPage": MeetingPageSchema, "AgendaItem": AgendaItemViewSchema, "MinutesAnswer": MinutesAnswerSchema,
}

