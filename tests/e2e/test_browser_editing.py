"""The editing pages in a real browser (Debian's chromium through Playwright, browser/edit_flow.py): a person
created through the duplicate check, details, identifiers, addresses and flags changed, a premises created and
the person linked, a family created and a member added; every page at 1280 and 320 px with axe-core 0 violations."""
import os
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core
from tests.support import new_nhs_number, unique_surname

FLOW = Path(__file__).parent / "browser" / "edit_flow.py"


@needs_chromium
def test_a_practitioner_edits_profiles_premises_and_families_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin, name=f"Leeds Police {uuid.uuid4().hex[:6]}")
    user = force.user("nadia", [(force.hub, "practitioner")])
    api = sign_in(system, user["username"])
    surname, other = unique_surname(), unique_surname()
    api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Maya", "family_name": surname,
                                         "date_of_birth": "2011-02-14"}), 201)
    api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Dele", "family_name": other}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, user["username"], PASSWORD, surname, new_nhs_number(), other, shots,
                    *([axe] if axe else []))

    assert seen["matches_heading"] == f"Is Maya {surname} already known?" and seen["match_cards"] == 1
    assert seen["created_heading"] == f"Maya {surname}"
    assert seen["details_errors"] == ["Not a valid email address"]
    assert "Details changed" in seen["details_banner"]
    assert seen["identifier_errors"] == ["That is not a valid NHS number (its check digit is wrong)"]
    assert seen["identifiers_listed"] == 1
    assert seen["address_listed"].strip() == "12 Chapel Street, Leeds, LS9 8AA"
    assert seen["herbert_heading"] == "Herbert Protocol details"
    assert "Herbert Protocol details saved" in seen["herbert_saved"] and "Roundhay Park" in seen["herbert_saved"]
    assert [name.strip() for name in seen["linked"]] == [f"Maya {surname}"]
    assert f"The Red Lion {surname}" in seen["person_premises"]
    assert seen["family_heading"] == f"The {surname} family"
    assert len(seen["family_members"]) == 2 and any("Parent" in row for row in seen["family_members"])
    assert seen["sharing_link"].endswith("/sharing")
    assert len(seen["pages"]) >= 30
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        width = 320 if name.endswith("narrow") else 1280
        assert info["scroll_width"] <= width, (name, info.get("sticking_out"))
        if axe:
            assert info["axe"] == [], (name, info["axe"])
