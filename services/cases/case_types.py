"""Case types as data: the twelve the contract ships are seeded by migration 0003; system administrators add
and change them. Plain functions, no nameko."""
from sqlalchemy import select

from concord_common import clock
from concord_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, load_or_fail
from services.cases.models import CaseType, RiskTemplate
from services.cases.schemas import CaseTypeCreateSchema, CaseTypeUpdateSchema

_create_schema = CaseTypeCreateSchema()
_update_schema = CaseTypeUpdateSchema()


def type_view(row) -> dict:
    return {"code": row.code, "label": row.label, "reference_prefix": row.reference_prefix,
            "participant_roles": list(row.participant_roles), "risk_templates": list(row.risk_templates),
            "review_days": row.review_days, "active": row.active}


def require_type(session, code, active_only=True) -> CaseType:
    """The case type named `code`; a 422 on `case_type` if there is none (or, for new cases, it is retired)."""
    row = session.get(CaseType, code) if isinstance(code, str) else None
    if row is None or (active_only and not row.active):
        raise ValidationFailed("One or more fields are invalid.", {"case_type": [
            "There is no such case type: see GET /api/v1/case-types."]})
    return row


def list_types(session, caller) -> dict:
    rows = session.execute(select(CaseType).order_by(CaseType.label)).scalars().all()
    return {"items": [type_view(row) for row in rows]}


def _known_templates(session):
    """db_checks for load_or_fail: a case type offers only risk templates that exist (GET /api/v1/risk-templates)."""
    def check(data) -> dict:
        wanted = set(data.get("risk_templates") or ())
        known = set(session.execute(select(RiskTemplate.code).where(RiskTemplate.code.in_(wanted))).scalars()) \
            if wanted else set()
        unknown = sorted(wanted - known)
        return {"risk_templates": [f"There is no risk template {', '.join(unknown)}: see GET "
                                   "/api/v1/risk-templates."]} if unknown else {}
    return check


def _require_system_admin(caller) -> None:
    if not (caller.kind == "system" or (caller.kind == "user" and caller.has_role("system_admin"))):
        raise Forbidden("Only a system administrator may add or change case types.")


def create_type(uow, payload) -> dict:
    _require_system_admin(uow.caller)
    data = load_or_fail(_create_schema, payload, db_checks=_known_templates(uow.session))
    prefix = data["reference_prefix"] or "".join(ch for ch in data["code"].upper() if ch.isalpha())[:6]
    if uow.session.get(CaseType, data["code"]) is not None:
        raise Conflict("There is already a case type with that code.")
    if uow.session.execute(select(CaseType.code).where(CaseType.reference_prefix == prefix)).first():
        raise ValidationFailed("One or more fields are invalid.", {"reference_prefix": [
            f"{prefix} already starts another case type's references: choose another."]})
    row = CaseType(code=data["code"], label=data["label"].strip(), reference_prefix=prefix,
                   participant_roles=data["participant_roles"], risk_templates=data["risk_templates"],
                   review_days=data["review_days"], active=True, updated_at=clock.now())
    uow.session.add(row)
    uow.session.flush()
    uow.add_event("case_type.created", {"case_type": type_view(row)})
    return type_view(row)


def update_type(uow, code, payload) -> dict:
    _require_system_admin(uow.caller)
    row = uow.session.get(CaseType, code, with_for_update=True) if isinstance(code, str) else None
    if row is None:
        raise NotFound()
    data = load_or_fail(_update_schema, payload, db_checks=_known_templates(uow.session))
    before = type_view(row)
    for key, value in data.items():
        setattr(row, key, value.strip() if key == "label" else value)
    after = type_view(row)
    fields = {key: {"before": before[key], "after": after[key]} for key in data if before[key] != after[key]}
    if fields:
        row.updated_at = clock.now()
        uow.add_event("case_type.updated", {"case_type": {"code": row.code}, "fields": fields})
    return after
