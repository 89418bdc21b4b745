"""A partner system (an API client) writes records for its own organisation: it names one of its
organisation's teams to lead each profile or case it creates, though it may not browse the directory.
The owning service asks the directory as itself (signed with its own key) which organisation the team is in."""
from tests.e2e.directory import Directory, bootstrap_admin
from tests.e2e.test_record_access import client_api


def test_a_partner_system_creates_profiles_and_cases_led_by_a_team_of_its_organisation(system, service_config):
    admin = bootstrap_admin(system, service_config("permissions"))
    force, council = Directory(system, admin), Directory(system, admin)
    partner = client_api(system, admin, force.org["id"], ["profiles:read", "profiles:write", "cases:read",
                                                          "cases:write"])
    person = partner.ok(partner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "Rhian", "family_name": "Partnerwrite", "owner_team_id": force.hub["id"]}),
        201)
    assert person["owner"] == {"organisation_id": force.org["id"], "team_id": force.hub["id"]}
    case = partner.ok(partner.post("/api/v1/cases", {
        "case_type": "asb", "title": "From the force's records system", "owner_team_id": force.npt["id"],
        "participants": [{"profile_id": person["id"], "role": "victim"}]}), 201)
    assert case["owner"]["team_id"] == force.npt["id"] and case["reference"].startswith("ASB-")

    # Another organisation's team, or none, is refused naming owner_team_id; nothing is created.
    for body in ({"owner_team_id": council.hub["id"]}, {}):
        refused = partner.post("/api/v1/profiles", {"kind": "person", "given_name": "Nia",
                                                    "family_name": "Partnerwrite", **body})
        assert refused.status_code == 422 and "owner_team_id" in refused.json()["errors"], refused.text
        refused = partner.post("/api/v1/cases", {"case_type": "asb", "title": "Not ours", **body})
        assert refused.status_code == 422 and "owner_team_id" in refused.json()["errors"], refused.text
    found = partner.ok(partner.get("/api/v1/profiles", params={"q": "Nia Partnerwrite"}))["items"]
    assert found == []

    # The directory itself stays closed to partner systems.
    assert partner.get(f"/api/v1/teams/{force.hub['id']}").status_code == 403
