"""ASB powers on a case (Anti-social Behaviour, Crime and Policing Act 2014) and their breaches; the scheduled
job that expires them. Plain functions over a unit of work, no nameko.

A power is part of its case's file: whoever may view the case sees its powers, whoever may edit it records
and changes them (the case's access list, concord_common.access). Its status moves only along TRANSITIONS
(docs/asb.md): powers an agency gives itself (a CPW, a CPN …) are *issued*; those a court makes (a civil
injunction, a CBO, a closure order) are *applied* for, then *granted* or *refused*.
"""
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from concord_common import clock
from concord_common.errors import Conflict, NotFound, ValidationFailed, load_or_fail
from concord_common.ops_metrics import due_work
from concord_common.schedule import Job
from services.cases.asb_schemas import BreachCreateSchema, ExpiringSchema, PowerCreateSchema, PowerUpdateSchema
from services.cases.logic import add_event, add_to_timeline, load_case, today
from services.cases.models import Breach, Case, Participant, Power

POWER_WORDS = {"cpw": "Community Protection Warning", "cpn": "Community Protection Notice",
               "civil_injunction": "Civil injunction", "cbo": "Criminal Behaviour Order",
               "closure_notice": "Closure notice", "closure_order": "Closure order",
               "dispersal_direction": "Dispersal direction", "abc": "Acceptable Behaviour Contract"}
COURT_POWERS = {"civil_injunction", "cbo", "closure_order"}       # applied for, then granted or refused
IN_FORCE = ("issued", "granted", "breached")                        # may be breached; expire by themselves
FINAL = ("refused", "discharged", "expired")
TRANSITIONS = {
    "considered": {"applied", "issued", "refused"},    # refused: not pursued (or, for court powers, refused)
    "applied": {"granted", "refused"},
    "issued": {"breached", "discharged", "expired"},
    "granted": {"breached", "discharged", "expired"},
    "breached": {"discharged", "expired"},             # further breaches keep it breached
    "refused": set(), "discharged": set(), "expired": set(),
}
EXPIRE = Job("cases.powers_expire", seconds=3600)
BATCH = 500

_create_schema, _update_schema = PowerCreateSchema(), PowerUpdateSchema()
_breach_schema, _expiring_schema = BreachCreateSchema(), ExpiringSchema()


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def allowed_next(power: str, status: str) -> list[str]:
    """Where a power of this kind may go from `status` (court powers are granted, never issued; others the
    reverse)."""
    wrong = {"issued"} if power in COURT_POWERS else {"applied", "granted"}
    return sorted(TRANSITIONS[status] - wrong)


def starts(power: str) -> tuple:
    """What a newly recorded power may be (one given earlier is recorded as it stands now)."""
    return ("considered", "applied", "granted") if power in COURT_POWERS else ("considered", "issued")


def power_label(power: str) -> str:
    return POWER_WORDS.get(power, power)


def breach_view(row) -> dict:
    return {"id": row.id, "power_id": row.power_id, "occurred_on": _iso(row.occurred_on), "detail": row.detail,
            "action_taken": row.action_taken, "recorded_at": _iso(row.recorded_at), "recorded_by": row.recorded_by}


def power_view(row, breaches=(), case=None) -> dict:
    view = {"id": row.id, "case_id": row.case_id, "power": row.power, "profile_id": row.profile_id,
            "subject_name": row.subject_name, "status": row.status,
            "next_statuses": allowed_next(row.power, row.status), "served_on": _iso(row.served_on),
            "expires_on": _iso(row.expires_on), "conditions": row.conditions,
            "breaches": [breach_view(b) for b in breaches], "recorded_at": _iso(row.recorded_at),
            "updated_at": _iso(row.updated_at)}
    if case is not None:
        view["case"] = {"id": case.id, "reference": case.reference, "title": case.title}
    return view


def _breaches_of(session, power_ids) -> dict:
    found = {power_id: [] for power_id in power_ids}
    if power_ids:
        for breach in session.execute(select(Breach).where(Breach.power_id.in_(power_ids))
                                      .order_by(Breach.occurred_on, Breach.recorded_at)).scalars():
            found[breach.power_id].append(breach)
    return found


def _participant_name(session, case_id, profile_id) -> str:
    name = session.execute(select(Participant.display_name).where(
        Participant.case_id == case_id, Participant.profile_id == str(profile_id),
        Participant.ended_at.is_(None))).scalars().first()
    if name is None:
        raise _invalid("profile_id", "That profile is not on the case: add them as a participant first.")
    return name


def _check_state(power: str, status: str, served_on) -> None:
    if status in ("issued", "granted") and served_on is None:
        raise _invalid("served_on", f"Give the date the power was served: it is {status}.")


def _summary(row) -> str:
    against = f" against {row.subject_name}" if row.subject_name else ""
    return f"{power_label(row.power)}{against}"


def _event_power(row) -> dict:
    # What the audit log and notifications need; never the conditions' words (they are case content).
    return {"id": row.id, "power": row.power, "status": row.status, "profile_id": row.profile_id,
            "served_on": _iso(row.served_on), "expires_on": _iso(row.expires_on)}


# -- recording and changing ---------------------------------------------------------------------------------------
def add_power(uow, case_id, payload) -> dict:
    session, caller = uow.session, uow.caller
    case, access, _ = load_case(session, caller, case_id, "edit")
    data = load_or_fail(_create_schema, payload)
    if data["status"] not in starts(data["power"]):
        raise _invalid("status", f"A new {power_label(data['power'])} can be recorded as: "
                                 f"{', '.join(starts(data['power']))}.")
    _check_state(data["power"], data["status"], data["served_on"])
    name = _participant_name(session, case.id, data["profile_id"]) if data["profile_id"] else None
    if case.status == "closed":
        raise Conflict("The case is closed: reopen it before recording a power on it.")
    now = clock.now()
    row = Power(id=str(uuid.uuid4()), case_id=case.id, power=data["power"],
                profile_id=str(data["profile_id"]) if data["profile_id"] else None, subject_name=name,
                status=data["status"], served_on=data["served_on"], expires_on=data["expires_on"],
                conditions=(data["conditions"] or "").strip() or None,
                in_force_since=data["served_on"] if data["status"] in ("issued", "granted") else None,
                recorded_at=now, recorded_by=caller.id, updated_at=now)
    session.add(row)
    add_to_timeline(uow, case.id, "power_recorded", f"{_summary(row)}: {row.status}",
                    ref={"type": "power", "id": row.id})
    add_event(uow, "power_recorded", case, access, power=_event_power(row))
    session.flush()
    return power_view(row)


def _load_power(uow, power_id, action, lock=False):
    try:
        query = select(Power).where(Power.id == str(uuid.UUID(str(power_id))))
    except ValueError:
        raise NotFound()
    row = uow.session.execute(query.with_for_update() if lock else query).scalars().first()
    if row is None:
        raise NotFound()
    case, access, _ = load_case(uow.session, uow.caller, row.case_id, action)
    return row, case, access


def update_power(uow, power_id, payload) -> dict:
    row, case, access = _load_power(uow, power_id, "edit", lock=True)
    data = load_or_fail(_update_schema, payload)
    served = data.get("served_on", row.served_on)
    expires = data.get("expires_on", row.expires_on)
    if served and expires and expires < served:
        raise _invalid("expires_on", "Must be on or after the date it was served (served_on).")
    status = data.get("status", row.status)
    if status != row.status and status not in allowed_next(row.power, row.status):
        nexts = allowed_next(row.power, row.status)
        raise _invalid("status", f"A {power_label(row.power)} that is {row.status} cannot become {status}"
                       + (f": it can become {', '.join(nexts)}." if nexts else " (that is final)."))
    if status == "breached" and row.status != "breached":
        raise _invalid("status", "Record the breach itself (POST /api/v1/powers/{id}/breaches): it marks the "
                                 "power breached.")
    _check_state(row.power, status, served)
    if "conditions" in data:
        data["conditions"] = (data["conditions"] or "").strip() or None
    fields = {key: {"before": _iso(getattr(row, key)), "after": _iso(value)} for key, value in data.items()
              if key != "conditions" and getattr(row, key) != value}
    conditions_changed = "conditions" in data and data["conditions"] != row.conditions
    if not fields and not conditions_changed:
        return power_view(row, _breaches_of(uow.session, [row.id])[row.id])
    for key, value in data.items():
        setattr(row, key, value)
    if status in ("issued", "granted") and row.in_force_since is None:
        row.in_force_since = row.served_on
    row.updated_at = clock.now()
    what = [f"status {fields['status']['before']} to {status}"] if "status" in fields else []
    what += [{"served_on": "served date", "expires_on": "expiry date"}[key] for key in fields if key != "status"]
    what += ["conditions"] if conditions_changed else []
    add_to_timeline(uow, case.id, "power_updated", f"{_summary(row)}: changed {', '.join(what)}",
                    ref={"type": "power", "id": row.id})
    add_event(uow, "power_updated", case, access, power=_event_power(row),
              fields={**fields, **({"conditions": {"changed": True}} if conditions_changed else {})})
    uow.session.flush()
    return power_view(row, _breaches_of(uow.session, [row.id])[row.id])


def add_breach(uow, power_id, payload) -> dict:
    row, case, access = _load_power(uow, power_id, "edit", lock=True)
    data = load_or_fail(_breach_schema, payload)
    if row.in_force_since is None:
        raise _invalid("power_id", f"This {power_label(row.power)} was never issued or granted "
                                   f"(it is {row.status}): it cannot be breached.")
    if row.served_on and data["occurred_on"] < row.served_on:
        raise _invalid("occurred_on", "Must be on or after the date the power was served.")
    now = clock.now()
    breach = Breach(id=str(uuid.uuid4()), power_id=row.id, occurred_on=data["occurred_on"],
                    detail=data["detail"].strip(), action_taken=(data["action_taken"] or "").strip() or None,
                    recorded_at=now, recorded_by=uow.caller.id)
    uow.session.add(breach)
    before = row.status
    if row.status in ("issued", "granted"):
        row.status = "breached"
    row.updated_at = now
    add_to_timeline(uow, case.id, "power_breached", f"{_summary(row)} breached on {_iso(breach.occurred_on)}",
                    ref={"type": "power", "id": row.id, "breach_id": breach.id})
    add_event(uow, "power_breached", case, access, reference=case.reference, power=_event_power(row),
              breach={"id": breach.id, "occurred_on": _iso(breach.occurred_on),
                      "action_taken": breach.action_taken is not None},
              fields={"status": {"before": before, "after": row.status}} if before != row.status else {})
    uow.session.flush()
    return breach_view(breach)


# -- reading -----------------------------------------------------------------------------------------------------
def list_case_powers(uow, case_id) -> dict:
    case, access, decision = load_case(uow.session, uow.caller, case_id)
    rows = uow.session.execute(select(Power).where(Power.case_id == case.id)
                               .order_by(Power.recorded_at.desc(), Power.id)).scalars().all()
    breaches = _breaches_of(uow.session, [row.id for row in rows])
    add_event(uow, "viewed", case, access, level=decision.level, part="powers")
    return {"items": [power_view(row, breaches[row.id]) for row in rows]}


def _led_by_caller(caller):
    if caller.kind == "user":
        return Case.owner_team_id.in_(list(caller.team_ids()) or [""])
    if caller.kind == "client" and caller.organisation_id:
        return Case.owner_organisation_id == caller.organisation_id
    return None


def expiring(uow, params) -> dict:
    """Powers in force that expire within N days (today included), on cases the caller's teams lead."""
    days = load_or_fail(_expiring_schema, params or {})["expiring_within_days"]
    led = _led_by_caller(uow.caller)
    if led is None:
        return {"items": []}
    start = today()
    rows = uow.session.execute(select(Power, Case).join(Case, Case.id == Power.case_id).where(
        led, Power.status.in_(IN_FORCE), Power.expires_on >= start, Power.expires_on <= start + timedelta(days=days))
        .order_by(Power.expires_on, Power.id)).all()
    breaches = _breaches_of(uow.session, [row.Power.id for row in rows])
    uow.add_event("case.searched", {"terms": {"powers_expiring_within_days": str(days)}, "results": len(rows),
                                    "signposts": 0})
    return {"items": [power_view(row.Power, breaches[row.Power.id], row.Case) for row in rows]}


# -- expiry (the scheduled job cases.powers_expire: one replica per tick, concord_common.schedule) ----------------
@due_work(EXPIRE.name)
def expiries_due(conn) -> int:
    """Powers past their expiry still in force (concord_scheduled_due)."""
    return conn.execute(select(func.count()).select_from(Power).where(
        Power.status.in_(IN_FORCE), Power.expires_on < today())).scalar()


def expire_due(uow, tick) -> int:
    """Every power in force whose expiry date has passed becomes expired (the day after it expires)."""
    session, done = uow.session, 0
    while True:
        rows = session.execute(select(Power, Case).join(Case, Case.id == Power.case_id).where(
            Power.status.in_(IN_FORCE), Power.expires_on < today()).order_by(Power.expires_on, Power.id)
            .limit(BATCH).with_for_update(of=Power, skip_locked=True)).all()
        for power, case in rows:
            before, power.status, power.updated_at = power.status, "expired", clock.now()
            add_to_timeline(uow, case.id, "power_expired", f"{_summary(power)} expired on {_iso(power.expires_on)}",
                            ref={"type": "power", "id": power.id})
            add_event(uow, "power_expired", case, power=_event_power(power), tick=tick.at.isoformat(),
                      fields={"status": {"before": before, "after": "expired"}})
        session.flush()
        done += len(rows)
        if len(rows) < BATCH:
            return done
