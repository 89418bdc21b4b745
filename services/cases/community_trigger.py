"""The Community Trigger (ASB, Crime and Policing Act 2014 s.104): when one complainant's complaints across every
ASB case in Concord reach the threshold within the window, an activation is raised, once. Plain functions.

* The threshold (default 3 complaints within 6 months) and the review time (default 10 working days) are set
  per deployment (COMMUNITY_TRIGGER_* in services/cases/config.yaml) and per area: the area is the lead
  organisation of the case whose complaint met the threshold, with overrides in community_trigger_thresholds
  (docs/asb.md says why).
* A complaint counts in one activation at most (the primary key of community_trigger_complaints), and the
  complainant's complaints are evaluated under a transaction-scoped advisory lock on the complainant, so two
  complaints arriving at once are counted one after the other and raise one activation.
* Withdrawn complaints count no more towards a new activation; one already raised stays and shows them.
* Lead teams of the cases involved see the activation; cases they may not open are signposts.
"""
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select, text

from concord_common import clock
from concord_common.access.policy import visible_clause
from concord_common.access.records import record_uuid
from concord_common.access.store import grants
from concord_common.errors import Forbidden, load_or_fail
from services.cases.asb_schemas import ThresholdSchema
from services.cases.listing import involved, signpost
from services.cases.logic import add_event, today
from services.cases.models import Case, Complaint, TimelineEntry, TriggerActivation, TriggerComplaint, TriggerThreshold

_threshold_schema = ThresholdSchema()


@dataclass(frozen=True)
class Settings:
    """The deployment's defaults (config COMMUNITY_TRIGGER_*)."""
    complaints: int = 3
    window_months: int = 6
    review_working_days: int = 10
    bank_holidays: frozenset = field(default_factory=frozenset)

    @classmethod
    def from_config(cls, get) -> "Settings":
        holidays = get("COMMUNITY_TRIGGER_BANK_HOLIDAYS", "") or ""
        if isinstance(holidays, str):
            holidays = [day.strip() for day in holidays.split(",") if day.strip()]
        return cls(int(get("COMMUNITY_TRIGGER_COMPLAINTS", 3)), int(get("COMMUNITY_TRIGGER_WINDOW_MONTHS", 6)),
                   int(get("COMMUNITY_TRIGGER_REVIEW_WORKING_DAYS", 10)),
                   frozenset(date.fromisoformat(str(day)) for day in holidays))


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day where it is shorter: 31 Aug - 6 months = 28/29 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def add_working_days(start: date, days: int, bank_holidays=frozenset()) -> date:
    """`days` working days after `start`: Saturdays, Sundays and the deployment's bank holidays skipped."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in bank_holidays:
            days -= 1
    return current


def settings_for(session, organisation_id, defaults: Settings) -> tuple[int, int, int, str]:
    """(complaints, window months, review working days, source) for an area."""
    row = session.get(TriggerThreshold, str(organisation_id)) if organisation_id else None
    if row is None:
        return defaults.complaints, defaults.window_months, defaults.review_working_days, "deployment"
    return row.complaints, row.window_months, row.review_working_days, "area"


def lock_complainant(session, profile_id) -> None:
    """Until this transaction ends, nobody else counts this complainant's complaints."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"community-trigger:{profile_id}"})


def evaluate(uow, complainant_profile_id, area_case, defaults: Settings):
    """Raise an activation if the complainant's uncounted complaints (not withdrawn, on ASB cases) now reach
    the area's threshold within its window. Call with the complainant locked. Returns the activation or None."""
    session = uow.session
    threshold, months, review_days, _ = settings_for(session, area_case.owner_organisation_id, defaults)
    counted = select(TriggerComplaint.complaint_id)
    fresh = session.execute(select(Complaint).join(Case, Case.id == Complaint.case_id).where(
        Complaint.complainant_profile_id == str(complainant_profile_id), Complaint.withdrawn_at.is_(None),
        Case.case_type == "asb", Complaint.id.not_in(counted)).order_by(Complaint.received_on, Complaint.id)
    ).scalars().all()
    for last in fresh[threshold - 1:]:
        since = months_before(last.received_on, months)
        group = [c for c in fresh if since <= c.received_on <= last.received_on]
        if len(group) >= threshold:
            return _raise(uow, complainant_profile_id, last.received_on, group, area_case, threshold, months,
                          add_working_days(today(), review_days, defaults.bank_holidays))
    return None


def _raise(uow, profile_id, met_on, group, area_case, threshold, months, review_due):
    session, now = uow.session, clock.now()
    activation = TriggerActivation(id=str(uuid.uuid4()), complainant_profile_id=str(profile_id), met_on=met_on,
                                   raised_at=now, review_due=review_due, status="open", threshold=threshold,
                                   area_organisation_id=area_case.owner_organisation_id, window_months=months)
    session.add(activation)
    session.flush()
    for complaint in group:
        session.add(TriggerComplaint(complaint_id=complaint.id, activation_id=activation.id,
                                     case_id=complaint.case_id))
    case_ids = sorted({c.case_id for c in group})
    cases = session.execute(select(Case).where(Case.id.in_(case_ids)).order_by(Case.opened_at)).scalars().all()
    told = set()
    name = next((c.complainant_name for c in group if c.complainant_name), "the complainant")
    for case in cases:
        # Concord raised it, not the person whose complaint tipped it (they may not know the other cases).
        session.add(TimelineEntry(case_id=case.id, at=now, kind="community_trigger", by_id=None, by_name=None,
                                  summary=f"Community Trigger activated: {len(group)} complaints by {name} within "
                                          f"{months} months across {len(cases)} case(s); review due "
                                          f"{review_due.isoformat()}",
                                  ref={"type": "community_trigger_activation", "id": activation.id}))
        add_event(uow, "community_trigger_activated", case, reference=case.reference,
                  notify_team=case.owner_team_id not in told,          # one notice per lead team
                  activation={"id": activation.id, "met_on": met_on.isoformat(), "review_due": review_due.isoformat(),
                              "complaints": len(group), "cases": len(cases)})
        told.add(case.owner_team_id)
    session.flush()
    return activation


# -- who sees activations -----------------------------------------------------------------------------------------
def _involved_led_by(caller):
    if caller.kind == "user" and caller.team_ids():
        return Case.owner_team_id.in_(list(caller.team_ids()))
    if caller.kind == "client" and caller.organisation_id:
        return Case.owner_organisation_id == caller.organisation_id
    return None


def list_activations(uow, params=None) -> dict:
    """Activations involving a case one of the caller's teams leads (an API client: its organisation leads)."""
    session, caller = uow.session, uow.caller
    led = _involved_led_by(caller)
    if led is None:
        return {"items": []}
    tc, c = TriggerComplaint.__table__, Case.__table__
    mine = select(tc.c.activation_id).join(c, c.c.id == tc.c.case_id).where(led)
    activations = session.execute(select(TriggerActivation).where(TriggerActivation.id.in_(mine))
                                  .order_by(TriggerActivation.review_due, TriggerActivation.id)).scalars().all()
    ids = [a.id for a in activations]
    members = session.execute(select(tc.c.activation_id, Complaint).join(Complaint, Complaint.id == tc.c.complaint_id)
                              .where(tc.c.activation_id.in_(ids)).order_by(Complaint.received_on)).all() if ids else []
    case_ids = sorted({row.Complaint.case_id for row in members})
    visible = visible_clause(caller, clock.now(), c, grants, "case")
    rows = {row.id: row for row in session.execute(select(c, visible.label("visible")).where(c.c.id.in_(case_ids)))} \
        if case_ids else {}
    organisations = involved(session, [case_id for case_id, row in rows.items() if not row.visible])
    items, on_day = [], today()
    for activation in activations:
        mine_members = [row.Complaint for row in members if row.activation_id == activation.id]
        seen, cases = [], []
        for complaint in mine_members:
            if complaint.case_id not in seen:
                seen.append(complaint.case_id)
                cases.append(_case_entry(rows[complaint.case_id], organisations))
        items.append({"id": activation.id, "complainant_profile_id": activation.complainant_profile_id,
                      "met_on": activation.met_on.isoformat(), "review_due": activation.review_due.isoformat(),
                      "review_overdue": activation.status == "open" and activation.review_due < on_day,
                      "status": activation.status, "threshold": activation.threshold,
                      "window_months": activation.window_months,
                      "complaints": [{"received_on": m.received_on.isoformat(), "withdrawn": m.withdrawn_at is not None}
                                     for m in mine_members],
                      "complaints_withdrawn": sum(1 for m in mine_members if m.withdrawn_at is not None),
                      "cases": cases})
    uow.add_event("case.searched", {"terms": {"community_trigger": "activations"}, "results": len(items),
                                    "signposts": sum(1 for i in items for k in i["cases"] if k["access"] != "full")})
    return {"items": items}


def _case_entry(row, organisations) -> dict:
    if row.visible:
        return {"id": row.id, "access": "full", "reference": row.reference, "title": row.title,
                "case_type": row.case_type, "status": row.status,
                "owner": {"organisation_id": row.owner_organisation_id, "team_id": row.owner_team_id}}
    if row.restricted:          # restricted cases are never signposted in lists: only who holds one
        return {"id": None, "access": "signpost", "restricted": True,
                "involved_organisations": [{"organisation_id": row.owner_organisation_id}]}
    return signpost(row, organisations.get(row.id, ()))


# -- per-area settings --------------------------------------------------------------------------------------------
def _may_set(caller, organisation_id) -> bool:
    return caller.kind == "system" or "system_admin" in caller.roles or (
        caller.kind == "user" and "org_admin" in caller.roles and caller.organisation_id == str(organisation_id))


def get_threshold(session, caller, organisation_id, defaults: Settings) -> dict:
    organisation_id = record_uuid(organisation_id)                 # not an organisation id: 404
    complaints, months, days, source = settings_for(session, organisation_id, defaults)
    return {"organisation_id": str(organisation_id), "complaints": complaints, "window_months": months,
            "review_working_days": days, "source": source}


def set_threshold(uow, organisation_id, payload, defaults: Settings) -> dict:
    """An area's own threshold (its organisation's administrators, or system administrators)."""
    organisation_id = record_uuid(organisation_id)
    if not _may_set(uow.caller, organisation_id):
        raise Forbidden("Only the organisation's administrators set its Community Trigger threshold.")
    data = load_or_fail(_threshold_schema, payload)
    row = uow.session.get(TriggerThreshold, str(organisation_id))
    before = get_threshold(uow.session, uow.caller, organisation_id, defaults)
    if row is None:
        row = TriggerThreshold(organisation_id=str(organisation_id), **data, updated_at=clock.now(),
                               updated_by=uow.caller.id)
        uow.session.add(row)
    else:
        for key, value in data.items():
            setattr(row, key, value)
        row.updated_at, row.updated_by = clock.now(), uow.caller.id
    uow.add_event("community_trigger.threshold_set", {
        "record": {"type": "organisation", "id": str(organisation_id)},
        "owner": {"organisation_id": str(organisation_id)},
        "fields": {key: {"before": before[key], "after": value} for key, value in data.items()}})
    uow.session.flush()
    return get_threshold(uow.session, uow.caller, organisation_id, defaults)
