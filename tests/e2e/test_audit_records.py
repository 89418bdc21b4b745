"""A record's audit trail on the whole real system: the profiles service decides who may read it.

This leans on `profiles.check_access(record_type, record_id, "audit")` (record-level access, built
alongside); test_audit_reading.py covers the audit side against stand-ins keeping the same contract.
"""
import pytest

from tests import support
from tests.e2e.directory import Directory, sign_in

NOWHERE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def people(practitioner):
    d = practitioner.directory
    other = Directory(practitioner.url, practitioner.admin)
    return {
        "pat": practitioner,
        "sue": sign_in(practitioner.url, d.user("sue", [(d.hub, "supervisor")])["username"]),
        "sam": sign_in(practitioner.url, d.user("sam", [(d.npt, "supervisor")])["username"]),
        "ola": sign_in(practitioner.url,
                       other.user("ola", [(other.hub, "supervisor")], roles=["org_admin"])["username"]),
        "root": practitioner.admin,
    }


def test_the_owning_team_reads_a_profiles_trail_and_nobody_else_learns_it_exists(people):
    pat = people["pat"]
    profile = pat.ok(pat.post("/api/v1/profiles", {"kind": "person", "given_name": "Ann", "family_name": "Lee",
                                                   "date_of_birth": "2012-03-04",
                                                   "owner_team_id": pat.directory.hub["id"]}), 201)
    pat.ok(pat.get(f"/api/v1/profiles/{profile['id']}"))
    path = f"/api/v1/audit/records/profiles/{profile['id']}"

    def trail():
        page = pat.ok(pat.get(path))
        actions = [item["action"] for item in page["items"]]
        return page if {"created", "viewed"} <= set(actions) else None
    page = support.wait_for(trail, message="the profile's audit trail")
    created = next(item for item in page["items"] if item["action"] == "created")
    assert created["actor"]["id"] == pat.user["id"]
    assert created["record_owner_organisation_id"] == pat.directory.org["id"]

    assert people["sue"].get(path).status_code == 200                     # the owning team's supervisor
    hidden = people["ola"].get(path)
    missing = people["ola"].get(f"/api/v1/audit/records/profiles/{NOWHERE}")
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    assert people["sam"].get(path).status_code in (403, 404)               # same organisation, another team
    assert people["root"].get(path).status_code == 404                     # administrators do not read case files

    verified = people["root"].ok(people["root"].get("/api/v1/audit/verify"))
    assert verified["ok"] is True, verified
