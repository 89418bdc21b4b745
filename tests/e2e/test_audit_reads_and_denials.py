"""Every read is audited, and so are refusals (issue 11, item 5), on the whole real system: a profile's
history, families, attachment list, access list and /why land in its trail as `viewed`; another
organisation's attempt to open it lands there as `denied` (who, which route), while that caller gets the
very 404 a random id gets."""
from gateway.routes.records import RECORD
from tests import support
from tests.e2e.directory import Directory, sign_in

NOWHERE = "00000000-0000-0000-0000-000000000000"
PARTS = {"/history": "profile.history_viewed", "/families": "profile.families_viewed",
         "/attachments": "profile.attachments_viewed", "/access": "profile.access_list_viewed",
         "/why": "profile.why_viewed"}


def test_reads_of_a_profiles_parts_and_refused_attempts_are_in_its_trail(practitioner):
    pat = practitioner
    elsewhere = Directory(pat.url, pat.admin)
    olu_user = elsewhere.user("olu", [(elsewhere.hub, "practitioner")])
    olu = sign_in(pat.url, olu_user["username"])
    profile = pat.ok(pat.post("/api/v1/profiles", {"kind": "person", "given_name": "Nell", "family_name": "Rowe",
                                                   "owner_team_id": pat.directory.hub["id"]}), 201)
    path = f"/api/v1/profiles/{profile['id']}"
    for suffix in PARTS:
        pat.ok(pat.get(path + suffix))
    for suffix in ("", "/history", "/attachments"):
        hidden, missing = olu.get(path + suffix), olu.get(f"/api/v1/profiles/{NOWHERE}{suffix}")
        assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content, suffix
    assert olu.ok(olu.get(path + "/why")) == olu.ok(olu.get(f"/api/v1/profiles/{NOWHERE}/why"))

    def trail():
        items = pat.ok(pat.get(f"/api/v1/audit/records/profiles/{profile['id']}"))["items"]
        denied = [item for item in items if item["action"] == "denied"]
        viewed = {item["event_type"] for item in items if item["action"] == "viewed"}
        return (viewed, denied) if set(PARTS.values()) <= viewed and len(denied) >= 4 else None
    viewed, denied = support.wait_for(trail, message="reads and refusals in the profile's trail")
    assert {item["actor_id"] for item in denied} == {olu_user["id"]}
    assert {item["details"]["route"] for item in denied} == {
        "GET /api/v1/profiles/<profile_id>", "GET /api/v1/profiles/<profile_id>/history",
        "GET /api/v1/profiles/<profile_id>/attachments", f"GET {RECORD}/why"}
    assert all(item["outcome"] == "failure" and item["record"] == {"type": "profile", "id": profile["id"]}
               for item in denied)
