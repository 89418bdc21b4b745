"""Lists and searches are filtered in SQL; one record is decided in Python. They must agree."""
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from concord_common import clock, migrate
from concord_common.access.policy import RecordAccess, decide, visible_clause
from concord_common.access.records import _grant_of
from concord_common.access.store import grants
from concord_common.db import make_engine
from services.profiles.models import Profile
from tests import support
from tests.unit.test_access_policy import CALLERS

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "profiles" / "migrations"
TEAMS = ["team-owner", "team-owner-other", "team-granted", "team-expired", "team-revoked", "team-f", "team-x"]
ORGS = ["org-owner", "org-granted-team", "org-granted", "org-e", "org-r", "org-foreign"]


def test_sql_filter_and_policy_agree_for_every_caller_and_record(service_config):
    config = service_config("profiles")
    config["DATABASE_NAME"] += "_sqlcheck"
    url = support.database_url_for(config)
    migrate.upgrade(url, MIGRATIONS)
    engine = make_engine(url)
    now = clock.now()
    table = Profile.__table__
    try:
        with engine.begin() as conn:
            conn.execute(grants.delete())
            conn.execute(table.delete())
            # every owner team x every kind of grant, so each rule meets each caller
            for owner_team, owner_org in [("team-owner", "org-owner"), ("team-f", "org-foreign"),
                                          ("team-granted", "org-granted-team"), (None, None)]:
                for grantee in [None, ("team", "team-granted"), ("organisation", "org-granted"),
                                ("user", "u-glass"), ("team", "team-owner-other"), ("organisation", "org-owner")]:
                    for state in ("active", "expired", "revoked"):
                        profile_id = str(uuid.uuid4())
                        conn.execute(table.insert().values(id=profile_id, kind="person", given_name="A",
                                                           family_name="B", owner_team_id=owner_team,
                                                           owner_organisation_id=owner_org, version=1))
                        if grantee:
                            conn.execute(grants.insert().values(
                                id=str(uuid.uuid4()), record_type="profile", record_id=profile_id,
                                grantee_type=grantee[0], grantee_id=grantee[1], level="view",
                                lawful_basis="test", granted_by="test",
                                expires_at=now - timedelta(minutes=1) if state == "expired" else None,
                                revoked_at=now - timedelta(minutes=1) if state == "revoked" else None))
        with engine.connect() as conn:
            rows = conn.execute(select(table)).all()
            all_grants = conn.execute(select(grants)).all()
            for name, caller in CALLERS.items():
                in_sql = set(conn.execute(select(table.c.id).where(
                    visible_clause(caller, now, table, grants, "profile"))).scalars())
                in_policy = {row.id for row in rows if decide(caller, RecordAccess(
                    "profile", row.id, row.owner_team_id, row.owner_organisation_id, False,
                    tuple(_grant_of(g) for g in all_grants if g.record_id == row.id)), "view", now).visible}
                assert in_sql == in_policy, name
    finally:
        engine.dispose()
