"""Person and premises profiles with aliases, identifiers, addresses, flags; history; partner upsert."""
import uuid

import requests

from tests.e2e.directory import Directory, sign_in

NHS_OK, NHS_BAD = "943 476 5919", "943 476 5918"


def put(api, path, body):
    return requests.put(api.url + path, json=body, headers=api.headers(), timeout=15)


def person(**extra):
    return {"kind": "person", "given_name": "Ann", "family_name": f"Lee{uuid.uuid4().hex[:6]}", **extra}


def test_a_full_person_profile_round_trips_normalised(practitioner):
    body = person(date_of_birth="2012-03-04", gender="female",
                  aliases=[{"given_name": "Annie", "family_name": "Leigh"}],
                  identifiers=[{"scheme": "nhs_number", "value": NHS_OK}, {"scheme": "ni_number", "value": "ab 12 34 56 c"},
                               {"scheme": "pnc_id", "value": "2019/0123456A"}, {"scheme": "upn", "value": "H801200001001"}],
                  addresses=[{"line1": "1 Park Row", "town": "Leeds", "postcode": "ls1 4ap", "from": "2020-01-01"}],
                  contact={"phone": "0113 496 0000", "email": "ann@example.org"},
                  roles=["victim", "witness"],
                  flags=["vulnerable_adult", {"flag": "dementia", "detail": {
                      "description": "Tall, grey hair", "life_history": "Worked at the mill",
                      "places_they_may_go": ["Roundhay Park"], "medication_and_needs": "Donepezil"}}])
    created = practitioner.ok(practitioner.post("/api/v1/profiles", body), 201)
    assert created["is_young_person"] is True
    assert created["identifiers"] == [{"scheme": "nhs_number", "value": "9434765919"},
                                      {"scheme": "ni_number", "value": "AB123456C"},
                                      {"scheme": "pnc_id", "value": "2019/0123456A"},
                                      {"scheme": "upn", "value": "H801200001001"}]
    assert created["addresses"][0]["postcode"] == "LS1 4AP" and created["addresses"][0]["from"] == "2020-01-01"
    assert created["aliases"] == [{"given_name": "Annie", "family_name": "Leigh"}]
    assert created["roles"] == ["victim", "witness"]
    flags = {flag["flag"]: flag for flag in created["flags"]}
    assert set(flags) == {"vulnerable_adult", "dementia"}
    assert flags["dementia"]["detail"]["places_they_may_go"] == ["Roundhay Park"]
    assert flags["vulnerable_adult"]["set_by"] == practitioner.user["id"] and flags["vulnerable_adult"]["set_at"]
    read = practitioner.ok(practitioner.get(f"/api/v1/profiles/{created['id']}"))
    assert isinstance(created.pop("possible_duplicates"), list)      # only on create: duplicates to check
    assert read == created


def test_bad_details_are_422_naming_each_field_and_nothing_is_written(practitioner):
    surname = f"Nobody{uuid.uuid4().hex[:6]}"
    response = practitioner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "Bad", "family_name": surname, "date_of_birth": "2999-01-01",
        "identifiers": [{"scheme": "nhs_number", "value": NHS_BAD}, {"scheme": "ni_number", "value": "QQ123456C"},
                        {"scheme": "pnc_id", "value": "19-123"}, {"scheme": "upn", "value": "A801200001001"},
                        {"scheme": "passport", "value": "123"}],
        "addresses": [{"line1": "x", "postcode": "LS1 4A"}], "flags": ["nonsense"], "roles": ["bystander"]})
    assert response.status_code == 422, response.text
    assert set(response.json()["errors"]) == {
        "date_of_birth", "identifiers.0.value", "identifiers.1.value", "identifiers.2.value", "identifiers.3.value",
        "identifiers.4.scheme", "addresses.0.postcode", "flags.0.flag", "roles.0"}
    found = practitioner.ok(practitioner.get("/api/v1/profiles", params={"q": surname}))
    assert [item for item in found["items"] if item.get("family_name") == surname] == []


def test_premises_with_uprn_type_and_linked_people(practitioner):
    resident = practitioner.ok(practitioner.post("/api/v1/profiles", person()), 201)
    premises = practitioner.ok(practitioner.post("/api/v1/profiles", {
        "kind": "premises", "name": "The Fleece", "premises_type": "licensed_premises",
        "address": {"line1": "1 Market St", "town": "Leeds", "postcode": "ls2 7ab", "uprn": "72012345"},
        "linked_people": [resident["id"]]}), 201)
    assert premises["address"]["postcode"] == "LS2 7AB" and premises["address"]["uprn"] == "72012345"
    assert premises["linked_people"] == [resident["id"]] and premises["premises_type"] == "licensed_premises"
    bad = practitioner.post("/api/v1/profiles", {"kind": "premises", "name": "X", "premises_type": "castle"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"premises_type"}
    unknown = practitioner.post("/api/v1/profiles", {"kind": "premises", "name": "X",
                                                     "linked_people": [resident["id"], str(uuid.uuid4())]})
    assert unknown.status_code == 422 and set(unknown.json()["errors"]) == {"linked_people.1"}


def test_patch_extends_to_details_and_history_records_who_when_before_after(practitioner):
    created = practitioner.ok(practitioner.post("/api/v1/profiles", person(flags=["mental_health"])), 201)
    path = f"/api/v1/profiles/{created['id']}"
    updated = practitioner.ok(practitioner.patch(path, {
        "given_name": "Anne", "flags": ["mental_health", {"flag": "risk_to_staff", "detail": "Has a dog"}],
        "addresses": [{"line1": "2 Park Row", "postcode": "LS1 5AB", "from": "2021-02-01"}]},
        {"If-Match": '"1"'}))
    assert updated["version"] == 2 and updated["given_name"] == "Anne"
    kept = {flag["flag"]: flag for flag in updated["flags"]}
    assert kept["mental_health"]["set_at"] == created["flags"][0]["set_at"]   # untouched flags keep who/when
    bad = practitioner.patch(path, {"identifiers": [{"scheme": "nhs_number", "value": NHS_BAD}]}, {"If-Match": '"2"'})
    assert bad.status_code == 422 and "identifiers.0.value" in bad.json()["errors"]
    history = practitioner.ok(practitioner.get(path + "/history"))["items"]
    fields = [entry["field"] for entry in history]
    assert fields[0] == "created" and {"given_name", "flags", "addresses"} <= set(fields)
    [name] = [entry for entry in history if entry["field"] == "given_name" and entry["before"] == "Ann"]
    assert name["after"] == "Anne" and name["by"] == practitioner.user["id"] and name["at"]


def test_history_is_for_those_who_may_view(practitioner, system):
    created = practitioner.ok(practitioner.post("/api/v1/profiles", person()), 201)
    stranger_dir = Directory(system, practitioner.admin)
    stranger = sign_in(system, stranger_dir.user("str", [(stranger_dir.hub, "practitioner")])["username"])
    missing = stranger.get(f"/api/v1/profiles/{uuid.uuid4()}/history")
    hidden = stranger.get(f"/api/v1/profiles/{created['id']}/history")
    assert hidden.status_code == 404 and hidden.content == missing.content


def test_partner_upsert_by_external_ref(practitioner, system):
    ref = f"/api/v1/profiles/by-external-ref/niche-rms/{uuid.uuid4().hex}"
    first = put(practitioner, ref, person(date_of_birth="1990-01-01"))
    assert first.status_code == 201, first.text
    again = put(practitioner, ref, {"kind": "person", "given_name": "Annabel", "family_name": first.json()["family_name"]})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["given_name"] == "Annabel"
    assert again.json()["version"] == 2 and again.json()["external_ref"]["system"] == "niche-rms"
    duplicate = practitioner.post("/api/v1/profiles", person(external_ref=again.json()["external_ref"]))
    assert duplicate.status_code == 409
    other_dir = Directory(system, practitioner.admin)
    other = sign_in(system, other_dir.user("oth", [(other_dir.hub, "practitioner")])["username"])
    assert put(other, ref, person()).status_code == 409
