"""The people, teams and organisations of the logic tests, the directory's answers about them, and
records put straight into the profiles database.

Organisation A leads the records (its team A1 is the lead team, A2 another team of A); B has a sharing
agreement with A; C has none; D is a stranger to every record.
"""
import uuid
from datetime import date

from concord_common import clock
from concord_common.access.store import grants
from concord_common.context import SYSTEM, Caller
from concord_common.errors import ConcordError, Forbidden, NotFound, ValidationFailed
from services.profiles.models import Address, Alias, Family, FamilyMember, Flag, Identifier, Profile
from services.profiles.service import ProfilesService

PROFILE_KIND = ProfilesService.record_kinds["profile"]
FAMILY_KIND = ProfilesService.record_kinds["family"]


def _id() -> str:
    return str(uuid.uuid4())


ORG_A, ORG_B, ORG_C, ORG_D = _id(), _id(), _id(), _id()
TEAM_A1, TEAM_A2, TEAM_B1, TEAM_C1, TEAM_D1 = _id(), _id(), _id(), _id(), _id()
TEAMS = {TEAM_A1: ORG_A, TEAM_A2: ORG_A, TEAM_B1: ORG_B, TEAM_C1: ORG_C, TEAM_D1: ORG_D}
AGREEMENTS = {frozenset((ORG_A, ORG_B)): {"id": _id()}}


def user(name: str, team: str, role: str = "practitioner", roles=()) -> Caller:
    return Caller(kind="user", id=f"u-{name}", organisation_id=TEAMS[team], teams=({"id": team, "role": role},),
                  roles=tuple(roles), display_name=name.title())


def client(organisation: str, *scopes: str) -> Caller:
    return Caller(kind="client", id=f"c-{uuid.uuid4().hex[:6]}", organisation_id=organisation, scopes=scopes)


LEAD = user("lead", TEAM_A1)                       # a member of the lead team
COLLEAGUE = user("colleague", TEAM_A2)             # same organisation, another team
PARTNER = user("partner", TEAM_B1)                 # a team the record is shared with (view)
PARTNER_ORG = user("partnerorg", TEAM_C1)          # an organisation the record is shared with (edit)
STRANGER = user("stranger", TEAM_D1)
CALLERS = {
    "lead team member": LEAD,
    "other team, same org": COLLEAGUE,
    "granted team": PARTNER,
    "granted organisation": PARTNER_ORG,
    "client, read+write": client(ORG_A, "profiles:read", "profiles:write"),
    "client, no scopes": client(ORG_A),
    "client of granted org": client(ORG_C, "profiles:read"),
    "stranger": STRANGER,
    "anonymous": Caller(),
    "system": SYSTEM,
}


class Directory:
    """What records.py and the profiles logic ask the permissions service, answered from the world above
    (with the same errors as concord_common.access.entrypoints.RpcDirectory); requests are kept."""

    def __init__(self):
        self.access_requests, self.transfers = [], []

    def team_organisation(self, team_id: str) -> str:
        if team_id not in TEAMS:
            raise ValidationFailed("One or more fields are invalid.", {"grantee_id": ["There is no such team."]})
        return TEAMS[team_id]

    def organisation_exists(self, organisation_id: str) -> bool:
        if organisation_id not in TEAMS.values():
            raise ValidationFailed("One or more fields are invalid.",
                                   {"grantee_id": ["There is no such organisation."]})
        return True

    def agreement_between(self, organisation_a: str, organisation_b: str) -> dict | None:
        return AGREEMENTS.get(frozenset((organisation_a, organisation_b)))

    def register_access_request(self, record: dict, reason: str) -> dict:
        self.access_requests.append((record, reason))
        return {"id": _id(), "status": "pending", "record": record}

    def register_transfer(self, record: dict, payload: dict) -> dict:
        self.transfers.append((record, payload))
        return {"id": _id(), "status": "pending", "record": record, **payload}


class _Undone(Exception):
    """Raised inside a unit of work to roll it back once the action has run."""


def outcome(uow, caller, action) -> str:
    """Run action(unit of work) as `caller`, then roll back: "ok", "403", "404", "422" or "409"."""
    try:
        with uow(caller) as work:
            action(work)
            raise _Undone()
    except _Undone:
        return "ok"
    except ConcordError as error:
        return {Forbidden: "403", NotFound: "404"}.get(type(error), str(error.status))


def person(session, given_name: str, family_name: str, *, date_of_birth: date | None = None, team: str = TEAM_A1,
           aliases=(), identifiers=(), addresses=(), flags=(), restricted=False, consent="not_sought",
           roles=(), kind="person", **columns) -> Profile:
    """A person profile led by `team`, written straight into the tables (flushed, not committed).

    aliases: (given, family); identifiers: (scheme, normalised value); addresses: (line1, postcode)."""
    profile = Profile(id=_id(), kind=kind, given_name=given_name, family_name=family_name,
                      date_of_birth=date_of_birth, created_by="u-seed", version=1, owner_team_id=team,
                      owner_organisation_id=TEAMS[team], restricted=restricted, consent_status=consent,
                      roles=sorted(roles), **columns)
    session.add(profile)
    session.flush()
    session.add_all(Alias(profile_id=profile.id, given_name=given, family_name=family) for given, family in aliases)
    session.add_all(Identifier(profile_id=profile.id, scheme=scheme, value=value) for scheme, value in identifiers)
    session.add_all(Address(profile_id=profile.id, line1=line1, postcode=postcode) for line1, postcode in addresses)
    session.add_all(Flag(profile_id=profile.id, flag=flag, set_by="u-seed") for flag in flags)
    session.flush()
    return profile


def grant(session, record_id: str, grantee_type: str, grantee_id: str, level: str = "view", *, record_type="profile",
          expires_at=None, revoked_at=None, source="grant") -> str:
    """A grant row as records.py writes it (for expired and revoked ones, which no caller can make)."""
    grant_id = _id()
    organisation = {"team": TEAMS.get(grantee_id), "organisation": grantee_id}.get(grantee_type)
    session.execute(grants.insert().values(
        id=grant_id, record_type=record_type, record_id=record_id, grantee_type=grantee_type, grantee_id=grantee_id,
        grantee_organisation_id=organisation, level=level, lawful_basis="Children Act 1989 s.47", source=source,
        expires_at=expires_at, revoked_at=revoked_at, granted_by=LEAD.id, granted_at=clock.now()))
    return grant_id


def family(session, name: str, members=(), team: str = TEAM_A1) -> Family:
    """A family led by `team` with members [(profile id, role)], written straight into the tables."""
    made = Family(id=_id(), name=name, created_by="u-seed", version=1, owner_team_id=team,
                  owner_organisation_id=TEAMS[team], restricted=False)
    session.add(made)
    session.flush()
    session.add_all(FamilyMember(family_id=made.id, profile_id=profile_id, role=role, added_by="u-seed")
                    for profile_id, role in members)
    session.flush()
    return made
