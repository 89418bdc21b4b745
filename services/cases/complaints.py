"""Complaints of ASB on ASB cases, by a complainant who is a participant of the case; each one may raise a
Community Trigger activation (community_trigger.py). Plain functions over a unit of work, no nameko.

Complaints are part of the case's file: viewing needs view on the case, recording and withdrawing need edit.
"""
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.errors import Conflict, NotFound, ValidationFailed, load_or_fail
from services.cases import community_trigger
from services.cases.asb_schemas import ComplaintCreateSchema, WithdrawSchema
from services.cases.logic import add_event, add_to_timeline, load_case
from services.cases.models import Complaint, Participant, TriggerActivation, TriggerComplaint

_create_schema, _withdraw_schema = ComplaintCreateSchema(), WithdrawSchema()


def _invalid(field, message):
    return ValidationFailed("One or more fields are invalid.", {field: [message]})


def complaint_view(row, activation_id=None) -> dict:
    return {"id": row.id, "case_id": row.case_id, "complainant_profile_id": row.complainant_profile_id,
            "complainant_name": row.complainant_name, "received_on": row.received_on.isoformat(),
            "summary": row.summary, "recorded_at": row.recorded_at.isoformat(),
            "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
            "withdrawn_reason": row.withdrawn_reason, "activation_id": activation_id}


def _activation_of(session, complaint_ids) -> dict:
    if not complaint_ids:
        return {}
    return dict(session.execute(select(TriggerComplaint.complaint_id, TriggerComplaint.activation_id).where(
        TriggerComplaint.complaint_id.in_(complaint_ids))).all())


def add_complaint(uow, case_id, payload, settings: community_trigger.Settings) -> dict:
    session, caller = uow.session, uow.caller
    case, access, _ = load_case(session, caller, case_id, "edit")
    data = load_or_fail(_create_schema, payload)
    if case.case_type != "asb":
        raise _invalid("case_id", "Complaints are recorded on ASB cases only (this is not one).")
    profile_id = str(data["complainant_profile_id"])
    name = session.execute(select(Participant.display_name).where(
        Participant.case_id == case.id, Participant.profile_id == profile_id, Participant.ended_at.is_(None))
    ).scalars().first()
    if name is None:
        raise _invalid("complainant_profile_id", "The complainant must be on the case: add them as a "
                                                 "participant first.")
    if case.status == "closed":
        raise Conflict("The case is closed: reopen it before recording a complaint on it.")
    community_trigger.lock_complainant(session, profile_id)      # counted one complaint at a time
    row = Complaint(id=str(uuid.uuid4()), case_id=case.id, complainant_profile_id=profile_id, complainant_name=name,
                    received_on=data["received_on"], summary=data["summary"].strip(), recorded_at=clock.now(),
                    recorded_by=caller.id)
    session.add(row)
    add_to_timeline(uow, case.id, "complaint", f"Complaint from {name} received {row.received_on.isoformat()}",
                    ref={"type": "complaint", "id": row.id})
    add_event(uow, "complaint_recorded", case, access, complaint={
        "id": row.id, "complainant_profile_id": profile_id, "received_on": row.received_on.isoformat()})
    session.flush()
    community_trigger.evaluate(uow, profile_id, case, settings)
    return complaint_view(row, _activation_of(session, [row.id]).get(row.id))


def withdraw_complaint(uow, complaint_id, payload) -> dict:
    session = uow.session
    try:
        row = session.execute(select(Complaint).where(Complaint.id == str(uuid.UUID(str(complaint_id))))
                              .with_for_update()).scalars().first()
    except ValueError:
        row = None
    if row is None:
        raise NotFound()
    case, access, _ = load_case(session, uow.caller, row.case_id, "edit")
    reason = load_or_fail(_withdraw_schema, payload)["reason"].strip()
    if row.withdrawn_at is not None:
        raise Conflict("The complaint was withdrawn already.")
    row.withdrawn_at, row.withdrawn_by, row.withdrawn_reason = clock.now(), uow.caller.id, reason
    activation_id = _activation_of(session, [row.id]).get(row.id)
    kept = ""
    if activation_id:
        met_on = session.get(TriggerActivation, activation_id).met_on
        kept = f" It counted in the Community Trigger activation of {met_on.isoformat()}, which stands."
    add_to_timeline(uow, case.id, "complaint_withdrawn",
                    f"Complaint from {row.complainant_name} ({row.received_on.isoformat()}) withdrawn: {reason}.{kept}",
                    ref={"type": "complaint", "id": row.id})
    add_event(uow, "complaint_withdrawn", case, access, reason=reason,
              complaint={"id": row.id, "activation_id": activation_id},
              fields={"withdrawn_at": {"before": None, "after": row.withdrawn_at.isoformat()}})
    session.flush()
    return complaint_view(row, activation_id)


def list_complaints(uow, case_id) -> dict:
    case, access, decision = load_case(uow.session, uow.caller, case_id)
    rows = uow.session.execute(select(Complaint).where(Complaint.case_id == case.id)
                               .order_by(Complaint.received_on.desc(), Complaint.recorded_at.desc())).scalars().all()
    activations = _activation_of(uow.session, [row.id for row in rows])
    add_event(uow, "viewed", case, access, level=decision.level, part="complaints")
    return {"items": [complaint_view(row, activations.get(row.id)) for row in rows]}
