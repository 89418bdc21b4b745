"""The meeting pages in a real browser (Debian's chromium, driven by Playwright in its own process): arrange a
meeting, put a case on its agenda, minute it with decisions, the list by day; 0 accessibility problems (DOM
checks, and axe-core where npm can fetch the pinned version)."""
import os
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "meeting_flow.py"


@needs_chromium
def test_a_practitioner_runs_a_panel_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin)
    user = force.user("nadia", [(force.hub, "practitioner")])
    api = sign_in(system, user["username"])
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise and threats, Canal Wharf"}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    invite = f"Neighbourhood Team, {force.org['name']}"
    seen = run_flow(FLOW, system, user["username"], PASSWORD, case["reference"], invite, shots, *([axe] if axe else []))

    assert seen["list_heading"] == "Meetings"
    assert seen["empty_errors"] == ["Select the type of meeting", "Enter a title",
                                    "Enter the date of the meeting, for example 27 3 2027",
                                    "Enter the time the meeting starts, for example 14:30",
                                    "Select at least one team or organisation to invite"]
    assert seen["meeting_heading"] == "Eastside ASB panel" and "Meeting arranged" in seen["meeting_banner"]
    assert "Case put on the agenda" in seen["agenda_banner"] and case["reference"] in seen["agenda_text"]
    assert seen["minutes_errors"] == ["Enter what was discussed"]
    assert "Minutes recorded" in seen["minutes_banner"]
    assert "Warning letter from housing" in seen["minutes_text"] and "Review at the next panel" in seen["minutes_text"]
    assert "Eastside ASB panel" in seen["upcoming_text"].split("In the last 30 days")[0]
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
