"""Cases domain logic: open, read, change, close and reopen a case; its participants and links.
Plain functions over a unit of work, no nameko here.

Every read and write goes through the case's access list (concord_common.access); a case the
caller may not see is NotFound. Profiles and families live in the profiles service: `profiles`
(service.py's RpcProfiles) asks it as the caller, so a participant the caller may not see is
NotFound too, before anything is written. Notes and the timeline: notes.py; lists: listing.py.
"""
import uuid
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import (Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed,
                                   load_or_fail)
from services.cases.case_types import require_type
from services.cases.models import Case, Link, Participant, RiskAssessment, TimelineEntry
from services.cases.schemas import (CaseCreateSchema, CaseUpdateSchema, CloseSchema, LinkCreateSchema,
                                    ParticipantCreateSchema, ReopenSchema)

CASE = records.RecordKind(record_type="case", table=Case.__table__,
                          display_name=lambda row: row.reference)     # never the title: it reaches signposts

_create_schema = CaseCreateSchema()
_update_schema = CaseUpdateSchema()
_participant_schema = ParticipantCreateSchema()
_close_schema = CloseSchema()
_reopen_schema = ReopenSchema()
_link_schema = LinkCreateSchema()
OUTCOME_WORDS = {"resolved": "Resolved", "no_further_action": "No further action",
                 "referred_elsewhere": "Referred elsewhere", "escalated": "Escalated", "withdrawn": "Withdrawn",
                 "other": "Other"}
ROLE_WORDS = {"premises_of_concern": "premises of concern", "household_member": "household member",
              "young_person": "young person"}


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def today():
    return clock.now().date()


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def is_lead(caller, access) -> bool:
    """A member of the lead team (or Concord itself): who may see and write sensitive notes."""
    return caller.kind == "system" or (caller.kind == "user" and access.owner_team_id in caller.team_ids())


def record_ref(case_id) -> dict:
    return {"type": "case", "id": case_id}


def add_event(uow, what: str, row, access=None, **data) -> None:
    """case.<what>, shaped as the audit service reads every record's events: record, owner, fields …"""
    owner = records.owner_of(access) if access is not None else {
        "organisation_id": row.owner_organisation_id, "team_id": row.owner_team_id}
    uow.add_event(f"case.{what}", {"record": record_ref(row.id), "owner": owner, **data})


def add_to_timeline(uow, case_id, kind: str, summary: str, ref=None, at=None, sensitive=False) -> None:
    caller = uow.caller
    uow.session.add(TimelineEntry(case_id=case_id, at=at or clock.now(), kind=kind, summary=summary[:500],
                                  by_id=caller.id, by_name=caller.display_name, ref=ref, sensitive=sensitive))


def load_case(session, caller, case_id, action="view", lock=False):
    """(row, access, decision) for a case the caller may `action`; NotFound / Forbidden otherwise."""
    row, access, _ = records.load(session, CASE, case_id, lock=lock)
    return row, access, records.require(caller, access, action)


# -- what a case looks like ------------------------------------------------------------------------------------
def participant_view(row) -> dict:
    return {"id": row.id, "profile_id": row.profile_id, "profile_kind": row.profile_kind,
            "display_name": row.display_name, "role": row.role, "family_id": row.family_id,
            "family_role": row.family_role, "added_at": _json(row.added_at), "added_by": row.added_by,
            "ended_at": _json(row.ended_at)}


def review_overdue(row) -> bool:
    return row.status == "open" and row.review_due is not None and row.review_due < today()


def newest_risks(session, case_ids) -> dict:
    """{case id: {id, level, assessed_at, signed_off}} of each case's newest risk assessment (one index walk each)."""
    if not case_ids:
        return {}
    r = RiskAssessment.__table__
    rows = session.execute(select(r.c.case_id, r.c.id, r.c.level, r.c.assessed_at, r.c.signed_off_at)
                           .where(r.c.case_id.in_(case_ids)).distinct(r.c.case_id)
                           .order_by(r.c.case_id, r.c.assessed_at.desc(), r.c.id.desc()))
    return {row.case_id: {"id": row.id, "level": row.level, "assessed_at": _json(row.assessed_at),
                          "signed_off": row.signed_off_at is not None} for row in rows}


def case_views(session, caller, rows, with_links=False) -> list[dict]:
    """Full views of case rows the caller may open: participants (and linked cases) in one query each."""
    ids = [row.id for row in rows]
    people = {case_id: [] for case_id in ids}
    if ids:
        p = Participant.__table__          # plain rows: building ORM objects for 150 participants cost more
        for person in session.execute(select(p).where(p.c.case_id.in_(ids)).order_by(p.c.added_at, p.c.id)):
            people[person.case_id].append(participant_view(person))
    links = {case_id: [] for case_id in ids}
    if with_links and ids:
        c = Case.__table__
        visible = visible_clause(caller, clock.now(), c, grants, "case")
        for link in session.execute(select(Link.case_id, c.c.id, c.c.reference, c.c.title, c.c.case_type,
                                           c.c.status).join(c, c.c.id == Link.linked_case_id)
                                    .where(Link.case_id.in_(ids), visible).order_by(Link.linked_at)):
            links[link.case_id].append({"id": link.id, "reference": link.reference, "title": link.title,
                                        "case_type": link.case_type, "status": link.status})
    risks = newest_risks(session, ids)
    return [{"id": row.id, "reference": row.reference, "case_type": row.case_type, "title": row.title,
             "summary": row.summary, "status": row.status, "priority": row.priority,
             "owner": {"organisation_id": row.owner_organisation_id, "team_id": row.owner_team_id},
             "restricted": bool(row.restricted), "participants": people[row.id],
             **({"linked_cases": links[row.id]} if with_links else {}),
             "opened_at": _json(row.opened_at), "opened_by": row.opened_by, "review_due": _json(row.review_due),
             "review_overdue": review_overdue(row), "closed_at": _json(row.closed_at), "outcome": row.outcome,
             "updated_at": _json(row.updated_at), "version": row.version, "access": "full",
             "risk": risks.get(row.id)} for row in rows]


def case_view(session, caller, case_id) -> dict:
    row = session.execute(select(Case.__table__).where(Case.__table__.c.id == case_id)).one()
    return case_views(session, caller, [row], with_links=True)[0]


# -- participants --------------------------------------------------------------------------------------------
def _check_roles(type_row, items, prefix) -> None:
    errors = {}
    for position, item in enumerate(items):
        if item["role"] not in type_row.participant_roles:
            field = f"{prefix}{position}.role" if prefix is not None else "role"
            errors[field] = [f"A {type_row.label.lower()} case has no {ROLE_WORDS.get(item['role'], item['role'])}: "
                             f"use one of {', '.join(type_row.participant_roles)}."]
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)


def resolve_participants(profiles, items) -> list[dict]:
    """Each profile, and each current member of each family, as the caller sees them in the profiles
    service. One the caller may not see (or that does not exist) raises NotFound: nothing is written.
    Family members the caller may not see are left out."""
    found, seen = [], set()
    for item in items:
        if item.get("profile_id"):
            profile = profiles.profile(str(item["profile_id"]))
            if profile["id"] not in seen:
                seen.add(profile["id"])
                found.append({"profile_id": profile["id"], "profile_kind": profile["kind"],
                              "display_name": profile["display_name"], "role": item["role"],
                              "family_id": None, "family_role": None})
            continue
        family = profiles.family(str(item["family_id"]))
        for member in family["members"]:
            if member.get("access") == "full" and member["profile_id"] not in seen:
                seen.add(member["profile_id"])
                found.append({"profile_id": member["profile_id"], "profile_kind": "person",
                              "display_name": member["display_name"], "role": item["role"],
                              "family_id": family["id"], "family_role": member["role"]})
    return found


def _add_participants(uow, case_row, access, people) -> list[Participant]:
    now, added = clock.now(), []
    for person in people:
        participant = Participant(id=str(uuid.uuid4()), case_id=case_row.id, added_at=now, added_by=uow.caller.id,
                                  **person)
        uow.session.add(participant)
        added.append(participant)
        family = f" (with the family, {person['family_role']})" if person["family_id"] else ""
        add_to_timeline(uow, case_row.id, "participant_added",
                        f"{person['display_name']} added as {ROLE_WORDS.get(person['role'], person['role'])}{family}",
                        ref={"type": "participant", "id": participant.id, "profile_id": person["profile_id"]})
        add_event(uow, "participant_added", case_row, access, participant={
            "id": participant.id, "profile_id": person["profile_id"], "role": person["role"],
            "family_id": person["family_id"], "family_role": person["family_role"]})
    return added


def add_participant(uow, case_id, payload, profiles) -> dict:
    """A profile, or a family's current members, on the case. Those already on it in the same role (or, from a
    family, in any role) are not added twice."""
    session, caller = uow.session, uow.caller
    row, access, _ = load_case(session, caller, case_id, "edit")
    item = load_or_fail(_participant_schema, payload)
    if row.status == "closed":
        raise Conflict("The case is closed: reopen it before adding people to it.")
    _check_roles(require_type(session, row.case_type, active_only=False), [item], None)
    people = resolve_participants(profiles, [item])          # NotFound before anything is written
    row, access, _ = load_case(session, caller, case_id, "edit", lock=True)
    active = {(p.profile_id, p.role) for p in session.execute(select(Participant).where(
        Participant.case_id == row.id, Participant.ended_at.is_(None))).scalars()}
    on_case = {profile_id for profile_id, _ in active}
    if item.get("profile_id") and (people[0]["profile_id"], item["role"]) in active:
        raise Conflict("That profile is already on the case in that role.")
    fresh = [p for p in people if (p["profile_id"], p["role"]) not in active
             and not (p["family_id"] and p["profile_id"] in on_case)]
    _add_participants(uow, row, access, fresh)
    session.flush()
    return case_view(session, caller, row.id)


def end_participant(uow, case_id, participant_id) -> None:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit", lock=True)
    participant = uow.session.get(Participant, records.record_uuid(participant_id))
    if participant is None or participant.case_id != row.id or participant.ended_at is not None:
        raise NotFound()
    participant.ended_at, participant.ended_by = clock.now(), uow.caller.id
    add_to_timeline(uow, row.id, "participant_ended",
                    f"{participant.display_name} is no longer on the case "
                    f"(was {ROLE_WORDS.get(participant.role, participant.role)})",
                    ref={"type": "participant", "id": participant.id, "profile_id": participant.profile_id})
    add_event(uow, "participant_ended", row, access, participant={
        "id": participant.id, "profile_id": participant.profile_id, "role": participant.role},
        fields={"ended_at": {"before": None, "after": _json(participant.ended_at)}})


# -- a case ----------------------------------------------------------------------------------------------------
_NEXT_NUMBER = text("INSERT INTO case_reference_counters (prefix, year, last) VALUES (:prefix, :year, 1) "
                    "ON CONFLICT (prefix, year) DO UPDATE SET last = case_reference_counters.last + 1 "
                    "RETURNING last")


def next_reference(session, prefix: str) -> str:
    """ASB-2026-000042: the counter row is locked until the transaction ends, so two cases opened at once
    wait for each other and never share a number (and a rolled-back case gives its number back)."""
    year = clock.now().year
    number = session.execute(_NEXT_NUMBER, {"prefix": prefix, "year": year}).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


def create_case(uow, payload, profiles, directory) -> dict:
    session, caller = uow.session, uow.caller
    data = load_or_fail(_create_schema, payload)
    type_row = require_type(session, data["case_type"])
    _check_roles(type_row, data["participants"], "participants.")
    requested = str(data["owner_team_id"]) if data["owner_team_id"] else None
    team_id, organisation_id = records.owning_team(caller, requested, directory)
    people = resolve_participants(profiles, data["participants"])     # NotFound before anything is written
    now = clock.now()
    case = Case(id=str(uuid.uuid4()), reference=next_reference(session, type_row.reference_prefix),
                case_type=type_row.code, title=data["title"].strip(), summary=data["summary"],
                priority=data["priority"], status="open", opened_at=now, opened_by=caller.id,
                review_due=today() + timedelta(days=type_row.review_days), version=1, updated_at=now,
                owner_team_id=team_id, owner_organisation_id=organisation_id, restricted=data["restricted"])
    session.add(case)
    session.flush()
    add_to_timeline(uow, case.id, "opened", f"{type_row.label} case opened: {case.title}", at=now)
    body = case_view(session, caller, case.id)
    add_event(uow, "created", case, case={key: body[key] for key in (
        "reference", "case_type", "status", "priority", "restricted", "opened_at", "review_due")})
    _add_participants(uow, case, None, people)
    session.flush()
    return case_view(session, caller, case.id)


def get_case(uow, case_id) -> dict:
    """Only for those who may see it; the view is recorded in the same transaction (no record, no answer)."""
    return read_case(uow, case_id)[3]


def read_case(uow, case_id):
    """get_case, with what it loaded: (row, access, decision, the case as get_case answers it)."""
    row, access, decision = load_case(uow.session, uow.caller, case_id)
    add_event(uow, "viewed", row, access, level=decision.level, break_glass=any(
        g.source == "break_glass" and g.covers(uow.caller) and g.active(clock.now()) for g in access.grants))
    return row, access, decision, case_views(uow.session, uow.caller, [row], with_links=True)[0]


def _check_version(row, if_match) -> None:
    if if_match in (None, ""):
        raise PreconditionRequired("Send If-Match with the version you read.")
    if str(if_match).strip('"') != str(row.version):
        raise PreconditionFailed(f"The case is at version {row.version}; read it again and redo your change.")


def _change(uow, row, access, values: dict, timeline_kind: str, summary: str, event: str, **event_data) -> dict:
    """Write `values` to the case (version + 1), one timeline entry and one event with the fields' before/after."""
    fields = {key: {"before": _json(getattr(row, key)), "after": _json(value)} for key, value in values.items()
              if getattr(row, key) != value}
    case = uow.session.get(Case, row.id)
    if fields or event != "updated":
        for key, value in values.items():
            setattr(case, key, value)
        case.version += 1
        case.updated_at = clock.now()
        add_to_timeline(uow, row.id, timeline_kind, summary)
        add_event(uow, event, row, access, fields=fields, **event_data)
        uow.session.flush()
    return case_view(uow.session, uow.caller, row.id)


FIELD_WORDS = {"title": "title", "summary": "summary", "priority": "priority", "review_due": "review date"}


def update_case(uow, case_id, payload, if_match) -> dict:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit", lock=True)
    _check_version(row, if_match)
    data = load_or_fail(_update_schema, payload)
    if "title" in data:
        data["title"] = data["title"].strip()
    changed = [FIELD_WORDS[key] for key, value in data.items() if getattr(row, key) != value]
    what = ", ".join(changed)
    if "priority" in data and data["priority"] != row.priority:
        what = what.replace("priority", f"priority ({row.priority} to {data['priority']})")
    return _change(uow, row, access, data, "updated", f"Changed {what}", "updated")


def close_case(uow, case_id, payload, if_match=None) -> dict:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit", lock=True)
    data = load_or_fail(_close_schema, payload)
    if if_match not in (None, ""):
        _check_version(row, if_match)
    if row.status == "closed":
        raise Conflict("The case is already closed.")
    if data["note"] and data["note"].strip():
        from services.cases.notes import write_note
        write_note(uow, row, access, {"text": data["note"].strip(), "kind": "decision", "occurred_at": None,
                                      "sensitive": False})
    from services.cases.actions import cancel_for_closed_case
    cancel_for_closed_case(uow, row, access)
    now = clock.now()
    words = OUTCOME_WORDS[data["outcome"]]
    return _change(uow, row, access, {"status": "closed", "outcome": data["outcome"], "closed_at": now,
                                      "closed_by": uow.caller.id}, "closed", f"Case closed: {words}", "closed",
                   outcome=data["outcome"])


def reopen_case(uow, case_id, payload, if_match=None) -> dict:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit", lock=True)
    reason = load_or_fail(_reopen_schema, payload)["reason"].strip()
    if if_match not in (None, ""):
        _check_version(row, if_match)
    if row.status == "open":
        raise Conflict("The case is open.")
    type_row = require_type(uow.session, row.case_type, active_only=False)
    return _change(uow, row, access, {"status": "open", "outcome": None, "closed_at": None, "closed_by": None,
                                      "review_due": today() + timedelta(days=type_row.review_days)},
                   "reopened", f"Case reopened: {reason}", "reopened", reason=reason)


# -- links -----------------------------------------------------------------------------------------------------
def link_cases(uow, case_id, payload) -> dict:
    session, caller = uow.session, uow.caller
    data = load_or_fail(_link_schema, payload)
    row, access, _ = load_case(session, caller, case_id, "edit")
    other, other_access, _ = load_case(session, caller, str(data["case_id"]))
    if other.id == row.id:
        raise _invalid("case_id", "A case cannot be linked to itself.")
    now = clock.now()
    made = session.execute(insert(Link).values([
        {"case_id": row.id, "linked_case_id": other.id, "linked_by": caller.id, "linked_at": now},
        {"case_id": other.id, "linked_case_id": row.id, "linked_by": caller.id, "linked_at": now}])
        .on_conflict_do_nothing().returning(Link.case_id)).scalars().all()
    if made:
        for this, that, this_access in ((row, other, access), (other, row, other_access)):
            add_to_timeline(uow, this.id, "linked", f"Linked to case {that.reference}",
                            ref={"type": "case", "id": that.id})
            add_event(uow, "linked", this, this_access, linked_case_id=that.id)
    return {"case_id": row.id, "linked_case": {"id": other.id, "reference": other.reference, "title": other.title,
                                               "case_type": other.case_type, "status": other.status},
            "linked_at": _json(now)}
