"""Partnership meetings (ASB panels, MARAC, strategy discussions …): their agendas, minutes and decisions.
Plain functions over a unit of work, no nameko.

A meeting is seen by its chair team and its attendees (teams, and whole organisations): to anyone else it
does not exist (the same 404). A case goes on an agenda only by its lead team, with a lawful basis; that
gives the chair team and every attendee a view grant on the case (concord_common.access, source "meeting",
source_id the meeting) until 7 days after the meeting, in the same transaction, each grant a `case.shared`
event like any other. Taking the case off the agenda, or cancelling the meeting, revokes them. The minutes
of an item are written by the chair team; each decision may set an action on the case (services/cases/actions.py:
checked and written as any action is, the assignee one who can view the case).
"""
import uuid
from datetime import timedelta

from sqlalchemy import and_, exists, false, func, or_, select, true, update

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail
from services.cases import actions
from services.cases.action_schemas import ActionCreateSchema
from services.cases.logic import CASE, add_event, add_to_timeline, is_lead
from services.cases.meeting_schemas import (KIND_WORDS, AgendaItemCreateSchema, MeetingCreateSchema,
                                            MeetingListSchema, MinutesCreateSchema)
from services.cases.models import AgendaItem, Case, Decision, Meeting, MeetingAttendee, Minutes

ACCESS_AFTER = timedelta(days=7)          # attendees may view an agenda case until 7 days after the meeting
GRANT_SOURCE = "meeting"
SNIPPET = 160

_create_schema = MeetingCreateSchema()
_list_schema = MeetingListSchema()
_agenda_schema = AgendaItemCreateSchema()
_minutes_schema = MinutesCreateSchema()
_action_schema = ActionCreateSchema()


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[:SNIPPET - 1].rstrip() + "…"


def _invalid(errors: dict) -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.", errors)


def meeting_ref(meeting) -> dict:
    return {"type": "meeting", "id": meeting.id}


def _owner(meeting) -> dict:
    return {"organisation_id": meeting.chair_organisation_id, "team_id": meeting.chair_team_id}


def _words(meeting) -> str:
    """'ASB panel “Eastside ASB panel” on 2026-12-09' (for timelines and grants: no case content)."""
    return f"{KIND_WORDS[meeting.kind]} “{meeting.title}” on {meeting.starts_at.date().isoformat()}"


# -- who sees a meeting --------------------------------------------------------------------------------------------
def attends_clause(caller, m=Meeting.__table__, a=MeetingAttendee.__table__):
    """SQL: meetings the caller's teams chair or attend, or that invite their organisation. An API client
    sees those its organisation chairs or attends; Concord itself every one."""
    if caller.kind == "system":
        return true()
    org = caller.organisation_id
    if caller.kind == "user":
        teams = list(caller.team_ids())
        invited = [and_(a.c.attendee_type == "team", a.c.attendee_id.in_(teams))] if teams else []
        if org:
            invited.append(and_(a.c.attendee_type == "organisation", a.c.attendee_id == org))
        attending = exists(select(a.c.meeting_id).where(a.c.meeting_id == m.c.id, or_(*invited))) \
            if invited else false()
        return or_(m.c.chair_team_id.in_(teams), attending) if teams else attending
    if caller.kind == "client" and org:
        return or_(m.c.chair_organisation_id == org,
                   exists(select(a.c.meeting_id).where(a.c.meeting_id == m.c.id, a.c.organisation_id == org)))
    return false()


def is_chair(caller, meeting) -> bool:
    return caller.kind == "system" or (caller.kind == "user" and meeting.chair_team_id in caller.team_ids())


def _hidden(meeting) -> NotFound:
    """The 404 for a meeting that exists but is not the caller's: the same as for none, the refusal audited."""
    refused = NotFound()
    refused.denied = {"record": meeting_ref(meeting), "owner": _owner(meeting)}
    return refused


def load_meeting(session, caller, meeting_id, lock=False) -> Meeting:
    query = select(Meeting).where(Meeting.id == records.record_uuid(meeting_id))
    meeting = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if meeting is None:
        raise NotFound()
    m = Meeting.__table__
    if not session.execute(select(attends_clause(caller)).select_from(m).where(m.c.id == meeting.id)).scalar():
        raise _hidden(meeting)
    return meeting


def _require_chair(caller, meeting, doing: str) -> None:
    if not is_chair(caller, meeting):
        raise Forbidden(f"Only the team that chairs the meeting may {doing}.")


# -- what a meeting looks like -------------------------------------------------------------------------------------
def _attendees(session, meeting_ids) -> dict:
    found = {meeting_id: [] for meeting_id in meeting_ids}
    if meeting_ids:
        for row in session.execute(select(MeetingAttendee).where(MeetingAttendee.meeting_id.in_(meeting_ids))
                                   .order_by(MeetingAttendee.attendee_type.desc(), MeetingAttendee.attendee_id)
                                   ).scalars():
            found[row.meeting_id].append({"team_id": row.attendee_id if row.attendee_type == "team" else None,
                                          "organisation_id": row.organisation_id})
    return found


def _summary(meeting, attendees, caller, agenda_count) -> dict:
    return {"id": meeting.id, "kind": meeting.kind, "title": meeting.title, "starts_at": _json(meeting.starts_at),
            "location": meeting.location, "online_link": meeting.online_link,
            "chair_team_id": meeting.chair_team_id, "chair_organisation_id": meeting.chair_organisation_id,
            "attendees": attendees, "status": meeting.status, "is_chair": is_chair(caller, meeting),
            "agenda_count": agenda_count, "created_at": _json(meeting.created_at),
            "cancelled_at": _json(meeting.cancelled_at)}


def _minutes_of(session, item_ids) -> dict:
    found = {item_id: [] for item_id in item_ids}
    if not item_ids:
        return found
    written = session.execute(select(Minutes).where(Minutes.agenda_item_id.in_(item_ids))
                              .order_by(Minutes.recorded_at, Minutes.id)).scalars().all()
    decisions = {}
    if written:
        for decision in session.execute(select(Decision).where(Decision.minutes_id.in_([w.id for w in written]))
                                        .order_by(Decision.position)).scalars():
            decisions.setdefault(decision.minutes_id, []).append(
                {"id": decision.id, "text": decision.text, "action_id": decision.action_id})
    for minutes in written:
        found[minutes.agenda_item_id].append(minutes_view(minutes, decisions.get(minutes.id, [])))
    return found


def minutes_view(minutes, decisions) -> dict:
    return {"id": minutes.id, "discussion": minutes.discussion,
            "recorded_by": {"id": minutes.recorded_by, "display_name": minutes.recorded_by_name},
            "recorded_at": _json(minutes.recorded_at), "decisions": decisions}


def agenda_views(session, caller, meeting, items) -> list[dict]:
    """Each item as the caller may see it: the case (and its minutes) if they may open it, else a signpost
    that says only which organisation holds a case — no reference, no title, no minutes."""
    c = Case.__table__
    case_ids = [item.case_id for item in items]
    cases = {row.id: row for row in session.execute(
        select(c.c.id, c.c.reference, c.c.title, c.c.case_type, c.c.status, c.c.owner_team_id,
               c.c.owner_organisation_id, visible_clause(caller, clock.now(), c, grants, "case").label("visible"))
        .where(c.c.id.in_(case_ids)))} if case_ids else {}
    minutes = _minutes_of(session, [item.id for item in items if cases[item.case_id].visible])
    views = []
    for item in items:
        case = cases[item.case_id]
        view = {"id": item.id, "meeting_id": meeting.id, "position": item.position, "added_at": _json(item.added_at),
                "access_until": _json(meeting.starts_at + ACCESS_AFTER)}
        if case.visible:
            view.update(case={"access": "full", "id": case.id, "reference": case.reference, "title": case.title,
                              "case_type": case.case_type, "status": case.status,
                              "owner_team_id": case.owner_team_id, "organisation_id": case.owner_organisation_id},
                        lawful_basis=item.lawful_basis, minutes=minutes[item.id])
        else:
            view.update(case={"access": "signpost", "organisation_id": case.owner_organisation_id}, minutes=[])
        views.append(view)
    return views


def _active_items(session, meeting_id, lock=False) -> list[AgendaItem]:
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id, AgendaItem.removed_at.is_(None)) \
        .order_by(AgendaItem.position)
    return session.execute(query.with_for_update() if lock else query).scalars().all()


def meeting_view(session, caller, meeting) -> dict:
    items = _active_items(session, meeting.id)
    view = _summary(meeting, _attendees(session, [meeting.id])[meeting.id], caller, len(items))
    view["agenda"] = agenda_views(session, caller, meeting, items)
    return view


# -- meetings ------------------------------------------------------------------------------------------------------
def _organisation_of_team(directory, team_id: str, field: str, errors: dict) -> str | None:
    try:
        return directory.team_organisation(team_id)
    except ValidationFailed:
        errors[field] = ["There is no such team."]
        return None


def _chair(caller, data, directory, errors) -> str | None:
    """The chair team's organisation, if the caller may arrange a meeting it chairs."""
    team_id = str(data["chair_team_id"])
    organisation = _organisation_of_team(directory, team_id, "chair_team_id", errors)
    if organisation is None:
        return None
    if caller.kind == "user" and team_id not in caller.team_ids():
        errors["chair_team_id"] = ["You can only arrange meetings chaired by one of your own teams."]
    elif caller.kind == "client" and organisation != caller.organisation_id:
        errors["chair_team_id"] = ["That team is not in your organisation."]
    return organisation


def create_meeting(uow, payload, directory) -> dict:
    session, caller = uow.session, uow.caller
    if caller.kind not in ("user", "client"):
        raise Forbidden("Only people and partner systems arrange meetings.")
    data = load_or_fail(_create_schema, payload)
    errors = {}
    chair_organisation = _chair(caller, data, directory, errors)
    invited = {}
    for position, attendee in enumerate(data["attendees"]):
        if attendee["team_id"]:
            team_id = str(attendee["team_id"])
            organisation = _organisation_of_team(directory, team_id, f"attendees.{position}.team_id", errors)
            invited[("team", team_id)] = organisation
        else:
            organisation_id = str(attendee["organisation_id"])
            try:
                directory.organisation_exists(organisation_id)
            except ValidationFailed:
                errors[f"attendees.{position}.organisation_id"] = ["There is no such organisation."]
            invited[("organisation", organisation_id)] = organisation_id
    if not errors and set(invited) == {("team", str(data["chair_team_id"]))}:
        errors["attendees"] = ["Invite at least one team or organisation besides the chair team."]
    if errors:
        raise _invalid(errors)
    now = clock.now()
    meeting = Meeting(id=str(uuid.uuid4()), kind=data["kind"], title=data["title"].strip(),
                      starts_at=data["starts_at"], location=(data["location"] or "").strip() or None,
                      online_link=data["online_link"], chair_team_id=str(data["chair_team_id"]),
                      chair_organisation_id=chair_organisation, status="scheduled", created_by=caller.id,
                      created_at=now)
    session.add(meeting)
    session.flush()
    session.add_all(MeetingAttendee(meeting_id=meeting.id, attendee_type=kind, attendee_id=attendee_id,
                                    organisation_id=organisation)
                    for (kind, attendee_id), organisation in invited.items())
    session.flush()
    uow.add_event("meeting.created", {"record": meeting_ref(meeting), "owner": _owner(meeting), "meeting": {
        "kind": meeting.kind, "starts_at": _json(meeting.starts_at),
        "attendees": [{"type": kind, "id": attendee_id} for kind, attendee_id in invited]}})
    return meeting_view(session, caller, meeting)


def get_meeting(uow, meeting_id) -> dict:
    """The view is recorded with the agenda cases it showed in full (their titles and minutes were read)."""
    meeting = load_meeting(uow.session, uow.caller, meeting_id)
    view = meeting_view(uow.session, uow.caller, meeting)
    uow.add_event("meeting.viewed", {"record": meeting_ref(meeting), "owner": _owner(meeting), "cases_shown": [
        item["case"]["id"] for item in view["agenda"] if item["case"]["access"] == "full"]})
    return view


def list_meetings(uow, params) -> dict:
    criteria = load_or_fail(_list_schema, params or {})
    session, caller = uow.session, uow.caller
    start = criteria["from_"] or clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    m = Meeting.__table__
    filters = [attends_clause(caller), m.c.starts_at >= start]
    if criteria["to"]:
        filters.append(m.c.starts_at < criteria["to"])
    meetings = session.execute(select(Meeting).where(*filters).order_by(Meeting.starts_at, Meeting.id)
                               .limit(criteria["limit"])).scalars().all()
    ids = [meeting.id for meeting in meetings]
    attendees = _attendees(session, ids)
    counts = dict(session.execute(select(AgendaItem.meeting_id, func.count()).where(
        AgendaItem.meeting_id.in_(ids), AgendaItem.removed_at.is_(None)).group_by(AgendaItem.meeting_id)).all()) \
        if ids else {}
    uow.add_event("meeting.searched", {"terms": {"from": start.isoformat(), **(
        {"to": criteria["to"].isoformat()} if criteria["to"] else {})}, "results": len(meetings)})
    return {"items": [_summary(meeting, attendees[meeting.id], caller, counts.get(meeting.id, 0))
                      for meeting in meetings]}


def cancel_meeting(uow, meeting_id) -> dict:
    """The chair team calls it off: every agenda case's meeting grants are revoked, each case told."""
    session, caller = uow.session, uow.caller
    meeting = load_meeting(session, caller, meeting_id, lock=True)
    _require_chair(caller, meeting, "cancel it")
    if meeting.status == "cancelled":
        raise Conflict("The meeting is already cancelled.")
    meeting.status, meeting.cancelled_at, meeting.cancelled_by = "cancelled", clock.now(), caller.id
    for item in _active_items(session, meeting.id, lock=True):
        row, access, _ = records.load(session, CASE, item.case_id, lock=True)
        revoke_meeting_grants(uow, meeting, row, access)
        add_to_timeline(uow, row.id, "meeting_cancelled", f"The {_words(meeting)} was cancelled",
                        ref={"type": "meeting", "id": meeting.id, "item_id": item.id})
    uow.add_event("meeting.cancelled", {"record": meeting_ref(meeting), "owner": _owner(meeting),
                                        "fields": {"status": {"before": "scheduled", "after": "cancelled"}}})
    session.flush()
    return meeting_view(session, caller, meeting)


# -- the agenda ------------------------------------------------------------------------------------------------------
def _grantees(session, meeting) -> list[tuple[str, str, str]]:
    """(grantee type, id, organisation) of everyone the meeting shows its agenda to: chair and attendees."""
    found = [("team", meeting.chair_team_id, meeting.chair_organisation_id)]
    for row in session.execute(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id)
                               .order_by(MeetingAttendee.attendee_type.desc(), MeetingAttendee.attendee_id)
                               ).scalars():
        if (row.attendee_type, row.attendee_id) != ("team", meeting.chair_team_id):
            found.append((row.attendee_type, row.attendee_id, row.organisation_id))
    return found


def grant_meeting_access(uow, meeting, row, access, lawful_basis) -> list[dict]:
    """View grants on the case for the chair and each attendee (not its own lead team) until 7 days after."""
    made = []
    justification = f"On the agenda of the {_words(meeting)} (meeting {meeting.id})."
    for grantee_type, grantee_id, organisation in _grantees(uow.session, meeting):
        if grantee_type == "team" and grantee_id == access.owner_team_id:
            continue
        grant_id = str(uuid.uuid4())
        uow.session.execute(grants.insert().values(
            id=grant_id, record_type="case", record_id=row.id, grantee_type=grantee_type, grantee_id=grantee_id,
            grantee_organisation_id=organisation, level="view", lawful_basis=lawful_basis,
            justification=justification, source=GRANT_SOURCE, source_id=meeting.id,
            expires_at=meeting.starts_at + ACCESS_AFTER, granted_by=uow.caller.id, granted_at=clock.now()))
        created = records.grant_view(uow.session.execute(select(grants).where(grants.c.id == grant_id)).one())
        uow.add_event("case.shared", {"record": {"type": "case", "id": row.id}, "owner": records.owner_of(access),
                                      "grant": created, "lawful_basis": lawful_basis,
                                      "justification": justification, "meeting_id": meeting.id})
        made.append(created)
    return made


def revoke_meeting_grants(uow, meeting, row, access) -> int:
    """Revoke the grants this meeting gave on the case (those still in force and those expired alike)."""
    revoked = uow.session.execute(
        update(grants).where(grants.c.record_type == "case", grants.c.record_id == row.id,
                             grants.c.source == GRANT_SOURCE, grants.c.source_id == meeting.id,
                             grants.c.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_by=uow.caller.id).returning(*grants.c)).all()
    for grant in revoked:
        uow.add_event("case.unshared", {"record": {"type": "case", "id": row.id}, "owner": records.owner_of(access),
                                        "grant": records.grant_view(grant), "meeting_id": meeting.id})
    return len(revoked)


def add_agenda_item(uow, meeting_id, payload) -> dict:
    """Only the case's lead team: 404 if they cannot see the case, 403 if they can but do not lead it."""
    session, caller = uow.session, uow.caller
    meeting = load_meeting(session, caller, meeting_id, lock=True)     # positions are numbered one at a time
    data = load_or_fail(_agenda_schema, payload)
    row, access, _ = records.load(session, CASE, str(data["case_id"]), lock=True)
    records.require(caller, access, "view")
    if not is_lead(caller, access):
        raise Forbidden("Only the team that leads the case may put it on a meeting's agenda.")
    if meeting.status == "cancelled":
        raise Conflict("The meeting is cancelled.")
    if meeting.starts_at + ACCESS_AFTER <= clock.now():
        raise Conflict("The meeting is over: its agenda is closed.")
    items = _active_items(session, meeting.id)
    if any(item.case_id == row.id for item in items):
        raise Conflict("The case is already on the agenda.")
    last = session.execute(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)).scalar()
    lawful_basis = data["lawful_basis"].strip()
    item = AgendaItem(id=str(uuid.uuid4()), meeting_id=meeting.id, case_id=row.id, position=(last or 0) + 1,
                      lawful_basis=lawful_basis, added_by=caller.id, added_at=clock.now())
    session.add(item)
    session.flush()
    made = grant_meeting_access(uow, meeting, row, access, lawful_basis)
    add_to_timeline(uow, row.id, "agenda_added", f"Put on the agenda of the {_words(meeting)}",
                    ref={"type": "meeting", "id": meeting.id, "item_id": item.id})
    add_event(uow, "agenda_added", row, access, meeting={
        "id": meeting.id, "kind": meeting.kind, "title": meeting.title, "starts_at": _json(meeting.starts_at)},
        item_id=item.id, lawful_basis=lawful_basis,
        attendee_team_ids=[g["grantee_id"] for g in made if g["grantee_type"] == "team"],
        access_until=_json(meeting.starts_at + ACCESS_AFTER))
    session.flush()
    return agenda_views(session, caller, meeting, [item])[0]


def _load_item(session, meeting, item_id) -> AgendaItem:
    item = session.get(AgendaItem, records.record_uuid(item_id))
    if item is None or item.meeting_id != meeting.id or item.removed_at is not None:
        raise NotFound()
    return item


def remove_agenda_item(uow, meeting_id, item_id) -> None:
    """The case's lead team, or the chair team, take it off: the meeting's grants on it are revoked."""
    session, caller = uow.session, uow.caller
    meeting = load_meeting(session, caller, meeting_id, lock=True)
    item = _load_item(session, meeting, item_id)
    row, access, _ = records.load(session, CASE, item.case_id, lock=True)
    if not (is_lead(caller, access) or is_chair(caller, meeting)):
        raise Forbidden("Only the team that leads the case, or the chair team, may take it off the agenda.")
    item.removed_at, item.removed_by = clock.now(), caller.id
    revoke_meeting_grants(uow, meeting, row, access)
    add_to_timeline(uow, row.id, "agenda_removed", f"Taken off the agenda of the {_words(meeting)}",
                    ref={"type": "meeting", "id": meeting.id, "item_id": item.id})
    add_event(uow, "agenda_removed", row, access, meeting={"id": meeting.id}, item_id=item.id)
    session.flush()


# -- minutes and decisions -------------------------------------------------------------------------------------------
def _decision_actions(data, row, access, assignees) -> dict:
    """{position: (action, assignee)} of the decisions that set an action on the case, each checked as any action
    set on the case is (ActionCreateSchema; the assignee must be able to view the case), every problem at once,
    named decisions.N.action.<field>, before anything is written."""
    errors, checked = {}, {}
    for position, decision in enumerate(data["decisions"]):
        if decision["action"] is None:
            continue
        try:
            action = load_or_fail(_action_schema, decision["action"])
            checked[position] = (action, actions.resolve_assignee(assignees, access, action["assignee"]))
        except ValidationFailed as refused:
            errors.update({f"decisions.{position}.action.{field}": messages
                           for field, messages in refused.errors.items()})
    if errors:
        raise _invalid(errors)
    if checked and row.status == "closed":
        raise Conflict("The case is closed: reopen it before setting actions on it.")
    return checked


def record_minutes(uow, meeting_id, item_id, payload, assignees) -> dict:
    """The chair team minutes an item: the discussion, and decisions (each may set an action on the case, for a
    team or person who can view it: `assignees` answers who they are, as for any action). All of it or none: an
    action refused writes nothing at all."""
    session, caller = uow.session, uow.caller
    meeting = load_meeting(session, caller, meeting_id)
    item = _load_item(session, meeting, item_id)
    _require_chair(caller, meeting, "write its minutes")
    data = load_or_fail(_minutes_schema, payload)
    if meeting.status == "cancelled":
        raise Conflict("The meeting is cancelled.")
    row, access, _ = records.load(session, CASE, item.case_id, lock=True)
    decided = _decision_actions(data, row, access, assignees)
    now = clock.now()
    minutes = Minutes(id=str(uuid.uuid4()), agenda_item_id=item.id, discussion=data["discussion"].strip(),
                      recorded_by=caller.id, recorded_by_name=caller.display_name, recorded_at=now)
    session.add(minutes)
    session.flush()
    ref = {"type": "meeting", "id": meeting.id, "item_id": item.id, "minutes_id": minutes.id}
    add_to_timeline(uow, row.id, "minutes", f"Discussed at the {_words(meeting)}: {_snippet(minutes.discussion)}",
                    ref=ref)
    add_event(uow, "minutes_recorded", row, access, meeting={"id": meeting.id}, item_id=item.id,
              minutes={"id": minutes.id, "characters": len(minutes.discussion), "decisions": len(data["decisions"])})
    decisions = []
    for position, wanted_decision in enumerate(data["decisions"]):
        action_id = None
        if position in decided:
            action_id = actions.set_action(uow, row, access, *decided[position]).id
        decision = Decision(id=str(uuid.uuid4()), minutes_id=minutes.id, position=position,
                            text=wanted_decision["text"].strip(), action_id=action_id)
        session.add(decision)
        decisions.append({"id": decision.id, "text": decision.text, "action_id": action_id})
        add_to_timeline(uow, row.id, "decision", f"Decision at the {_words(meeting)}: {_snippet(decision.text)}",
                        ref={**ref, "decision_id": decision.id, **({"action_id": action_id} if action_id else {})})
        add_event(uow, "decision_recorded", row, access, meeting={"id": meeting.id}, item_id=item.id,
                  decision={"id": decision.id, "position": position, "characters": len(decision.text),
                            "action_id": action_id})
    session.flush()
    return {"agenda_item_id": item.id, "minutes": minutes_view(minutes, decisions)}
