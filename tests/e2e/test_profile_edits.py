"""Editing a profile needs the version you read; ownership on create follows the creator's teams."""
from tests.e2e.directory import sign_in


def test_patch_needs_if_match_and_refuses_a_stale_version(practitioner):
    created = practitioner.ok(practitioner.post("/api/v1/profiles", {"kind": "person", "given_name": "Eddie",
                                                                     "family_name": "Ward"}), 201)
    path = f"/api/v1/profiles/{created['id']}"
    assert practitioner.patch(path, {"given_name": "Edward"}).status_code == 428
    updated = practitioner.patch(path, {"given_name": "Edward"}, {"If-Match": '"1"'})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert updated.headers["ETag"] == '"2"'
    stale = practitioner.patch(path, {"family_name": "Warde"}, {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert practitioner.ok(practitioner.get(path))["family_name"] == "Ward"
    bad = practitioner.patch(path, {"date_of_birth": "3000-01-01"}, {"If-Match": '"2"'})
    assert bad.status_code == 422 and "date_of_birth" in bad.json()["errors"]
    assert practitioner.patch(path, {}, {"If-Match": '"2"'}).status_code == 422


def test_the_creators_team_leads_unless_they_name_another_of_their_teams(practitioner, system):
    directory = practitioner.directory
    both = sign_in(system, directory.user("two", [(directory.hub, "practitioner"),
                                                  (directory.npt, "supervisor")])["username"])
    unsaid = both.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B"})
    assert unsaid.status_code == 422 and "owner_team_id" in unsaid.json()["errors"]
    chosen = both.ok(both.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B",
                                                    "owner_team_id": directory.npt["id"]}), 201)
    assert chosen["owner"] == {"organisation_id": directory.org["id"], "team_id": directory.npt["id"]}
    other = practitioner.admin.ok(practitioner.admin.post(
        f"/api/v1/organisations/{directory.org['id']}/teams", {"name": "Elsewhere"}), 201)
    foreign = both.post("/api/v1/profiles", {"kind": "person", "given_name": "A", "family_name": "B",
                                             "owner_team_id": other["id"]})
    assert foreign.status_code == 422 and "owner_team_id" in foreign.json()["errors"]


def test_search_needs_a_criterion(practitioner):
    response = practitioner.get("/api/v1/profiles")
    assert response.status_code == 422 and "q" in response.json()["errors"]
    assert practitioner.get("/api/v1/profiles", params={"q": "x", "limit": 501}).status_code == 422
