"""Families: units of profiles with roles, a record with its own access list; the family-flag query."""
import uuid

from tests.e2e.directory import Directory, sign_in

LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"


def make(api, given, dob, **extra):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": given,
                                                "family_name": extra.pop("family_name", "Family"),
                                                "date_of_birth": dob, **extra}), 201)


def stranger(practitioner, system):
    other = Directory(system, practitioner.admin)
    return other, sign_in(system, other.user("fam", [(other.hub, "practitioner")])["username"])


def test_create_read_members_and_profile_families(practitioner):
    surname = f"Okafor{uuid.uuid4().hex[:6]}"
    mum = make(practitioner, "Grace", "1985-02-03", family_name=surname)
    kid = make(practitioner, "Tobi", "2014-06-07", family_name=surname)
    gran = make(practitioner, "Ada", "1950-01-01", family_name=surname)
    family = practitioner.ok(practitioner.post("/api/v1/families", {
        "name": f"{surname} household", "members": [{"profile_id": mum["id"], "role": "parent"},
                                                    {"profile_id": kid["id"], "role": "child"}]}), 201)
    assert family["owner"]["team_id"] == practitioner.directory.hub["id"]
    assert {(m["profile_id"], m["role"]) for m in family["members"]} == {(mum["id"], "parent"), (kid["id"], "child")}
    path = f"/api/v1/families/{family['id']}"
    assert practitioner.ok(practitioner.get(path))["name"] == f"{surname} household"
    added = practitioner.ok(practitioner.post(path + "/members", {"profile_id": gran["id"], "role": "grandparent"}),
                            201)
    assert len(added["members"]) == 3
    second = practitioner.ok(practitioner.post("/api/v1/families", {
        "name": "Gran's house", "members": [{"profile_id": kid["id"], "role": "child"}]}), 201)
    families = practitioner.ok(practitioner.get(f"/api/v1/profiles/{kid['id']}/families"))["items"]
    assert {f["id"] for f in families} == {family["id"], second["id"]}
    assert practitioner.delete(path + f"/members/{gran['id']}").status_code == 204
    assert len(practitioner.ok(practitioner.get(path))["members"]) == 2
    assert practitioner.delete(path + f"/members/{gran['id']}").status_code == 404


def test_bad_members_are_422_and_nothing_is_half_written(practitioner, system):
    _, other = stranger(practitioner, system)
    theirs = make(other, "Hidden", "2000-01-01")
    mine = make(practitioner, "Mine", "2000-01-01")
    name = f"Half {uuid.uuid4().hex[:6]}"
    response = practitioner.post("/api/v1/families", {"name": name, "members": [
        {"profile_id": mine["id"], "role": "parent"}, {"profile_id": theirs["id"], "role": "child"},
        {"profile_id": str(uuid.uuid4()), "role": "child"}, {"profile_id": mine["id"], "role": "uncle"}]})
    assert response.status_code == 422
    assert "members.3.role" in response.json()["errors"]
    response = practitioner.post("/api/v1/families", {"name": name, "members": [
        {"profile_id": mine["id"], "role": "parent"}, {"profile_id": theirs["id"], "role": "child"},
        {"profile_id": str(uuid.uuid4()), "role": "child"}]})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"members.1.profile_id", "members.2.profile_id"}
    assert practitioner.ok(practitioner.get(f"/api/v1/profiles/{mine['id']}/families"))["items"] == []


def test_a_family_you_cannot_see_is_404_until_shared(practitioner, system):
    other_dir, other = stranger(practitioner, system)
    kid = make(practitioner, "Sam", "2015-01-01")
    family = practitioner.ok(practitioner.post("/api/v1/families", {
        "name": "Private", "members": [{"profile_id": kid["id"], "role": "child"}]}), 201)
    path = f"/api/v1/families/{family['id']}"
    missing = other.get(f"/api/v1/families/{uuid.uuid4()}")
    hidden = other.get(path)
    assert hidden.status_code == 404 and hidden.content == missing.content
    assert other.post(path + "/members", {"profile_id": kid["id"], "role": "child"}).status_code == 404
    assert other.get(path + "/access").status_code == 404
    assert other.get(path + "/why").json()["can_view"] is False
    granted = practitioner.post(path + "/grants", {
        "grantee_type": "team", "grantee_id": other_dir.hub["id"], "level": "view", "lawful_basis": LAWFUL,
        "justification": "Joint safeguarding work agreed at the MASH strategy meeting."})
    assert granted.status_code == 201, granted.text
    seen = other.ok(other.get(path))
    assert seen["members"] == [{"profile_id": kid["id"], "role": "child", "display_name": "Sam Family",
                                "access": "signpost"}]
    assert other.post(path + "/members", {"profile_id": kid["id"], "role": "child"}).status_code == 403
    assert practitioner.ok(practitioner.get(path + "/access"))["grants"][0]["grantee_id"] == other_dir.hub["id"]


def test_young_people_in_a_family_where_a_parent_is_in_prison(practitioner, system):
    surname = f"Prison{uuid.uuid4().hex[:6]}"
    dad = make(practitioner, "Dan", "1980-01-01", family_name=surname, flags=["parent_in_prison"])
    kid = make(practitioner, "Kez", "2012-01-01", family_name=surname)
    adult_child = make(practitioner, "Lou", "1999-01-01", family_name=surname)
    unrelated_kid = make(practitioner, "Una", "2013-01-01", family_name=surname)
    practitioner.ok(practitioner.post("/api/v1/families", {"name": surname, "members": [
        {"profile_id": dad["id"], "role": "parent"}, {"profile_id": kid["id"], "role": "child"},
        {"profile_id": adult_child["id"], "role": "child"}]}), 201)
    query = {"young_person": "true", "family_flag": "parent_in_prison", "q": surname}
    found = practitioner.ok(practitioner.get("/api/v1/profiles", params=query))["items"]
    assert [item["id"] for item in found] == [kid["id"]]
    assert unrelated_kid["id"] not in {item["id"] for item in found}
    _, other = stranger(practitioner, system)
    assert other.ok(other.get("/api/v1/profiles", params=query))["items"] == []
    bad = practitioner.get("/api/v1/profiles", params={"family_flag": "in_prison"})
    assert bad.status_code == 422 and "family_flag" in bad.json()["errors"]
