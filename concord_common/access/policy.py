"""Who may do what to one record. Deny by default.

Rules (a record has a lead owner: a team, and so an organisation):
* members of the owning team (any team role) may view, edit and share it,
  transfer it and read its audit trail;
* an active grant (not revoked, not expired — checked against the clock, so an
  expired grant stops without any job running) gives its grantee `view` or
  `edit`: a team's members, every member of an organisation, or one user
  (approved access request, break-glass);
* an API client acts for its organisation: it sees what its organisation owns
  and what is granted to its organisation, within its token's scopes;
* administrator roles (org admin, system admin) give no access to records:
  they run the directory, they do not read case files.
Whoever may not view a record may not learn that it exists (the same 404),
except through a search signpost, which names it and who is involved.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, false, or_, select, true

from concord_common import record_types
from concord_common.context import Caller

ACTIONS = ("view", "edit", "share", "audit")
LEVEL_RANK = {"view": 1, "edit": 2}


@dataclass(frozen=True)
class Grant:
    id: str
    grantee_type: str            # team | organisation | user
    grantee_id: str
    level: str                   # view | edit
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    source: str = "grant"        # grant | access_request | break_glass | meeting
    grantee_organisation_id: str | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def covers(self, caller: Caller) -> bool:
        if self.grantee_type == "team":
            return caller.kind == "user" and self.grantee_id in caller.team_ids()
        if self.grantee_type == "organisation":
            return caller.organisation_id is not None and self.grantee_id == caller.organisation_id
        if self.grantee_type == "user":
            return caller.kind == "user" and self.grantee_id == caller.id
        return False


@dataclass(frozen=True)
class RecordAccess:
    record_type: str
    record_id: str
    owner_team_id: str
    owner_organisation_id: str
    restricted: bool = False
    grants: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    visible: bool                # may the caller know the record exists (else: 404)
    level: str | None            # view | edit | None
    reasons: tuple               # plain words, for GET …/why
    # An active break-glass grant covers the caller: true even when their team or another grant also gives
    # them access (it says the grant was in force, not that it was needed), so the audit marks every such use.
    break_glass: bool = False

    def explain(self) -> str:
        return " ".join(self.reasons)


def _scopes_allow(caller: Caller, record_type: str, action: str) -> bool:
    registered = record_types.by_name(record_type)
    family = registered.scope if registered else record_type
    wanted = {"view": "read", "edit": "write", "share": None, "audit": None}[action]
    if action == "audit":
        return "audit:read" in (caller.scopes or ())
    return wanted is not None and f"{family}:{wanted}" in (caller.scopes or ())


def access_level(caller: Caller, access: RecordAccess, now: datetime) -> tuple[str | None, list[str], bool]:
    """The best level the caller holds on the record, why, and whether an active break-glass grant covers them."""
    if caller.kind == "system":
        return "edit", ["Concord itself acts on every record."], False
    level, reasons, break_glass = None, [], False

    def better(candidate, reason):
        nonlocal level
        if level is None or LEVEL_RANK[candidate] > LEVEL_RANK[level]:
            level = candidate
        reasons.append(reason)

    if caller.kind == "user" and access.owner_team_id in caller.team_ids():
        better("edit", "You are a member of the team that leads this record.")
    if caller.kind == "client" and caller.organisation_id == access.owner_organisation_id:
        better("edit", "This API client acts for the organisation that leads this record.")
    for grant in access.grants:
        if not grant.covers(caller):
            continue
        if not grant.active(now):
            reasons.append("A grant that covered you has " +
                           ("been revoked." if grant.revoked_at else "expired."))
            continue
        what = {"team": "your team", "organisation": "your organisation", "user": "you"}[grant.grantee_type]
        how = {"break_glass": "by emergency (break-glass) access", "access_request":
               "after your access request was approved",
               "meeting": "as an attendee of a meeting with it on the agenda"}.get(grant.source, "by the owning team")
        until = f" until {grant.expires_at.isoformat()}" if grant.expires_at else ""
        better(grant.level, f"{what[0].upper() + what[1:]} was given {grant.level} access {how}{until}.")
        break_glass = break_glass or grant.source == "break_glass"
    return level, reasons, break_glass


def decide(caller: Caller, access: RecordAccess, action: str, now: datetime) -> Decision:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if caller.kind not in ("user", "client", "system"):
        return Decision(False, False, None, ("You are not signed in.",))
    level, reasons, break_glass = access_level(caller, access, now)
    if level is None:
        base = ["You are not in the team that leads this record, and nothing has been shared with you."]
        if access.restricted:
            base.append("The record is restricted.")
        return Decision(False, False, None, tuple(reasons + base))
    if caller.kind == "client" and not _scopes_allow(caller, access.record_type, action):
        return Decision(False, True, level, tuple(reasons + ["This API client's token does not allow that."]),
                        break_glass)
    if action == "view":
        return Decision(True, True, level, tuple(reasons), break_glass)
    if action == "edit":
        allowed = level == "edit"
        return Decision(allowed, True, level, tuple(reasons + ([] if allowed else ["You may only view it."])),
                        break_glass)
    # share (grants, restriction, transfer) and audit: the lead team's business only.
    owner = caller.kind == "system" or (caller.kind == "user" and access.owner_team_id in caller.team_ids()) \
        or (caller.kind == "client" and action == "audit" and caller.organisation_id == access.owner_organisation_id)
    note = [] if owner else ["Only the team that leads this record may do that."]
    return Decision(owner, True, level, tuple(reasons + note), break_glass)


def visible_clause(caller: Caller, now: datetime, record, grants, record_type: str):
    """SQL condition: `record` rows the caller may view (the same rules as `access_level`).

    `record` needs id, owner_team_id and owner_organisation_id columns; `grants`
    is the service's record_grants table.
    """
    if caller.kind == "system":
        return true()
    if caller.kind not in ("user", "client") or caller.organisation_id is None and caller.kind == "client":
        return false()
    covered = []
    if caller.kind == "user":
        teams = list(caller.team_ids())
        if teams:
            covered.append(and_(grants.c.grantee_type == "team", grants.c.grantee_id.in_(teams)))
        covered.append(and_(grants.c.grantee_type == "user", grants.c.grantee_id == caller.id))
    if caller.organisation_id:
        covered.append(and_(grants.c.grantee_type == "organisation",
                            grants.c.grantee_id == caller.organisation_id))
    granted = exists(select(grants.c.id).where(
        grants.c.record_type == record_type, grants.c.record_id == record.c.id,
        grants.c.revoked_at.is_(None), or_(grants.c.expires_at.is_(None), grants.c.expires_at > now),
        or_(*covered)))
    owned = []
    if caller.kind == "user" and caller.team_ids():
        owned.append(record.c.owner_team_id.in_(list(caller.team_ids())))
    if caller.kind == "client":
        owned.append(record.c.owner_organisation_id == caller.organisation_id)
    return or_(*owned, granted)
