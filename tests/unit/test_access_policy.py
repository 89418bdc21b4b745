"""The record access policy as a table: who x relationship x action -> outcome."""
from datetime import datetime, timedelta, timezone

import pytest

from concord_common.access.policy import Grant, RecordAccess, decide
from concord_common.context import SYSTEM, Caller

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
LATER, EARLIER = NOW + timedelta(days=1), NOW - timedelta(minutes=1)

OWNER_ORG, OWNER_TEAM, OTHER_TEAM = "org-owner", "team-owner", "team-owner-other"
GRANTED_TEAM, GRANTED_TEAM_ORG, GRANTED_ORG = "team-granted", "org-granted-team", "org-granted"
EXPIRED_TEAM, REVOKED_TEAM, FOREIGN_ORG = "team-expired", "team-revoked", "org-foreign"

GRANTS = (
    Grant("g1", "team", GRANTED_TEAM, "view", grantee_organisation_id=GRANTED_TEAM_ORG),
    Grant("g2", "organisation", GRANTED_ORG, "edit", expires_at=LATER, grantee_organisation_id=GRANTED_ORG),
    Grant("g3", "team", EXPIRED_TEAM, "edit", expires_at=EARLIER),
    Grant("g4", "team", REVOKED_TEAM, "edit", revoked_at=EARLIER),
    Grant("g5", "user", "u-glass", "view", expires_at=LATER, source="break_glass"),
)
RECORD = RecordAccess("profile", "p1", OWNER_TEAM, OWNER_ORG, restricted=True, grants=GRANTS)


def user(uid, org, team=None, role="practitioner", roles=()):
    return Caller(kind="user", id=uid, organisation_id=org,
                  teams=({"id": team, "role": role},) if team else (), roles=roles)


def client(org, *scopes):
    return Caller(kind="client", id="c1", organisation_id=org, scopes=scopes)


CALLERS = {
    "owner practitioner": user("u1", OWNER_ORG, OWNER_TEAM),
    "owner spoc": user("u2", OWNER_ORG, OWNER_TEAM, "spoc"),
    "owner supervisor": user("u3", OWNER_ORG, OWNER_TEAM, "supervisor"),
    "same org other team": user("u4", OWNER_ORG, OTHER_TEAM),
    "org admin of owner": user("u5", OWNER_ORG, OTHER_TEAM, roles=("org_admin",)),
    "system admin": user("u6", "org-ops", "team-ops", roles=("system_admin",)),
    "granted team": user("u7", GRANTED_TEAM_ORG, GRANTED_TEAM),
    "granted organisation": user("u8", GRANTED_ORG, "team-x"),
    "expired grant": user("u9", "org-e", EXPIRED_TEAM),
    "revoked grant": user("u10", "org-r", REVOKED_TEAM),
    "other organisation": user("u11", FOREIGN_ORG, "team-f"),
    "break-glass": user("u-glass", FOREIGN_ORG, "team-f"),
    "client of owner, read": client(OWNER_ORG, "profiles:read"),
    "client of owner, read+write+audit": client(OWNER_ORG, "profiles:read", "profiles:write", "audit:read"),
    "client without scope": client(OWNER_ORG, "cases:read"),
    "client of granted org": client(GRANTED_ORG, "profiles:read"),
    "client of other org": client(FOREIGN_ORG, "profiles:read"),
    "anonymous": Caller(),
}

# action: view, edit, share, audit. "ok" allowed; "403" may know it exists; "404" may not.
EXPECTED = {
    "owner practitioner":                 ("ok", "ok", "ok", "ok"),
    "owner spoc":                         ("ok", "ok", "ok", "ok"),
    "owner supervisor":                   ("ok", "ok", "ok", "ok"),
    "same org other team":                ("404", "404", "404", "404"),
    "org admin of owner":                 ("404", "404", "404", "404"),
    "system admin":                       ("404", "404", "404", "404"),
    "granted team":                       ("ok", "403", "403", "403"),
    "granted organisation":               ("ok", "ok", "403", "403"),
    "expired grant":                      ("404", "404", "404", "404"),
    "revoked grant":                      ("404", "404", "404", "404"),
    "other organisation":                 ("404", "404", "404", "404"),
    "break-glass":                        ("ok", "403", "403", "403"),
    "client of owner, read":              ("ok", "403", "403", "403"),
    "client of owner, read+write+audit":  ("ok", "ok", "403", "ok"),
    "client without scope":               ("403", "403", "403", "403"),
    "client of granted org":              ("ok", "403", "403", "403"),
    "client of other org":                ("404", "404", "404", "404"),
    "anonymous":                          ("404", "404", "404", "404"),
}


def outcome(decision):
    return "ok" if decision.allowed else ("403" if decision.visible else "404")


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("action", ["view", "edit", "share", "audit"])
def test_matrix(who, action):
    expected = EXPECTED[who][["view", "edit", "share", "audit"].index(action)]
    assert outcome(decide(CALLERS[who], RECORD, action, NOW)) == expected


def test_the_system_may_do_everything():
    assert all(decide(SYSTEM, RECORD, action, NOW).allowed for action in ("view", "edit", "share", "audit"))


def test_a_grant_stops_at_its_expiry_without_any_job():
    granted = CALLERS["granted organisation"]
    assert decide(granted, RECORD, "view", LATER - timedelta(seconds=1)).allowed
    assert not decide(granted, RECORD, "view", LATER).visible


def test_reasons_are_plain_words():
    decision = decide(CALLERS["granted team"], RECORD, "view", NOW)
    assert "Your team was given view access by the owning team." in decision.explain()
    glass = decide(CALLERS["break-glass"], RECORD, "view", NOW).explain()
    assert "break-glass" in glass


def test_the_decision_says_when_a_break_glass_grant_is_in_force():
    glass = CALLERS["break-glass"]
    assert decide(glass, RECORD, "view", NOW).break_glass
    assert decide(glass, RECORD, "edit", NOW).break_glass                  # refused, still in force
    assert not decide(glass, RECORD, "view", LATER).visible                # expired: gone with the access
    assert not decide(CALLERS["granted team"], RECORD, "view", NOW).break_glass
    assert not decide(SYSTEM, RECORD, "view", NOW).break_glass
    # Also, not only: a lead-team member who broke glass too is still marked.
    member = user("u-glass", OWNER_ORG, OWNER_TEAM)
    decision = decide(member, RECORD, "view", NOW)
    assert decision.level == "edit" and decision.break_glass
    assert not decide(CALLERS["owner practitioner"], RECORD, "view", NOW).break_glass
