"""Actions on a case: set, change status or due date, list (a case's; the caller's across cases) and remind.
Plain functions over a unit of work, no nameko here.

An action is part of its case's file, not a record with an access list of its own:
* whoever may view the case may see its actions (a case they may not view: 404, as for the case);
* whoever may edit the case (its lead team, edit grantees, a partner system of the lead organisation with
  cases:write) may set one, for a team, or a person in a team, that can view the case (else 422 on assignee);
* the assignee, their team and the lead team may change its status (anyone else who can view the case: 403);
  only the lead team changes its due date.
The assignee is told when it is set (the event `case.action_set`), the day before it is due and once when it
is overdue (`case.action_reminder_sent`, from the scheduled job `cases.action_reminders`: `send_reminders`).
What was told is kept on the action row (`due_soon_told_for`, `overdue_told_for`: the due date told of) in the
transaction that puts the event in the outbox, so a reminder is given once however often the job runs.
"""
import uuid
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, text, union_all, update

from concord_common import clock
from concord_common.access.policy import decide, visible_clause
from concord_common.access.records import record_uuid
from concord_common.access.store import grants
from concord_common.context import Caller
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail
from concord_common.ops_metrics import due_work
from concord_common.schedule import Job
from services.cases.action_schemas import (ACTIVE, FINISHED, ActionCreateSchema, ActionListSchema,
                                           ActionUpdateSchema)
from services.cases import mash
from services.cases.logic import CASE, add_event, add_to_timeline, is_lead, load_case, read_case, today
from services.cases.models import Action, Case

ACTION_REMINDERS = Job("cases.action_reminders", seconds=3600)
BATCH = 1000
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}
SHARE_FIRST = "That team cannot see this case: share the case with it first."
_create_schema, _update_schema, _list_schema = ActionCreateSchema(), ActionUpdateSchema(), ActionListSchema()


CLOSED_CASE_NOTE = "The case was closed."


def _invalid(message: str, field: str = "assignee") -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def week_end(day):
    """The Sunday of `day`'s week: "due this week" is from today to then."""
    return day + timedelta(days=6 - day.weekday())


# -- who -------------------------------------------------------------------------------------------------------
def _team_can_view(access, team_id: str, organisation_id: str) -> bool:
    """Could every member of the team view the case: it leads it, or a grant covers the team or its organisation
    (personal grants — break-glass, an approved request — do not make a team able to work it)."""
    team = Caller(kind="user", id=None, organisation_id=organisation_id, teams=({"id": team_id},))
    return decide(team, access, "view", clock.now()).allowed


def resolve_assignee(directory, access, wanted: dict) -> dict:
    """{team_id, user_id, organisation_id, name} of a team or person who can view the case; 422 otherwise.
    A person is put on the first of their teams (by name) that can view the case: that team may act on it too."""
    if wanted.get("team_id"):
        team = directory.team(str(wanted["team_id"]))
        if team is None:
            raise _invalid("There is no such team.")
        if not _team_can_view(access, team["id"], team["organisation_id"]):
            raise _invalid(SHARE_FIRST)
        return {"team_id": team["id"], "user_id": None, "organisation_id": team["organisation_id"],
                "name": team["name"]}
    person = directory.user(str(wanted["user_id"]))
    if person is None or person.get("disabled"):
        raise _invalid("There is no such person (or their account is disabled).")
    team = next((t for t in person.get("teams") or ()
                 if _team_can_view(access, t["id"], person["organisation_id"])), None)
    if team is None:
        raise _invalid("That person's teams cannot see this case: share the case with their team first.")
    return {"team_id": team["id"], "user_id": person["id"], "organisation_id": person["organisation_id"],
            "name": person["display_name"]}


def is_assignee(caller, action) -> bool:
    return caller.kind == "user" and (caller.id == action.assignee_user_id
                                      or action.assignee_team_id in caller.team_ids())


def leads(caller, access) -> bool:
    """The lead team (or a partner system of the lead organisation allowed to write cases; or Concord)."""
    if caller.kind == "client":
        return caller.organisation_id == access.owner_organisation_id and \
            decide(caller, access, "edit", clock.now()).allowed
    return is_lead(caller, access)


# -- what an action looks like -----------------------------------------------------------------------------------
def is_overdue(action, on_day=None) -> bool:
    return action.status in ACTIVE and action.due < (on_day or today())


def action_view(action, reference: str, caller=None, lead: bool = False) -> dict:
    active = action.status in ACTIVE
    return {"id": action.id, "case_id": action.case_id, "case_reference": reference, "title": action.title,
            "detail": action.detail,
            "assignee": {"team_id": action.assignee_team_id, "user_id": action.assignee_user_id,
                         "organisation_id": action.assignee_organisation_id, "display_name": action.assignee_name},
            "due": _json(action.due), "priority": action.priority, "status": action.status,
            "status_note": action.status_note, "overdue": is_overdue(action),
            "set_by": {"id": action.set_by, "display_name": action.set_by_name}, "set_at": _json(action.set_at),
            "updated_at": _json(action.updated_at), "finished_at": _json(action.finished_at),
            "can_change_status": active and caller is not None and (lead or is_assignee(caller, action)),
            "can_change_due": active and lead}


def _told(action, reference: str) -> dict:
    """What events say of an action: enough to tell the assignee (title and case reference, which they may see),
    never the detail or a note's words (the audit log is read more widely than the case)."""
    return {"id": action.id, "title": action.title, "due": _json(action.due), "priority": action.priority,
            "status": action.status, "assignee": {"team_id": action.assignee_team_id,
                                                  "user_id": action.assignee_user_id,
                                                  "organisation_id": action.assignee_organisation_id}}


# -- set -------------------------------------------------------------------------------------------------------
def create_action(uow, case_id, payload, directory) -> dict:
    session, caller = uow.session, uow.caller
    row, access, _ = load_case(session, caller, case_id, "edit")
    data = load_or_fail(_create_schema, payload)
    if row.status == "closed":
        raise Conflict("The case is closed: reopen it before setting actions on it.")
    who = resolve_assignee(directory, access, data["assignee"])
    return action_view(set_action(uow, row, access, data, who), row.reference, caller, leads(caller, access))


def set_action(uow, row, access, data: dict, who: dict) -> Action:
    """Write a checked action (`data` loaded by ActionCreateSchema, `who` from resolve_assignee) on the case, its
    timeline line and its event: create_action, and a meeting's decision (services/cases/meetings.py)."""
    session, caller = uow.session, uow.caller
    now, due = clock.now(), data["due"]
    action = Action(id=str(uuid.uuid4()), case_id=row.id, title=data["title"].strip(),
                    detail=(data["detail"] or "").strip() or None, assignee_team_id=who["team_id"],
                    assignee_user_id=who["user_id"], assignee_organisation_id=who["organisation_id"],
                    assignee_name=who["name"], due=due, priority=data["priority"], status="open",
                    set_by=caller.id, set_by_name=caller.display_name, set_at=now, updated_by=caller.id,
                    updated_at=now,
                    # Set within a day of its date, the notice that it was set is its "due tomorrow" reminder.
                    due_soon_told_for=due if due <= today() + timedelta(days=1) else None)
    session.add(action)
    add_to_timeline(uow, row.id, "action_set", f"Action set for {who['name']}, due {due.isoformat()}: "
                    f"{action.title}", ref={"type": "action", "id": action.id}, at=now)
    add_event(uow, "action_set", row, access, reference=row.reference, action=_told(action, row.reference),
              detail_characters=len(action.detail or ""))
    session.flush()
    return action


# -- change ----------------------------------------------------------------------------------------------------
def _load_action(session, action_id, lock=False) -> Action:
    query = select(Action).where(Action.id == record_uuid(action_id))
    action = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if action is None:
        raise NotFound()
    return action


def update_action(uow, action_id, payload) -> dict:
    session, caller = uow.session, uow.caller
    action = _load_action(session, action_id, lock=True)
    row, access, _ = load_case(session, caller, action.case_id, "view")      # 404 if they may not view the case
    data = load_or_fail(_update_schema, payload)
    lead = leads(caller, access)
    if "due" in data and not lead:
        raise Forbidden("Only the team that leads the case may change when an action is due.")
    if "status" in data and not (lead or is_assignee(caller, action)):
        raise Forbidden("Only the assignee, their team and the team that leads the case may change an action's "
                        "status.")
    if action.status in FINISHED:
        raise Conflict(f"The action is {action.status}: it cannot be changed.")
    fields, lines = {}, []
    if "due" in data and data["due"] != action.due:
        fields["due"] = {"before": _json(action.due), "after": _json(data["due"])}
        lines.append(f"due date changed from {action.due.isoformat()} to {data['due'].isoformat()}")
        action.due = data["due"]
    status = data.get("status")
    if status and status != action.status:
        fields["status"] = {"before": action.status, "after": status}
        note = (data.get("note") or "").strip() or None
        lines.append(f"marked {STATUS_WORDS[status]}" + (f" ({note})" if note else ""))
        action.status, action.status_note = status, note or action.status_note
        if status in FINISHED:
            action.finished_at = clock.now()
    if fields:
        action.updated_at, action.updated_by = clock.now(), caller.id
        what = status if status in FINISHED and "status" in fields else "updated"
        add_to_timeline(uow, row.id, f"action_{what}", f"Action for {action.assignee_name} "
                        f"({action.title}): {'; '.join(lines)}"[:500], ref={"type": "action", "id": action.id})
        add_event(uow, f"action_{what}", row, access, reference=row.reference, action=_told(action, row.reference),
                  fields=fields, note_characters=len(data.get("note") or ""))
        session.flush()
    return action_view(action, row.reference, caller, lead)


def cancel_for_closed_case(uow, row, access) -> int:
    """When a case closes, its open and in-progress actions are cancelled (nobody should keep working on a closed
    case; a reopened case gets new actions): each with its timeline line and `case.action_cancelled` event, so
    the assignees' lists and the partner systems hear of it. Returns how many."""
    session, now = uow.session, clock.now()
    open_ones = session.execute(select(Action).where(Action.case_id == row.id, Action.status.in_(ACTIVE))
                                .order_by(Action.due, Action.id).with_for_update()).scalars().all()
    for action in open_ones:
        before = action.status
        action.status, action.status_note, action.finished_at = "cancelled", CLOSED_CASE_NOTE, now
        action.updated_at, action.updated_by = now, uow.caller.id
        add_to_timeline(uow, row.id, "action_cancelled", f"Action for {action.assignee_name} ({action.title}): "
                        f"cancelled because the case was closed"[:500], ref={"type": "action", "id": action.id})
        add_event(uow, "action_cancelled", row, access, reference=row.reference, action=_told(action, row.reference),
                  fields={"status": {"before": before, "after": "cancelled"}}, note_characters=0, case_closed=True)
    session.flush()
    return len(open_ones)


# -- lists -----------------------------------------------------------------------------------------------------
def _filters(a, criteria, on_day) -> list:
    found = []
    status = criteria["status"]
    if status == "active":
        found.append(a.c.status.in_(ACTIVE))
    elif status != "all":
        found.append(a.c.status == status)
    if criteria["overdue"] is not None:
        overdue = and_(a.c.status.in_(ACTIVE), a.c.due < on_day)
        found.append(overdue if criteria["overdue"] else ~overdue)
    if criteria["due_this_week"]:
        found.extend([a.c.status.in_(ACTIVE), a.c.due >= on_day, a.c.due <= week_end(on_day)])
    return found


def _counts(a, on_day):
    active = a.c.status.in_(ACTIVE)
    return [func.count().filter(active).label("active"),
            func.count().filter(and_(active, a.c.due < on_day)).label("overdue"),
            func.count().filter(and_(active, a.c.due >= on_day, a.c.due <= week_end(on_day))).label("due_this_week")]


def _columns(a, c):
    return [a, c.c.reference, c.c.owner_team_id, c.c.owner_organisation_id]


def _answer(caller, rows, criteria, counts, lead_of) -> dict:
    limit, offset = criteria["limit"], criteria["cursor"]
    return {"items": [action_view(row, row.reference, caller, lead_of(row)) for row in rows[:limit]],
            "next_cursor": str(offset + limit) if len(rows) > limit else None, "counts": dict(counts._mapping)}


def case_actions(uow, case_id, params) -> dict:
    """A case's actions, soonest due first (whoever may view the case; the read is recorded)."""
    row, access, decision = load_case(uow.session, uow.caller, case_id)
    criteria = load_or_fail(_list_schema, params or {})
    lead, on_day = leads(uow.caller, access), today()
    a, c = Action.__table__, Case.__table__
    rows = uow.session.execute(select(*_columns(a, c)).join(c, c.c.id == a.c.case_id)
                               .where(a.c.case_id == row.id, *_filters(a, criteria, on_day))
                               .order_by(a.c.due, a.c.id).limit(criteria["limit"] + 1)
                               .offset(criteria["cursor"])).all()
    counts = uow.session.execute(select(*_counts(a, on_day)).where(a.c.case_id == row.id)).one()
    add_event(uow, "viewed", row, access, level=decision.level, part="actions")
    return _answer(uow.caller, rows, criteria, counts, lambda _: lead)


def case_action(uow, case_id, action_id) -> dict:
    """The change-action form (and its POST) in one call: {"case": as get_case reads it, "action": as the case's
    list shows it}, recorded as one view of the case. It was the case and the case's whole list of actions, two
    calls and two recorded reads, to find one action. NotFound unless the action is on that case."""
    with uow.reads_as_one(CASE.record_type):
        row, access, decision, case = read_case(uow, case_id)
        a, c = Action.__table__, Case.__table__
        found = uow.session.execute(select(*_columns(a, c)).join(c, c.c.id == a.c.case_id)
                                    .where(a.c.case_id == row.id, a.c.id == record_uuid(action_id))).first()
        if found is None:
            raise NotFound()
        add_event(uow, "viewed", row, access, level=decision.level, part="action")
        return {"case": case, "action": action_view(found, found.reference, uow.caller, leads(uow.caller, access))}


def _whose(a, caller) -> list:
    """One condition per list the caller's actions come from: set for them by name; set for each of their teams."""
    return [a.c.assignee_user_id == caller.id] + [and_(a.c.assignee_user_id.is_(None), a.c.assignee_team_id == team)
                                                  for team in sorted(caller.team_ids())]


def my_actions(uow, params) -> dict:
    """Actions for the caller (set for them by name) or for their teams (set for the team), across every case
    they may still view, soonest due first; filtered and counted in SQL. Actions a team-mate was given by name
    are theirs, not the team's list (the team may still change them on the case page).

    One branch per source (the caller, each team), each walking its index in due order and stopping at the page,
    merged (UNION ALL, Merge Append): a team with thousands of open actions is not sorted whole for 50 of them."""
    session, caller = uow.session, uow.caller
    criteria = load_or_fail(_list_schema, params or {})
    if caller.kind != "user":
        return {"items": [], "next_cursor": None, "counts": {"active": 0, "overdue": 0, "due_this_week": 0},
                "research_requests": []}
    # Small ordered reads: a parallel plan only adds worker start-up (measured: 28 of 48 ms under load).
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    a, c, on_day = Action.__table__, Case.__table__, today()
    visible = visible_clause(caller, clock.now(), c, grants, "case")
    depth = criteria["cursor"] + criteria["limit"] + 1
    branches = [select(*_columns(a, c)).join(c, c.c.id == a.c.case_id)
                .where(who, visible, *_filters(a, criteria, on_day)).order_by(a.c.due, a.c.id).limit(depth)
                for who in _whose(a, caller)]
    merged = union_all(*branches).subquery()
    rows = session.execute(select(merged).order_by(merged.c.due, merged.c.id).limit(criteria["limit"] + 1)
                           .offset(criteria["cursor"])).all()
    # The counts are of active actions only: each branch reads the partial index of active actions. Those on
    # cases the caller's teams lead are counted from the index (the lead team is copied beside each action by a
    # trigger, 0012); only the others (shared cases) are checked against the case and its grants.
    teams = caller.team_ids()
    led = a.c.case_owner_team_id.in_(sorted(teams))
    active = union_all(*[branch for who in _whose(a, caller) for branch in (
        select(a.c.due).where(who, a.c.status.in_(ACTIVE), led),
        select(a.c.due).join(c, c.c.id == a.c.case_id).where(who, a.c.status.in_(ACTIVE), visible,
                                                             or_(a.c.case_owner_team_id.is_(None), ~led)))]
                       ).subquery()
    counts = session.execute(select(
        func.count().label("active"), func.count().filter(active.c.due < on_day).label("overdue"),
        func.count().filter(and_(active.c.due >= on_day, active.c.due <= week_end(on_day))).label("due_this_week"))
        .select_from(active)).one()
    page = _answer(caller, rows, criteria, counts, lambda row: row.owner_team_id in teams)
    # The second kind of item (issue 15): MASH research requests waiting for the caller's teams, on the first page.
    page["research_requests"] = mash.outstanding_requests(session, caller) if not criteria["cursor"] else []
    uow.add_event("case.searched", {"terms": {"assigned_to": "me", **{key: str(value) for key, value in criteria.items()
                                                                      if key not in ("limit", "cursor")
                                                                      and value is not None}},
                                    "results": len(page["items"]), "signposts": 0})
    return page


# -- reminders (the scheduled job) ---------------------------------------------------------------------------------
def reminders_due_clause(a, on_day):
    """Active actions not yet told they are overdue (the partial index case_actions_reminders_untold), due by
    tomorrow, that are overdue or whose "due soon" reminder was not given for their date."""
    return (a.status.in_(ACTIVE), or_(a.overdue_told_for.is_(None), a.overdue_told_for != a.due),
            a.due <= on_day + timedelta(days=1),
            or_(a.due < on_day, a.due_soon_told_for.is_(None), a.due_soon_told_for != a.due))


def _tell(uow, rows, on_day, tick, overdue_ids, soon_ids) -> None:
    """A timeline line and the event `case.action_reminder_sent` for each (action, case); which were told what."""
    for action, case_row in rows:
        overdue = action.due < on_day
        (overdue_ids if overdue else soon_ids).append(action.id)
        when_words = "overdue" if overdue else ("due today" if action.due == on_day else "due tomorrow")
        add_to_timeline(uow, case_row.id, "action_reminder", f"Reminder sent to {action.assignee_name}: "
                        f"action {when_words} (due {action.due.isoformat()}): {action.title}"[:500],
                        ref={"type": "action", "id": action.id})
        add_event(uow, "action_reminder_sent", case_row, reference=case_row.reference,
                  action=_told(action, case_row.reference), reminder="overdue" if overdue else "due_soon",
                  tick=tick.at.isoformat())


@due_work(ACTION_REMINDERS.name)
def reminders_due(conn) -> int:
    """Reminders due and not given (concord_scheduled_due): more than a tick's worth means the job lags."""
    return conn.execute(select(func.count()).select_from(Action)
                        .where(*reminders_due_clause(Action, today()))).scalar()


def send_reminders(uow, tick) -> int:
    """Remind the assignee of each action due tomorrow (or today, if the day before passed while no replica ran)
    and, once, of each overdue one; returns how many were told. Each is marked told with its event."""
    session, on_day, told = uow.session, today(), 0
    while True:
        rows = session.execute(select(Action, Case).join(Case, Case.id == Action.case_id)
                               .where(*reminders_due_clause(Action, on_day)).order_by(Action.due, Action.id)
                               .limit(BATCH).with_for_update(of=Action, skip_locked=True)).all()
        overdue_ids, soon_ids = [], []
        with session.no_autoflush:      # the timeline lines go in one batch, not one round trip before each event
            _tell(uow, rows, on_day, tick, overdue_ids, soon_ids)
        if overdue_ids:     # an overdue action's "due soon" reminder is past saying
            session.execute(update(Action).where(Action.id.in_(overdue_ids))
                            .values(overdue_told_for=Action.due, due_soon_told_for=Action.due))
        if soon_ids:
            session.execute(update(Action).where(Action.id.in_(soon_ids)).values(due_soon_told_for=Action.due))
        session.flush()
        session.expire_all()
        told += len(rows)
        if len(rows) < BATCH:
            return told


# -- the demo data set --------------------------------------------------------------------------------------------
def seed_demo_action(uow, case_id, payload, directory, days_late: int = 0) -> dict:
    """For `concord seed` only (the operators' CLI, as the system): an action set today and, for the demo's overdue
    one, moved `days_late` days into the past, as time passing would. Nobody else may date an action in the past."""
    if uow.caller.kind != "system":
        raise Forbidden("Only Concord itself may do this.")
    made = create_action(uow, case_id, {**payload, "due": today().isoformat()}, directory)
    if days_late > 0:
        due = today() - timedelta(days=days_late)
        uow.session.execute(update(Action).where(Action.id == made["id"]).values(due=due, due_soon_told_for=due))
        made.update(due=due.isoformat(), overdue=True)
    return made
