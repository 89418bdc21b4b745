"""The actions contract (actions.py): what comes in and what goes out. Named in schemas.CONTRACT.

Kept apart from schemas.py (which imports this module at its end), so it imports nothing from it."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from concord_common import clock
from concord_common.contract import Described

PRIORITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in_progress", "done", "cancelled")
ACTIVE = ("open", "in_progress")
FINISHED = ("done", "cancelled")
LIST_STATUSES = (*STATUSES, "active", "all")
QUERY_BOOLEAN = {"truthy": {"true", "1", "yes", True}, "falsy": {"false", "0", "no", False}}
TEXT_MAX = 20000


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _not_past(value):
    if value is not None and value < clock.now().date():
        raise ValidationError("Cannot be in the past.")


class AssigneeSchema(Schema):
    """Who does it: a team, or one person (in a team), of any organisation that can view the case."""
    team_id = fields.UUID(load_default=None)
    user_id = fields.UUID(load_default=None)


class ActionCreateSchema(Schema):
    """A new action on a case (those who may edit the case)."""
    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), _not_blank])
    detail = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX))
    assignee = fields.Nested(AssigneeSchema, required=True)
    due = fields.Date(required=True, validate=_not_past, metadata={"description": "Today or later (UTC)."})
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))

    @validates_schema(skip_on_field_errors=False)
    def _one_assignee(self, data, **_):
        wanted = data.get("assignee")
        if wanted is not None and (wanted.get("team_id") is None) == (wanted.get("user_id") is None):
            raise ValidationError("Give a team_id or a user_id (one of them).", "assignee")


class ActionUpdateSchema(Schema):
    """A change of status (the assignee, their team, the lead team) and/or of due date (the lead team)."""
    status = fields.String(validate=validate.OneOf(STATUSES[1:]))
    note = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX), metadata={
        "description": "Why: needed with done and cancelled."})
    due = fields.Date(validate=_not_past)

    @validates("note")
    def _note_not_blank(self, value, **_):
        if value is not None:
            _not_blank(value)

    @validates_schema(skip_on_field_errors=False)
    def _whole(self, data, **_):
        if not data or set(data) == {"note"}:
            raise ValidationError("Send a status or a due date to change.", "status" if data else "_schema")
        if data.get("status") in FINISHED and not (data.get("note") or "").strip():
            raise ValidationError(f"Say why the action is {data['status']}: a note is needed.", "note")


class ActionListSchema(Schema):
    """Filters of a list of actions (a case's, or the caller's)."""
    status = fields.String(load_default="active", validate=validate.OneOf(LIST_STATUSES), metadata={
        "description": "active (default: open and in progress), open, in_progress, done, cancelled, all."})
    overdue = fields.Boolean(load_default=None, allow_none=True, **QUERY_BOOLEAN, metadata={
        "description": "true: active actions whose due date has passed."})
    due_this_week = fields.Boolean(load_default=None, allow_none=True, **QUERY_BOOLEAN, metadata={
        "description": "true: active actions due from today to Sunday."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))

    @pre_load
    def _blank_is_absent(self, data, **_):
        return {key: value for key, value in data.items() if value not in ("", None)} \
            if isinstance(data, dict) else data


# -- answers ---------------------------------------------------------------------------------------------------
class AssigneeViewSchema(Described):
    team_id = fields.String()
    user_id = fields.String(allow_none=True)
    organisation_id = fields.String()
    display_name = fields.String(metadata={"description": "The team's (or person's) name when the action was set."})


class SetBySchema(Described):
    id = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)


class ActionViewSchema(Described):
    """An action on a case, as anyone who may view the case sees it."""
    id = fields.UUID()
    case_id = fields.UUID()
    case_reference = fields.String()
    title = fields.String()
    detail = fields.String(allow_none=True)
    assignee = fields.Nested(AssigneeViewSchema)
    due = fields.Date()
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    status_note = fields.String(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "Open or in progress, and its due date has passed."})
    set_by = fields.Nested(SetBySchema)
    set_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    can_change_status = fields.Boolean(metadata={"description": "The caller may change its status."})
    can_change_due = fields.Boolean(metadata={"description": "The caller may change its due date (lead team)."})


class ActionCountsSchema(Described):
    active = fields.Integer()
    overdue = fields.Integer()
    due_this_week = fields.Integer()


class ActionPageSchema(Described):
    items = fields.List(fields.Nested(ActionViewSchema))
    next_cursor = fields.String(allow_none=True)
    counts = fields.Nested(ActionCountsSchema, metadata={"description": "Over all the list's actions, whatever "
                                                                        "the status and date filters."})
    research_requests = fields.List(fields.Dict(), metadata={"description": "My actions only, first page: MASH "
                                                                            "research requests your teams have "
                                                                            "not answered, soonest due first."})


ACTION_CONTRACT = {"ActionCreate": ActionCreateSchema, "ActionUpdate": ActionUpdateSchema,
                   "ActionList": ActionListSchema, "Action": ActionViewSchema, "ActionPage": ActionPageSchema}
