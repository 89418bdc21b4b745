"""MASH (multi-agency safeguarding hub) referrals: receive, triage (RAG), research with other agencies, decide
(optionally opening a case). Plain functions over a unit of work, no nameko here. docs/mash.md.

Access is derived from the MASH team, not from a record access list (docs/mash.md says why): members of the
referral's MASH team see and act on all of it; the practitioner who referred sees its reference, status and
outcome; an asked team sees the subject's name and its own question. Everyone else: NotFound, as for a
random id. `directory` (service.py's MashDirectory) answers, as the cases service itself, which teams exist and
which are MASH teams; `profiles` (service.py's MashProfiles) the subject.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, func, select, update

from concord_common import clock
from concord_common.access.records import record_uuid
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail
from services.cases import logic
from services.cases.case_types import require_type
from services.cases.mash_schemas import (DashboardQuerySchema, DecisionSchema, ReferralCreateSchema,
                                         ResearchAnswerSchema, ResearchRequestCreateSchema, TriageSchema)
from services.cases.models import Referral, ResearchRequest, Triage

OUTCOME_WORDS = {"strategy_discussion": "Strategy discussion", "s47_enquiry": "Section 47 enquiry",
                 "child_in_need": "Child in need", "early_help": "Early help",
                 "adult_safeguarding_enquiry": "Adult safeguarding enquiry (section 42)",
                 "universal_services": "Universal services", "no_further_action": "No further action"}
PERSON_FIELDS = ("given_name", "family_name", "date_of_birth", "gender", "identifiers", "addresses", "aliases")


@dataclass(frozen=True)
class Settings:
    """The RAG timescales in hours (config MASH_RED_HOURS …) and the subject match threshold."""
    red: float = 4
    amber: float = 24
    green: float = 72
    match_threshold: float = 0.8

    @classmethod
    def from_config(cls, get) -> "Settings":
        return cls(float(get("MASH_RED_HOURS", 4)), float(get("MASH_AMBER_HOURS", 24)),
                   float(get("MASH_GREEN_HOURS", 72)), float(get("MASH_MATCH_THRESHOLD", 0.8)))

    def timescale(self, rag: str) -> timedelta:
        return timedelta(hours={"red": self.red, "amber": self.amber, "green": self.green}[rag])


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def record_ref(referral_id) -> dict:
    return {"type": "referral", "id": referral_id}


def add_event(uow, what: str, row, **data) -> None:
    """mash.<what>, shaped as the audit service reads every record's events: record, owner, then the facts."""
    uow.add_event(f"mash.{what}", {"record": record_ref(row.id), "reference": row.reference,
                                   "owner": {"team_id": row.mash_team_id, "organisation_id": row.mash_organisation_id},
                                   **data})


def is_member(caller, team_id) -> bool:
    return caller.kind == "user" and team_id in caller.team_ids()


# -- loading, with the MASH team's access ------------------------------------------------------------------------
def _load(session, referral_id, lock=False) -> Referral:
    query = select(Referral).where(Referral.id == record_uuid(referral_id))
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def load_for_team(session, caller, referral_id, lock=False) -> Referral:
    """A referral the caller's MASH team leads; NotFound (as for a random id) for anyone else."""
    row = _load(session, referral_id, lock)
    if not is_member(caller, row.mash_team_id):
        raise NotFound()
    return row


# -- views -----------------------------------------------------------------------------------------------------
def overdue(row, now=None) -> bool:
    return row.status == "triaged" and row.respond_by is not None and row.respond_by < (now or clock.now())


def request_view(request, reference, subject_name, full=True) -> dict:
    """A research request: the asked team sees the subject's name and its question (not the referral)."""
    now = clock.now()
    return {"id": request.id, "referral_id": request.referral_id if full else None, "reference": reference,
            "subject_name": subject_name, "team_id": request.team_id, "team_name": request.team_name,
            "question": request.question, "due": _json(request.due),
            "overdue": request.answered_at is None and request.closed_at is None and request.due < now,
            "asked_at": _json(request.asked_at), "closed_at": _json(request.closed_at),
            "asked_by": request.asked_by_name, "answer": request.answer, "information": request.information,
            "answered_at": _json(request.answered_at), "answered_by": request.answered_by_name}


def referral_view(session, row) -> dict:
    """The whole referral, as its MASH team sees it."""
    triages = session.execute(select(Triage).where(Triage.referral_id == row.id)
                              .order_by(Triage.triaged_at.desc(), Triage.id.desc())).scalars()
    requests = session.execute(select(ResearchRequest).where(ResearchRequest.referral_id == row.id)
                               .order_by(ResearchRequest.asked_at, ResearchRequest.id)).scalars()
    return {"id": row.id, "reference": row.reference, "status": row.status, "category": row.category,
            "concerns": row.concerns, "subject": {"profile_id": row.subject_profile_id, "display_name":
                                                  row.subject_name, "linked": row.subject_linked},
            "referrer": row.referrer, "mash_team_id": row.mash_team_id, "received_at": _json(row.received_at),
            "rag": row.rag, "rag_rationale": row.rag_rationale, "respond_by": _json(row.respond_by),
            "overdue": overdue(row), "triage_history": [
                {"rag": t.rag, "rationale": t.rationale, "respond_by": _json(t.respond_by),
                 "triaged_by": t.triaged_by_name, "triaged_at": _json(t.triaged_at)} for t in triages],
            "research_requests": [request_view(r, row.reference, row.subject_name) for r in requests],
            "outcome": row.outcome, "outcome_rationale": row.outcome_rationale, "decided_at": _json(row.decided_at),
            "decided_by": row.decided_by_name, "case_id": row.case_id, "access": "full"}


def referrer_view(row) -> dict:
    """What the practitioner who referred sees: that it arrived, where it is, and the outcome's category."""
    return {"id": row.id, "reference": row.reference, "status": row.status, "category": row.category,
            "mash_team_id": row.mash_team_id, "received_at": _json(row.received_at), "outcome": row.outcome,
            "decided_at": _json(row.decided_at), "access": "referrer"}


# -- refer -----------------------------------------------------------------------------------------------------
def _mash_team(directory, requested) -> dict:
    teams = directory.mash_teams()
    if requested:
        chosen = [team for team in teams if team["id"] == str(requested)]
        if not chosen:
            raise _invalid("mash_team_id", "There is no such MASH team.")
        return chosen[0]
    if not teams:
        raise _invalid("mash_team_id", "There is no MASH team to refer to: an administrator must set one up.")
    if len(teams) > 1:
        raise _invalid("mash_team_id", "There is more than one MASH team: say which one this referral is for.")
    return teams[0]


def _may_refer(caller) -> None:
    if caller.kind == "user" and caller.team_ids():
        return
    if caller.kind == "client" and "mash:refer" in (caller.scopes or ()):
        return
    raise Forbidden("Only practitioners in a team, and partner systems with scope mash:refer, may refer to the MASH.")


def _subject(profiles, subject, team, settings) -> dict:
    """{profile_id, display_name, kind, linked}: an existing profile the referrer may see (NotFound otherwise),
    or the best match of a new person's details above the threshold, or a new profile."""
    if subject.get("profile_id"):
        profile = profiles.profile(str(subject["profile_id"]))
        return {"profile_id": profile["id"], "display_name": profile["display_name"], "kind": profile["kind"],
                "linked": "given"}
    person = {key: _json(subject[key]) for key in PERSON_FIELDS if subject.get(key) is not None}
    try:
        found = profiles.match_or_create(person, team["id"], team["organisation_id"], settings.match_threshold)
    except ValidationFailed as bad:
        raise ValidationFailed(str(bad), {f"subject.{key}": value for key, value in (bad.errors or {}).items()})
    return {**found, "linked": "matched" if found.get("matched") else "created"}


def create_referral(uow, payload, profiles, directory, settings=Settings()) -> dict:
    """Everything is checked before the subject is looked up or created (the one write outside this
    transaction); a new profile is then the only thing a failed write could leave, and it is a real person."""
    session, caller = uow.session, uow.caller
    _may_refer(caller)
    data = load_or_fail(ReferralCreateSchema(), payload)
    team = _mash_team(directory, data["mash_team_id"])
    now = clock.now()
    received = data["received_at"] or now
    if received > now + timedelta(minutes=5):
        raise _invalid("received_at", "Cannot be in the future.")
    subject = _subject(profiles, data["subject"], team, settings)
    row = Referral(id=str(uuid.uuid4()), reference=logic.next_reference(session, "MASH"), status="received",
                   category=data["category"], concerns=data["concerns"].strip(),
                   subject_profile_id=subject["profile_id"], subject_name=subject["display_name"],
                   subject_kind=subject["kind"], subject_linked=subject["linked"],
                   referrer={key: value.strip() for key, value in data["referrer"].items()},
                   referred_by_kind=caller.kind, referred_by_id=caller.id,
                   referred_by_organisation_id=caller.organisation_id,
                   referred_by_team_ids=sorted(caller.team_ids()) if caller.kind == "user" else [],
                   mash_team_id=team["id"], mash_organisation_id=team["organisation_id"], received_at=received,
                   recorded_at=now, updated_at=now)
    session.add(row)
    session.flush()
    add_event(uow, "referral_received", row, referral={
        "category": row.category, "subject_profile_id": row.subject_profile_id, "subject_linked": row.subject_linked,
        "received_at": _json(received)}, concerns_characters=len(row.concerns))
    return referral_view(session, row) if is_member(caller, row.mash_team_id) else referrer_view(row)


def get_referral(uow, referral_id) -> dict:
    """The MASH team: all of it (the read is recorded); the practitioner who referred: the referrer's view."""
    session, caller = uow.session, uow.caller
    row = _load(session, referral_id)
    if is_member(caller, row.mash_team_id):
        add_event(uow, "referral_viewed", row)
        return referral_view(session, row)
    if caller.kind == "user" and row.referred_by_id == caller.id:
        add_event(uow, "referral_viewed", row, level="referrer")
        return referrer_view(row)
    raise NotFound()


# -- triage ----------------------------------------------------------------------------------------------------
def triage(uow, referral_id, payload, settings=Settings()) -> dict:
    """RAG with rationale; respond_by = now + the RAG's timescale. Triaging again is kept in the history."""
    session, caller = uow.session, uow.caller
    row = load_for_team(session, caller, referral_id, lock=True)
    data = load_or_fail(TriageSchema(), payload)
    if row.status == "decided":
        raise Conflict("The referral is decided: it cannot be triaged again.")
    now = clock.now()
    respond_by = now + settings.timescale(data["rag"])
    before = {"rag": row.rag, "respond_by": _json(row.respond_by), "status": row.status}
    session.add(Triage(referral_id=row.id, rag=data["rag"], rationale=data["rationale"].strip(),
                       respond_by=respond_by, triaged_by=caller.id, triaged_by_name=caller.display_name,
                       triaged_at=now))
    row.rag, row.rag_rationale, row.respond_by = data["rag"], data["rationale"].strip(), respond_by
    row.triaged_at, row.status, row.updated_at = now, "triaged", now
    session.flush()
    after = {"rag": row.rag, "respond_by": _json(row.respond_by), "status": row.status}
    add_event(uow, "triaged", row, fields={key: {"before": before[key], "after": after[key]} for key in after
                                           if before[key] != after[key]}, retriage=before["rag"] is not None)
    return referral_view(session, row)


# -- research --------------------------------------------------------------------------------------------------
def request_research(uow, referral_id, payload, directory, settings=Settings()) -> dict:
    session, caller = uow.session, uow.caller
    row = load_for_team(session, caller, referral_id, lock=True)
    data = load_or_fail(ResearchRequestCreateSchema(), payload)
    if row.status == "decided":
        raise Conflict("The referral is decided: no more research can be asked for.")
    team_id = str(data["team_id"])
    if team_id == row.mash_team_id:
        raise _invalid("team_id", "Ask another agency's team: this is the MASH team itself.")
    team = directory.team(team_id)
    if team is None:
        raise _invalid("team_id", "There is no such team.")
    now = clock.now()
    due = data["due"] or now + settings.timescale(row.rag or "amber")
    if due <= now:
        raise _invalid("due", "Must be in the future.")
    request = ResearchRequest(id=str(uuid.uuid4()), referral_id=row.id, mash_team_id=row.mash_team_id,
                              team_id=team_id, team_name=team["name"],
                              organisation_id=team["organisation_id"], question=data["question"].strip(), due=due,
                              asked_by=caller.id, asked_by_name=caller.display_name, asked_at=now)
    session.add(request)
    row.updated_at = now
    session.flush()
    add_event(uow, "research_requested", row, request={"id": request.id, "team_id": team_id,
                                                       "organisation_id": team["organisation_id"],
                                                       "due": _json(due)},
              question_characters=len(request.question))
    return request_view(request, row.reference, row.subject_name)


def _load_request(session, request_id, lock=False) -> ResearchRequest:
    query = select(ResearchRequest).where(ResearchRequest.id == record_uuid(request_id))
    request = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if request is None:
        raise NotFound()
    return request


def _request_for(session, caller, request_id, lock=False):
    """(request, referral) for a member of the asked team or of the MASH team; NotFound for anyone else."""
    request = _load_request(session, request_id, lock)
    row = _load(session, request.referral_id)
    if not (is_member(caller, request.team_id) or is_member(caller, row.mash_team_id)):
        raise NotFound()
    return request, row


def get_research_request(uow, request_id) -> dict:
    request, row = _request_for(uow.session, uow.caller, request_id)
    add_event(uow, "research_request_viewed", row, request={"id": request.id, "team_id": request.team_id})
    return request_view(request, row.reference, row.subject_name, full=is_member(uow.caller, row.mash_team_id))


def answer_research(uow, request_id, payload) -> dict:
    """The asked team answers once: information, or nothing known. A second answer is a conflict."""
    session, caller = uow.session, uow.caller
    request, row = _request_for(session, caller, request_id, lock=True)
    if not is_member(caller, request.team_id):
        raise Forbidden("Only the team that was asked may answer.")
    data = load_or_fail(ResearchAnswerSchema(), payload)
    if request.answered_at is not None:
        raise Conflict("This request was answered already: an answer is given once.")
    if request.closed_at is not None:
        raise Conflict("The MASH has decided this referral: no answer is needed now.")
    now = clock.now()
    request.answer = "nothing_known" if data["nothing_known"] else "information"
    request.information = (data["information"] or "").strip() or None
    request.answered_by, request.answered_by_name, request.answered_at = caller.id, caller.display_name, now
    session.get(Referral, row.id).updated_at = now
    session.flush()
    add_event(uow, "research_answered", row, request={"id": request.id, "team_id": request.team_id,
                                                      "answer": request.answer},
              information_characters=len(request.information or ""))
    return request_view(request, row.reference, row.subject_name, full=False)


def outstanding_requests(session, caller, limit=50) -> list[dict]:
    """Unanswered research requests for the caller's teams, soonest due first (My actions' second kind)."""
    if caller.kind != "user" or not caller.team_ids():
        return []
    r, f = ResearchRequest.__table__, Referral.__table__
    rows = session.execute(select(r, f.c.reference, f.c.subject_name).join(f, f.c.id == r.c.referral_id)
                           .where(r.c.team_id.in_(sorted(caller.team_ids())), r.c.answered_at.is_(None),
                                  r.c.closed_at.is_(None))
                           .order_by(r.c.due, r.c.id).limit(limit)).all()
    return [request_view(row, row.reference, row.subject_name, full=False) for row in rows]


# -- decide ----------------------------------------------------------------------------------------------------
class _SubjectOnly:
    """create_case's `profiles`: the referral's subject as linked (the MASH has it from the referral)."""

    def __init__(self, row):
        self.row = row

    def profile(self, profile_id):
        if profile_id != self.row.subject_profile_id:
            raise NotFound()
        return {"id": self.row.subject_profile_id, "kind": self.row.subject_kind,
                "display_name": self.row.subject_name}


def _open_case(uow, row, wanted, directory) -> str:
    """A case with the subject as participant, linked to the referral; led by the decider's team they name
    (default the MASH team): handing it to another agency is a transfer, which that agency accepts."""
    session = uow.session
    try:
        type_row = require_type(session, wanted["case_type"])
    except ValidationFailed as bad:
        raise ValidationFailed(str(bad), {f"open_case.{k}": v for k, v in (bad.errors or {}).items()})
    roles = type_row.participant_roles
    role = "subject" if "subject" in roles else ("young_person" if "young_person" in roles else roles[0])
    payload = {"case_type": type_row.code, "title": f"{row.subject_name} (from MASH referral {row.reference})",
               "summary": f"Opened on the MASH decision: {OUTCOME_WORDS[row.outcome]}.",
               "owner_team_id": str(wanted["owner_team_id"] or row.mash_team_id),
               "participants": [{"profile_id": row.subject_profile_id, "role": role}]}
    try:
        case = logic.create_case(uow, payload, _SubjectOnly(row), directory)
    except ValidationFailed as bad:
        raise ValidationFailed(str(bad), {f"open_case.{k}": v for k, v in (bad.errors or {}).items()})
    logic.add_to_timeline(uow, case["id"], "mash_referral", f"Opened from MASH referral {row.reference} "
                          f"({OUTCOME_WORDS[row.outcome]})", ref={"type": "referral", "id": row.id})
    return case["id"]


def decide(uow, referral_id, payload, directory) -> dict:
    """The outcome and rationale (after triage: before it, 409); optionally a case; the referral is closed."""
    session, caller = uow.session, uow.caller
    row = load_for_team(session, caller, referral_id, lock=True)
    data = load_or_fail(DecisionSchema(), payload)
    if row.status == "received":
        raise Conflict("Triage the referral before deciding it.")
    if row.status == "decided":
        raise Conflict("The referral is decided already.")
    now = clock.now()
    row.outcome, row.outcome_rationale = data["outcome"], data["rationale"].strip()
    row.status, row.decided_at, row.decided_by, row.decided_by_name = "decided", now, caller.id, caller.display_name
    row.updated_at = now
    # Research not answered by now is no longer needed: it leaves the asked teams' lists and cannot be answered.
    closed = session.execute(update(ResearchRequest).where(ResearchRequest.referral_id == row.id,
                                                           ResearchRequest.answered_at.is_(None),
                                                           ResearchRequest.closed_at.is_(None))
                             .values(closed_at=now).returning(ResearchRequest.team_id)).scalars().all()
    session.flush()
    if data["open_case"]:
        row.case_id = _open_case(uow, row, data["open_case"], directory)
        session.flush()
    add_event(uow, "decided", row, outcome=row.outcome, outcome_words=OUTCOME_WORDS[row.outcome],
              case_id=row.case_id, referrer_team_ids=list(row.referred_by_team_ids),
              referrer_user_id=row.referred_by_id if row.referred_by_kind == "user" else None,
              research_closed_team_ids=sorted(set(closed)),
              rationale_characters=len(row.outcome_rationale))
    return referral_view(session, row)


# -- the dashboard ---------------------------------------------------------------------------------------------
def _dashboard_team(caller, directory, requested) -> str:
    mine = [team["id"] for team in directory.mash_teams() if is_member(caller, team["id"])]
    if requested:
        if str(requested) not in mine:
            raise NotFound()
        return str(requested)
    if not mine:
        raise Forbidden("Only members of a MASH team see the MASH dashboard.")
    return mine[0]


def dashboard(uow, params, directory) -> dict:
    """One MASH team's morning, counted in SQL: awaiting triage, open by RAG, overdue against respond_by,
    research outstanding by agency, decided since midnight (UTC)."""
    session, caller = uow.session, uow.caller
    criteria = load_or_fail(DashboardQuerySchema(), params or {})
    team_id = _dashboard_team(caller, directory, criteria["mash_team_id"])
    now = clock.now()
    midnight = datetime.combine(now.date(), time(0), tzinfo=timezone.utc)
    f, r = Referral.__table__, ResearchRequest.__table__
    mine = f.c.mash_team_id == team_id
    counts = session.execute(select(
        func.count().filter(f.c.status == "received").label("awaiting"),
        *[func.count().filter(and_(f.c.status == "triaged", f.c.rag == rag)).label(rag)
          for rag in ("red", "amber", "green")]).where(mine, f.c.status != "decided")).one()
    decided = session.execute(select(func.count()).where(mine, f.c.status == "decided",
                                                         f.c.decided_at >= midnight)).scalar_one()
    late = session.execute(select(f.c.id, f.c.reference, f.c.subject_name, f.c.rag, f.c.respond_by)
                           .where(mine, f.c.status == "triaged", f.c.respond_by < now)
                           .order_by(f.c.respond_by, f.c.id).limit(100)).all()
    # Open requests (unanswered, referral not decided: deciding closes them) from the partial index alone.
    research = session.execute(select(r.c.organisation_id, func.array_agg(func.distinct(r.c.team_name)).label("teams"),
                                      func.count().label("count"),
                                      func.count().filter(r.c.due < now).label("overdue"))
                               .where(r.c.mash_team_id == team_id, r.c.answered_at.is_(None), r.c.closed_at.is_(None))
                               .group_by(r.c.organisation_id).order_by(func.count().desc())).all()
    uow.add_event("mash.dashboard_viewed", {"team_id": team_id})
    return {"mash_team_id": team_id, "as_at": _json(now), "awaiting_triage": counts.awaiting,
            "by_rag": {"red": counts.red, "amber": counts.amber, "green": counts.green},
            "overdue": [{"id": row.id, "reference": row.reference, "subject_name": row.subject_name, "rag": row.rag,
                         "respond_by": _json(row.respond_by)} for row in late],
            "research_outstanding": [{"organisation_id": row.organisation_id, "teams": sorted(row.teams),
                                      "count": row.count, "overdue": row.overdue} for row in research],
            "decided_today": decided}


def list_referrals(uow, params, directory) -> dict:
    """The MASH team's open referrals (respond_by first), for its pages."""
    session, caller = uow.session, uow.caller
    team_id = _dashboard_team(caller, directory, (params or {}).get("mash_team_id"))
    rows = session.execute(select(Referral).where(Referral.mash_team_id == team_id, Referral.status != "decided")
                           .order_by(Referral.respond_by.asc().nulls_first(), Referral.received_at)
                           .limit(200)).scalars().all()
    uow.add_event("mash.searched", {"team_id": team_id, "results": len(rows)})
    return {"items": [{**referrer_view(row), "subject": {"display_name": row.subject_name}, "rag": row.rag,
                       "respond_by": _json(row.respond_by), "overdue": overdue(row)} for row in rows],
            "next_cursor": None}
