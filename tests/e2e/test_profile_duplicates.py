"""Duplicate matching (on create and on demand), merge and unmerge, through the gateway."""
import pytest

from tests import support
from tests.e2e.directory import Directory, sign_in
from tests.e2e.test_record_access import JUSTIFY, LAWFUL
from tests.support import new_nhs_number, unique_surname

NOWHERE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def nhs():
    return new_nhs_number(), new_nhs_number()


def person(api, given, family, status=201, **details):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": given, "family_name": family,
                                                 **details}), status)


def share(api, profile_id, grantee_type, grantee_id, level):
    api.ok(api.post(f"/api/v1/profiles/{profile_id}/grants", {
        "grantee_type": grantee_type, "grantee_id": grantee_id, "level": level, "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)


def matches(api, profile_id, **params):
    return api.ok(api.get(f"/api/v1/profiles/{profile_id}/matches", params=params))["items"]


def by_id(items):
    return {item["profile"]["id"]: item for item in items}


def test_matches_are_scored_with_reasons_best_first(practitioner, nhs):
    nhs_a, nhs_b = nhs
    pat, surname = practitioner, unique_surname()
    home = {"line1": "1 Park Row", "town": "Leeds", "postcode": "LS1 4AP"}
    ann = person(pat, "Ann", surname, date_of_birth="2012-03-04", identifiers=[{"scheme": "nhs_number",
                                                                                  "value": nhs_a}])
    assert ann["possible_duplicates"] == []
    same_nhs = person(pat, "Annabel", "Smith", identifiers=[{"scheme": "nhs_number", "value": nhs_a}])
    annie = person(pat, "Anne", surname, date_of_birth="2012-03-04")                 # typo, same birthday
    swapped = person(pat, surname, "Ann", date_of_birth="2012-03-04")                # names the other way round
    older = person(pat, "Ann", surname, date_of_birth="1970-01-01")                  # someone else
    other_nhs = person(pat, "Ann", surname, date_of_birth="2012-03-04",
                       identifiers=[{"scheme": "nhs_number", "value": nhs_b}])
    at_home = person(pat, "Ann", surname, addresses=[home])
    twin = person(pat, "Ann", surname, addresses=[home])

    # On create: the likely ones come back with the new profile.
    assert [(m["profile"]["id"], m["reasons"][0]["code"]) for m in same_nhs["possible_duplicates"]] == \
        [(ann["id"], "same_nhs_number")]
    assert twin["possible_duplicates"][0]["profile"]["id"] == at_home["id"]
    assert {r["code"] for r in twin["possible_duplicates"][0]["reasons"]} == {"name", "name_and_address"}

    found = by_id(matches(pat, ann["id"]))
    assert ann["id"] not in found and older["id"] not in found
    assert found[same_nhs["id"]]["score"] >= 0.95
    assert [r["code"] for r in found[annie["id"]]["reasons"]] == ["name_and_date_of_birth"]
    assert found[annie["id"]]["reasons"][0]["description"] == "A similar name and the same date of birth"
    assert found[swapped["id"]]["score"] >= 0.8
    # Same name and birthday but a different NHS number: counter-evidence keeps it low, and says so.
    assert other_nhs["id"] not in found or found[other_nhs["id"]]["score"] < found[annie["id"]]["score"]
    detail = by_id(matches(pat, ann["id"], min_score=0))[other_nhs["id"]]
    assert {"code": "different_nhs_number", "description": "Different NHS number"} in detail["against"]
    scores = [item["score"] for item in matches(pat, ann["id"])]
    assert scores == sorted(scores, reverse=True)
    assert len(matches(pat, ann["id"], limit=1)) == 1

    for bad in ({"limit": 0}, {"limit": 51}, {"min_score": 2}, {"colour": "blue"}):
        response = pat.get(f"/api/v1/profiles/{ann['id']}/matches", params=bad)
        assert response.status_code == 422, bad


def test_matches_the_caller_may_not_open_are_signposts_and_unseen_profiles_are_404(practitioner, system, nhs):
    nhs_b = nhs[1]
    pat, surname = practitioner, unique_surname()
    elsewhere = Directory(system, pat.admin)
    olu = sign_in(system, elsewhere.user("olu", [(elsewhere.hub, "practitioner")])["username"])
    theirs = person(olu, "Imran", surname, date_of_birth="2001-02-03",
                    identifiers=[{"scheme": "nhs_number", "value": nhs_b}], flags=["risk_to_staff"])
    mine = person(pat, "Imran", surname, date_of_birth="2001-02-03")
    signpost = mine["possible_duplicates"][0]
    assert signpost["profile"]["id"] == theirs["id"] and signpost["profile"]["access"] == "signpost"
    assert signpost["profile"]["involved_organisations"] == [{"organisation_id": elsewhere.org["id"]}]
    assert "flags" not in signpost["profile"] and "identifiers" not in signpost["profile"]
    assert "date_of_birth" not in signpost["profile"]
    assert signpost["reasons"][0]["code"] == "name_and_date_of_birth"

    hidden = pat.get(f"/api/v1/profiles/{theirs['id']}/matches")
    missing = pat.get(f"/api/v1/profiles/{NOWHERE}/matches")
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


def _rich_duplicate(pat, surname, nhs_a):
    """A survivor and a duplicate with something in every part, the duplicate in a family."""
    survivor = person(pat, "Jo", surname, date_of_birth="2010-06-07",
                      identifiers=[{"scheme": "nhs_number", "value": nhs_a}], roles=["victim"],
                      addresses=[{"line1": "2 Mill Lane", "town": "Leeds", "postcode": "LS2 7EW"}])
    duplicate = person(pat, "Joanne", surname, date_of_birth="2010-06-07", gender="female",
                       aliases=[{"given_name": "Jojo", "family_name": surname}],
                       identifiers=[{"scheme": "nhs_number", "value": nhs_a},
                                    {"scheme": "upn", "value": "H801200001001"}],
                       roles=["victim", "witness"], flags=["cse_risk"],
                       addresses=[{"line1": "9 Hill Top", "town": "Bradford", "postcode": "BD1 1AA"}])
    parent = person(pat, "Sam", surname)
    family = pat.ok(pat.post("/api/v1/families", {"name": f"{surname} family", "members": [
        {"profile_id": parent["id"], "role": "parent"}, {"profile_id": duplicate["id"], "role": "child"}]}), 201)
    return survivor, duplicate, family


def test_merge_keeps_both_histories_and_unmerge_puts_everything_back(practitioner, nhs):
    pat, surname, nhs_a = practitioner, unique_surname(), nhs[0]
    survivor, duplicate, family = _rich_duplicate(pat, surname, nhs_a)
    sid, did = survivor["id"], duplicate["id"]
    before = pat.ok(pat.get(f"/api/v1/profiles/{sid}"))
    duplicate_before = pat.ok(pat.get(f"/api/v1/profiles/{did}"))
    pat.ok(pat.patch(f"/api/v1/profiles/{did}", {"contact": {"phone": "0113 496 0000"}}, {"If-Match": '"1"'}))

    merged = pat.ok(pat.post(f"/api/v1/profiles/{sid}/merge", {"duplicate_id": did}))
    assert merged["merge"]["duplicate_id"] == did and merged["version"] == before["version"] + 1
    assert {(a["given_name"], a["family_name"]) for a in merged["aliases"]} == {("Joanne", surname), ("Jojo", surname)}
    assert {i["value"] for i in merged["identifiers"]} == {nhs_a, "H801200001001"}
    assert {a["postcode"] for a in merged["addresses"]} == {"LS2 7EW", "BD1 1AA"}
    assert [f["flag"] for f in merged["flags"]] == ["cse_risk"] and merged["roles"] == ["victim", "witness"]
    assert merged["gender"] == "female" and merged["contact"]["phone"] == "0113 496 0000"
    assert pat.ok(pat.get(f"/api/v1/profiles/{sid}"))["merged_from"] == [did]

    gone = pat.ok(pat.get(f"/api/v1/profiles/{did}"))
    assert gone["merged_into"] == sid and gone["identifiers"] == duplicate_before["identifiers"]
    assert pat.patch(f"/api/v1/profiles/{did}", {"gender": "male"}, {"If-Match": f'"{gone["version"]}"'}) \
        .status_code == 409
    members = pat.ok(pat.get(f"/api/v1/families/{family['id']}"))["members"]
    assert sid in {m["profile_id"] for m in members} and did not in {m["profile_id"] for m in members}
    found = pat.ok(pat.get("/api/v1/profiles", params={"q": f"Joanne {surname}"}))["items"]
    assert did not in {item["id"] for item in found} and sid in {item["id"] for item in found}
    assert did not in by_id(matches(pat, sid, min_score=0))

    history = pat.ok(pat.get(f"/api/v1/profiles/{sid}/history"))["items"]
    assert {h["profile_id"] for h in history} == {sid, did}          # both histories, each row says whose
    assert any(h["field"] == "merged" and h["after"] == did for h in history)
    assert any(h["field"] == "contact" and h["profile_id"] == did for h in history)

    # A later edit to the survivor stays after the unmerge.
    current = pat.ok(pat.get(f"/api/v1/profiles/{sid}"))
    pat.ok(pat.patch(f"/api/v1/profiles/{sid}", {"roles": ["victim", "witness", "subject"]},
                     {"If-Match": f'"{current["version"]}"'}))
    undone = pat.ok(pat.post(f"/api/v1/profiles/{did}/unmerge"))
    restored, back = undone["survivor"], undone["duplicate"]
    assert restored["aliases"] == before["aliases"] and restored["identifiers"] == before["identifiers"]
    assert restored["addresses"] == before["addresses"] and restored["flags"] == before["flags"]
    assert restored["gender"] is None and restored["contact"] is None
    assert restored["roles"] == ["subject", "victim"]
    assert back["merged_into"] is None and back["identifiers"] == duplicate_before["identifiers"]
    members = pat.ok(pat.get(f"/api/v1/families/{family['id']}"))["members"]
    assert did in {m["profile_id"] for m in members} and sid not in {m["profile_id"] for m in members}
    assert pat.ok(pat.get(f"/api/v1/profiles/{sid}"))["merged_from"] == []
    assert {h["profile_id"] for h in pat.ok(pat.get(f"/api/v1/profiles/{sid}/history"))["items"]} == {sid}
    assert pat.post(f"/api/v1/profiles/{did}/unmerge").status_code == 409
    assert pat.post(f"/api/v1/profiles/{sid}/unmerge").status_code == 409

    path = f"/api/v1/audit/records/profiles/{did}"
    trail = support.wait_for(lambda: (lambda actions: actions if {"merged", "unmerged"} <= actions else None)(
        {item["action"] for item in pat.ok(pat.get(path))["items"]}), message="merge in the audit trail")
    assert {"merged", "unmerged", "created"} <= trail


def test_unmerge_from_the_survivor_names_which_when_several(practitioner):
    pat, surname = practitioner, unique_surname()
    survivor = person(pat, "Lin", surname)
    first, second = person(pat, "Lyn", surname), person(pat, "Linn", surname)
    for dup in (first, second):
        pat.ok(pat.post(f"/api/v1/profiles/{survivor['id']}/merge", {"duplicate_id": dup["id"]}))
    assert pat.ok(pat.get(f"/api/v1/profiles/{survivor['id']}"))["merged_from"] == [first["id"], second["id"]]
    vague = pat.post(f"/api/v1/profiles/{survivor['id']}/unmerge")
    assert vague.status_code == 422 and "duplicate_id" in vague.json()["errors"]
    stranger = pat.post(f"/api/v1/profiles/{survivor['id']}/unmerge", json={"duplicate_id": NOWHERE})
    assert stranger.status_code == 422 and "duplicate_id" in stranger.json()["errors"]
    undone = pat.ok(pat.post(f"/api/v1/profiles/{survivor['id']}/unmerge", json={"duplicate_id": first["id"]}))
    assert undone["duplicate"]["id"] == first["id"]
    assert pat.ok(pat.get(f"/api/v1/profiles/{survivor['id']}"))["merged_from"] == [second["id"]]
    # Merging into a profile that was itself merged away, or merging a survivor away, is refused.
    assert pat.post(f"/api/v1/profiles/{second['id']}/merge", json={"duplicate_id": first["id"]}).status_code == 409
    assert pat.post(f"/api/v1/profiles/{first['id']}/merge", json={"duplicate_id": survivor["id"]}).status_code \
        == 409


def test_bad_merges_are_refused_and_write_nothing(practitioner, system):
    pat, surname = practitioner, unique_surname()
    survivor, duplicate = person(pat, "Al", surname), person(pat, "Alan", surname)
    premises = pat.ok(pat.post("/api/v1/profiles", {"kind": "premises", "name": "The Crown", "address": {
        "line1": "1 High St", "town": "Leeds", "postcode": "LS1 1AA"}}), 201)
    elsewhere = Directory(system, pat.admin)
    olu = sign_in(system, elsewhere.user("olu", [(elsewhere.hub, "practitioner")])["username"])
    theirs = person(olu, "Alan", surname)
    path = f"/api/v1/profiles/{survivor['id']}/merge"
    for body, field in (({}, "duplicate_id"), ({"duplicate_id": "nope"}, "duplicate_id"),
                        ({"duplicate_id": survivor["id"]}, "duplicate_id"),
                        ({"duplicate_id": premises["id"]}, "duplicate_id"),
                        ({"duplicate_id": duplicate["id"], "extra": 1}, "extra")):
        response = pat.post(path, json=body)
        assert response.status_code == 422 and field in response.json()["errors"], (body, response.text)
    unseen = pat.post(path, json={"duplicate_id": theirs["id"]})
    unknown = pat.post(path, json={"duplicate_id": NOWHERE})
    assert unseen.status_code == unknown.status_code == 422 and unseen.content == unknown.content
    assert pat.post(f"/api/v1/profiles/{theirs['id']}/merge", json={"duplicate_id": duplicate["id"]}).content == \
        pat.post(f"/api/v1/profiles/{NOWHERE}/merge", json={"duplicate_id": duplicate["id"]}).content
    assert pat.post(path, data="not json").status_code == 400
    for profile in (survivor, duplicate, theirs):
        api = olu if profile is theirs else pat
        current = api.ok(api.get(f"/api/v1/profiles/{profile['id']}"))
        assert current["version"] == 1 and current["merged_into"] is None and current["aliases"] == []


def test_merge_needs_the_lead_team_of_both_records(practitioner, system):
    """caller x (access to the survivor, access to the duplicate): only the lead team of both merges at once;
    edit access is not enough (issue 11, item 7: it was, so a grantee could fold another's record into its own)."""
    pat, admin, surname = practitioner, practitioner.admin, unique_surname()
    viewers, editors, outsiders = Directory(system, admin), Directory(system, admin), Directory(system, admin)
    people = {"lead": pat,
              "view on both": sign_in(system, viewers.user("v", [(viewers.hub, "practitioner")])["username"]),
              "edit on both": sign_in(system, editors.user("e", [(editors.hub, "practitioner")])["username"]),
              "edit on one": sign_in(system, editors.user("h", [(editors.npt, "practitioner")])["username"]),
              "no access": sign_in(system, outsiders.user("o", [(outsiders.hub, "practitioner")])["username"]),
              "system admin": admin}
    expected = {"lead": 200, "edit on both": 403, "view on both": 403, "edit on one": 403, "no access": 404,
                "system admin": 404}
    for who, status in expected.items():
        survivor, duplicate = person(pat, "Kim", surname), person(pat, "Kym", surname)
        for profile in (survivor, duplicate):
            share(pat, profile["id"], "team", viewers.hub["id"], "view")
            share(pat, profile["id"], "team", editors.hub["id"], "edit")
        share(pat, survivor["id"], "team", editors.npt["id"], "edit")        # "edit on one": the survivor only
        response = people[who].post(f"/api/v1/profiles/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]})
        assert response.status_code == status, (who, response.text)
        after = pat.ok(pat.get(f"/api/v1/profiles/{duplicate['id']}"))
        assert (after["merged_into"] == survivor["id"]) == (status == 200), who


def test_another_organisations_merge_of_our_record_waits_for_us_and_we_can_undo_it(practitioner, system):
    """issue 11, item 7: an edit grantee of another organisation merged our record into its own and locked us
    out. Now its merge is a request our lead team accepts (or rejects); either lead team can undo the merge."""
    pat, surname = practitioner, unique_surname()
    elsewhere = Directory(system, pat.admin)
    olu = sign_in(system, elsewhere.user("olu", [(elsewhere.hub, "practitioner")])["username"])
    ours, theirs = person(pat, "Kim", surname), person(olu, "Kym", surname)
    share(pat, ours["id"], "organisation", elsewhere.org["id"], "edit")
    share(olu, theirs["id"], "organisation", pat.directory.org["id"], "view")

    asked = olu.post(f"/api/v1/profiles/{theirs['id']}/merge", json={"duplicate_id": ours["id"], "note": "Same"})
    assert asked.status_code == 202, asked.text
    request = asked.json()["merge_request"]
    assert asked.headers["Location"] == f"/api/v1/merge-requests/{request['id']}"
    assert (request["status"], request["to_team_id"]) == ("pending", ours["owner"]["team_id"])
    assert pat.ok(pat.get(f"/api/v1/profiles/{ours['id']}"))["merged_into"] is None     # nothing merged yet
    assert olu.post(f"/api/v1/profiles/{theirs['id']}/merge", json={"duplicate_id": ours["id"]}).status_code == 409
    assert olu.post(f"/api/v1/profiles/{ours['id']}/merge", json={"duplicate_id": theirs["id"]}).status_code == 403
    incoming = pat.ok(pat.get("/api/v1/merge-requests", params={"direction": "incoming"}))["items"]
    assert request["id"] in [item["id"] for item in incoming]
    assert olu.post(f"/api/v1/merge-requests/{request['id']}/accept").status_code == 403      # not theirs to accept

    accepted = pat.ok(pat.post(f"/api/v1/merge-requests/{request['id']}/accept", {"note": "Agreed"}))
    assert accepted["id"] == theirs["id"] and accepted["merge_request"]["status"] == "accepted"
    assert pat.ok(pat.get(f"/api/v1/profiles/{ours['id']}"))["merged_into"] == theirs["id"]
    assert pat.post(f"/api/v1/merge-requests/{request['id']}/reject").status_code == 409
    undone = pat.ok(pat.post(f"/api/v1/profiles/{ours['id']}/unmerge"))          # the owner takes it back
    assert undone["duplicate"]["id"] == ours["id"] and undone["duplicate"]["merged_into"] is None

    rejected = olu.post(f"/api/v1/profiles/{theirs['id']}/merge", json={"duplicate_id": ours["id"]})
    rejected_id = rejected.json()["merge_request"]["id"]
    assert pat.ok(pat.post(f"/api/v1/merge-requests/{rejected_id}/reject"))["status"] == "rejected"
    assert pat.ok(pat.get(f"/api/v1/profiles/{ours['id']}"))["merged_into"] is None
    trail = support.wait_for(lambda: (lambda actions: actions if {"merge_requested", "merge_request_accepted",
                                                                  "merge_request_rejected"} <= actions else None)(
        {item["action"] for item in pat.ok(pat.get(f"/api/v1/audit/records/profiles/{ours['id']}"))["items"]}),
        message="the merge requests in our record's audit trail")
    assert "merged" in trail and "unmerged" in trail


def test_a_survivor_lists_and_serves_the_files_of_profiles_merged_into_it(practitioner):
    from tests.unit.test_attachment_sniffing import PDF
    pat, surname = practitioner, unique_surname()
    survivor, duplicate = person(pat, "Bea", surname), person(pat, "Beatrice", surname)
    uploaded = pat.ok(pat.post(f"/api/v1/profiles/{duplicate['id']}/attachments",
                               files={"file": ("referral.pdf", PDF, "application/pdf")}), 201)
    on_survivor = f"/api/v1/profiles/{survivor['id']}/attachments/{uploaded['id']}"
    assert pat.get(on_survivor).status_code == 404

    pat.ok(pat.post(f"/api/v1/profiles/{survivor['id']}/merge", {"duplicate_id": duplicate["id"]}))
    listed = pat.ok(pat.get(f"/api/v1/profiles/{survivor['id']}/attachments"))["items"]
    assert [(item["id"], item["profile_id"], item["download"]) for item in listed] == \
        [(uploaded["id"], duplicate["id"], on_survivor)]
    download = pat.get(on_survivor)
    assert download.status_code == 200 and download.content == PDF

    pat.ok(pat.post(f"/api/v1/profiles/{duplicate['id']}/unmerge"))
    assert pat.ok(pat.get(f"/api/v1/profiles/{survivor['id']}/attachments"))["items"] == []
    assert pat.get(on_survivor).status_code == 404
    assert pat.get(uploaded["download"]).content == PDF


def test_premises_merge_too_and_their_people_follow(practitioner):
    pat, surname = practitioner, unique_surname()
    landlord, barmaid = person(pat, "Ray", surname), person(pat, "Sal", surname)
    crown = pat.ok(pat.post("/api/v1/profiles", {"kind": "premises", "name": "The Crown", "premises_type":
                                                  "licensed_premises", "linked_people": [landlord["id"]],
                                                  "address": {"line1": "1 High St", "town": "Leeds",
                                                              "postcode": "LS1 1AA"}}), 201)
    old_crown = pat.ok(pat.post("/api/v1/profiles", {"kind": "premises", "name": "Crown Inn",
                                                      "linked_people": [barmaid["id"], landlord["id"]],
                                                      "address": {"line1": "1 High Street", "town": "Leeds",
                                                                  "postcode": "LS1 1AA"}}), 201)
    merged = pat.ok(pat.post(f"/api/v1/profiles/{crown['id']}/merge", {"duplicate_id": old_crown["id"]}))
    assert merged["linked_people"] == sorted([landlord["id"], barmaid["id"]])
    assert merged["address"]["line1"] == "1 High St"              # the survivor's own address stays first
    undone = pat.ok(pat.post(f"/api/v1/profiles/{old_crown['id']}/unmerge"))
    assert undone["survivor"]["linked_people"] == [landlord["id"]] and undone["survivor"] == {
        **pat.ok(pat.get(f"/api/v1/profiles/{crown['id']}")), "access": "full"}
    assert undone["duplicate"]["linked_people"] == sorted([barmaid["id"], landlord["id"]])
