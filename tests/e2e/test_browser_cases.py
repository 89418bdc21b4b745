"""The case pages in a real browser (Debian's chromium, driven by Playwright in its own process): open a case
from a profile, a note by keyboard only, add a premises, close and reopen, share with a tick box and revoke
(keyboard only), the sorted list; 0 accessibility problems (DOM checks, and axe-core where npm can fetch the
pinned version)."""
import os
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core
from tests.support import unique_surname

FLOW = Path(__file__).parent / "browser" / "case_flow.py"


@needs_chromium
def test_a_practitioner_works_a_case_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin)
    user = force.user("nadia", [(force.hub, "practitioner")])
    api = sign_in(system, user["username"])
    surname = unique_surname()
    person = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Sam", "family_name": surname}),
                    201)
    premises = f"The {surname} Arms"
    api.ok(api.post("/api/v1/profiles", {"kind": "premises", "name": premises, "address": {
        "line1": "12 High Street", "postcode": "LS1 6HQ"}}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    share_with = f"Neighbourhood Team, {force.org['name']}"    # its label names the organisation
    seen = run_flow(FLOW, system, user["username"], PASSWORD, person["id"], premises, shots, share_with,
                    *([axe] if axe else []))

    assert seen["new_heading"].startswith("Open a case")
    assert seen["empty_errors"] == ["Select the type of case", "Enter a title", "Select their role on the case"]
    assert seen["case_heading"] == "Noise and threats, Canal Wharf" and "Case opened" in seen["case_banner"]
    assert "Note added" in seen["note_banner"] and "Spoke to the neighbours" in seen["notes_text"]
    assert "Contact" in seen["notes_text"], "the kind was chosen with the arrow keys"
    assert premises in seen["participants_text"] and "Premises of concern" in seen["participants_text"]
    assert "Case closed" in seen["closed_banner"]
    assert "Case reopened: Two new complaints" in seen["timeline_text"]
    assert seen["share_heading"] == "Who can see this case"
    assert seen["share_errors"] == ["Select the teams or organisations to share it with",
                                    "Enter the lawful basis for sharing"]
    assert "Shared with 1 team or organisation" in seen["share_banner"]
    assert "Neighbourhood Team" in seen["shared_with"] and "Access taken away" in seen["revoke_banner"]
    assert seen["sorted"].startswith("Priority") and seen["rows"] >= 1
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
