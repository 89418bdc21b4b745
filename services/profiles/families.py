"""Families and households: create, read, add and remove members, the families a profile is in.

Plain functions over a unit of work (reads that record nothing take a session and the caller); no nameko.
A member the caller may not see shows as a signpost (no name).
"""
import uuid

from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import NotFound, ValidationFailed, load_or_fail
from services.profiles.answers import display_name
from services.profiles.models import Family, FamilyMember, Profile
from services.profiles.profile_views import as_json
from services.profiles.record_kinds import FAMILY, PROFILE, require_visible_person
from services.profiles.schemas import FamilyCreateSchema, FamilyMemberSchema

_family_schema = FamilyCreateSchema()
_member_schema = FamilyMemberSchema()
NO_PROFILE = "00000000-0000-0000-0000-000000000000"      # matches nothing: `IN ()` is not valid SQL


def family_view(session, caller, family) -> dict:
    """The family as the API shows it; each member named only if the caller may see them."""
    members = session.execute(select(FamilyMember).where(FamilyMember.family_id == family.id)
                              .order_by(FamilyMember.added_at, FamilyMember.profile_id)).scalars().all()
    table = Profile.__table__
    visible = visible_clause(caller, clock.now(), table, grants, "profile").label("visible")
    people = {row.id: row for row in session.execute(select(table, visible).where(
        table.c.id.in_([m.profile_id for m in members] or [NO_PROFILE])))}
    out = []
    for member in members:
        person = people.get(member.profile_id)
        out.append({"profile_id": member.profile_id, "role": member.role,
                    "display_name": display_name(person) if person is not None else None,
                    "access": "full" if person is not None and person.visible else "signpost"})
    return {"id": family.id, "name": family.name, "members": out,
            "owner": {"organisation_id": family.owner_organisation_id, "team_id": family.owner_team_id},
            "restricted": family.restricted, "version": family.version, "created_at": as_json(family.created_at),
            "updated_at": as_json(family.updated_at), "access": "full"}


def _require_visible_members(session, caller, members) -> None:
    """Every member a person the caller may see; one 422 naming each one that is not."""
    errors = {}
    for position, member in enumerate(members):
        try:
            require_visible_person(session, caller, str(member["profile_id"]), f"members.{position}.profile_id")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors)


def create_family(uow, payload, directory) -> dict:
    data = load_or_fail(_family_schema, payload)
    _require_visible_members(uow.session, uow.caller, data["members"])
    requested = str(data["owner_team_id"]) if data["owner_team_id"] else None
    team_id, organisation_id = records.owning_team(uow.caller, requested, directory)
    family = Family(id=str(uuid.uuid4()), name=data["name"], created_by=uow.caller.id, version=1,
                    owner_team_id=team_id, owner_organisation_id=organisation_id, restricted=False)
    uow.session.add(family)
    uow.session.flush()
    uow.session.add_all(FamilyMember(family_id=family.id, profile_id=str(m["profile_id"]), role=m["role"],
                                     added_by=uow.caller.id) for m in data["members"])
    uow.session.flush()
    uow.session.refresh(family)
    body = family_view(uow.session, uow.caller, family)
    uow.add_event("family.created", {"record": {"type": "family", "id": family.id}, "owner": body["owner"],
                                     "name": family.name, "members": [{"profile_id": str(m["profile_id"]),
                                                                       "role": m["role"]} for m in data["members"]]})
    return body


def get_family(uow, family_id) -> dict:
    """Only for those who may see it; the view is recorded in the same transaction."""
    row, access, _ = records.load(uow.session, FAMILY, family_id)
    decision = records.require(uow.caller, access, "view")
    uow.add_event("family.viewed", {"record": {"type": "family", "id": row.id}, "owner": records.owner_of(access),
                                    "level": decision.level})
    return family_view(uow.session, uow.caller, uow.session.get(Family, row.id))


def add_family_member(uow, family_id, payload) -> dict:
    """Add a member, or change the role of one already in; the same role again changes nothing."""
    row, access, _ = records.load(uow.session, FAMILY, family_id, lock=True)
    records.require(uow.caller, access, "edit")
    member = load_or_fail(_member_schema, payload)
    require_visible_person(uow.session, uow.caller, str(member["profile_id"]), "profile_id")
    family = uow.session.get(Family, row.id)
    existing = uow.session.get(FamilyMember, (family.id, str(member["profile_id"])))
    if existing is not None:
        if existing.role == member["role"]:
            return family_view(uow.session, uow.caller, family)
        before = existing.role
        existing.role = member["role"]
    else:
        before = None
        uow.session.add(FamilyMember(family_id=family.id, profile_id=str(member["profile_id"]), role=member["role"],
                                     added_by=uow.caller.id))
    family.version += 1
    family.updated_at = clock.now()
    uow.session.flush()
    uow.add_event("family.member_added", {"record": {"type": "family", "id": family.id},
                                          "owner": records.owner_of(access),
                                          "member": {"profile_id": str(member["profile_id"]), "role": member["role"]},
                                          "fields": {"members": {"before": before, "after": member["role"]}}})
    return family_view(uow.session, uow.caller, family)


def remove_family_member(uow, family_id, profile_id) -> None:
    row, access, _ = records.load(uow.session, FAMILY, family_id, lock=True)
    records.require(uow.caller, access, "edit")
    member = uow.session.get(FamilyMember, (row.id, records.record_uuid(profile_id)))
    if member is None:
        raise NotFound()
    uow.session.delete(member)
    family = uow.session.get(Family, row.id)
    family.version += 1
    family.updated_at = clock.now()
    uow.session.flush()
    uow.add_event("family.member_removed", {"record": {"type": "family", "id": family.id},
                                            "owner": records.owner_of(access),
                                            "member": {"profile_id": member.profile_id, "role": member.role}})


def profile_families(uow, profile_id) -> dict:
    """The families a profile the caller may see is in, those the caller may see, with its role in each;
    the read is recorded."""
    session, caller = uow.session, uow.caller
    row, access, _ = records.load(session, PROFILE, profile_id)
    records.require(caller, access, "view")
    records.record_read(uow, access, "families")
    visible = visible_clause(caller, clock.now(), Family.__table__, grants, "family")
    rows = session.execute(select(Family, FamilyMember.role).join(FamilyMember, FamilyMember.family_id == Family.id)
                           .where(FamilyMember.profile_id == row.id, visible)
                           .order_by(Family.name, Family.id)).all()
    return {"items": [{**family_view(session, caller, family), "role": role} for family, role in rows],
            "next_cursor": None}
