"""Information sharing agreements between organisations. Plain functions, no nameko.

An agreement names two or more organisations, why they share (purpose) and on
what lawful basis. It is active from its start date to its end date (both
inclusive), unless ended early. When an owner grants access to a record, the
owning service asks `active_agreement_between` whether an agreement covers
the two organisations; where none does, the grant needs a justification.
"""
import uuid

from sqlalchemy import exists, select

from concord_common import clock
from concord_common.errors import Forbidden, NotFound, load_or_fail
from services.permissions import views
from services.permissions.access import Actor, actor_for, valid_id
from services.permissions.models import Organisation, SharingAgreement, SharingAgreementParty
from services.permissions.schemas import AgreementListSchema, SharingAgreementCreateSchema, today

ADMINS_ONLY = "Only a system administrator, or an administrator of one of its organisations, may do this."


def _agreement_ref(agreement_id: str) -> dict:
    return views.record("sharing_agreement", agreement_id)


def _require_party_admin(actor: Actor, organisation_ids) -> None:
    if actor.is_system_admin:
        return
    if not (actor.kind == "user" and "org_admin" in actor.roles and actor.organisation_id in set(organisation_ids)):
        raise Forbidden(ADMINS_ONLY)


def _parties(session, agreement_id: str) -> list[str]:
    return list(session.scalars(select(SharingAgreementParty.organisation_id)
                                .where(SharingAgreementParty.agreement_id == agreement_id)))


def _agreement_or_404(session, agreement_id, lock=False) -> SharingAgreement:
    found = valid_id(agreement_id)
    query = select(SharingAgreement).where(SharingAgreement.id == found)
    agreement = session.scalar(query.with_for_update() if lock else query) if found else None
    if agreement is None:
        raise NotFound()
    return agreement


def create_sharing_agreement(uow, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    raw_ids = payload.get("organisation_ids") if isinstance(payload, dict) else None
    _require_party_admin(actor, [str(i) for i in raw_ids] if isinstance(raw_ids, list) else [])

    def organisations_exist(data):
        errors = {}
        for index, organisation_id in enumerate(data.get("organisation_ids") or []):
            if session.get(Organisation, str(organisation_id)) is None:
                errors[f"organisation_ids.{index}"] = ["There is no such organisation."]
        return errors

    data = load_or_fail(SharingAgreementCreateSchema(), payload, organisations_exist)
    agreement = SharingAgreement(
        id=str(uuid.uuid4()), name=data["name"], purpose=data["purpose"], lawful_basis=data["lawful_basis"],
        review_date=data["review_date"], start_date=data["start_date"] or today(), end_date=data["end_date"],
        created_by=actor.id, created_at=clock.now())
    session.add(agreement)
    session.flush()
    session.add_all([SharingAgreementParty(agreement_id=agreement.id, organisation_id=str(organisation_id))
                     for organisation_id in data["organisation_ids"]])
    session.flush()
    body = views.sharing_agreement(session, agreement)
    uow.add_event("sharing_agreement.created", {"record": _agreement_ref(agreement.id), "agreement": body})
    return body


def end_sharing_agreement(uow, agreement_id) -> dict:
    """End it today, at once (it is no longer active from now). Ending an ended agreement changes nothing."""
    session = uow.session
    actor = actor_for(session, uow.caller)
    agreement = _agreement_or_404(session, agreement_id, lock=True)
    _require_party_admin(actor, _parties(session, agreement.id))
    if agreement.ended_at is not None:
        return views.sharing_agreement(session, agreement)
    on = today()
    agreement.end_date = on if agreement.end_date is None or agreement.end_date > on else agreement.end_date
    agreement.ended_at, agreement.ended_by = clock.now(), actor.id
    session.flush()
    body = views.sharing_agreement(session, agreement)
    uow.add_event("sharing_agreement.ended", {"record": _agreement_ref(agreement.id), "agreement": body})
    return body


def list_sharing_agreements(session, caller, organisation_id=None) -> dict:
    actor_for(session, caller)
    data = load_or_fail(AgreementListSchema(), {"organisation_id": organisation_id})
    query = select(SharingAgreement)
    if data["organisation_id"] is not None:
        query = query.where(exists().where(SharingAgreementParty.agreement_id == SharingAgreement.id,
                                           SharingAgreementParty.organisation_id == str(data["organisation_id"])))
    rows = session.scalars(query.order_by(SharingAgreement.start_date.desc(), SharingAgreement.name)).all()
    return {"items": views.sharing_agreements(session, rows), "next_cursor": None}


def get_sharing_agreement(session, caller, agreement_id) -> dict:
    actor_for(session, caller)
    return views.sharing_agreement(session, _agreement_or_404(session, agreement_id))


def active_agreement_between(session, caller, organisation_a, organisation_b) -> dict | None:
    """The agreement active today that both organisations are party to (the latest started), or None.

    Any signed-in caller, partner systems included (an owner's grant may come through the API).
    """
    actor_for(session, caller, allow_clients=True)
    a, b = valid_id(organisation_a), valid_id(organisation_b)
    if a is None or b is None or a == b:
        return None
    on = today()

    def party(organisation_id):
        return exists().where(SharingAgreementParty.agreement_id == SharingAgreement.id,
                              SharingAgreementParty.organisation_id == organisation_id)

    agreement = session.scalar(
        select(SharingAgreement)
        .where(party(a), party(b), SharingAgreement.start_date <= on, SharingAgreement.ended_at.is_(None),
               (SharingAgreement.end_date.is_(None)) | (SharingAgreement.end_date >= on))
        .order_by(SharingAgreement.start_date.desc(), SharingAgreement.created_at.desc()).limit(1))
    return views.sharing_agreement(session, agreement) if agreement is not None else None
