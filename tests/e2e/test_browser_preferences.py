"""The e-mail preferences page in a real browser (Debian's chromium, driven by Playwright in its own process):
reached from the notifications page, saved, and a tampered choice refused; 0 accessibility problems at 1280 and
320 px (the DOM checks, and axe-core where npm can fetch the pinned version)."""
import os
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "preferences_flow.py"


@needs_chromium
def test_a_practitioner_chooses_how_they_are_emailed_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    directory = Directory(system, admin)
    user = directory.user("ola", [(directory.hub, "practitioner")])
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, user["username"], PASSWORD, shots, *([axe] if axe else []))

    assert seen["heading"] == "E-mail preferences" and seen["default_checked"] == "immediate"
    assert len(seen["legends"]) == 7 and "Cases put on a meeting's agenda" in seen["legends"]
    assert "Your e-mail preferences were saved" in seen["banner"]
    assert (seen["saved_default"], seen["saved_actions"], seen["saved_mash"]) == ("daily", "off", "same")
    assert seen["errors"] == ["Choose immediately, daily summary or off for mash referrals, research requests and "
                              "outcomes"] and seen["error_group"] == "mash"
    api = sign_in(system, user["username"])
    saved = api.ok(api.get("/api/v1/me/notification-preferences"))
    assert saved["email"] == "daily" and saved["kinds"]["actions"] == "off" and saved["kinds"]["mash"] == "daily"
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [] and info["problems_320"] == [], (name, info)
        assert info.get("axe", []) == [] and info.get("axe_320", []) == [], (name, info.get("axe"), info.get("axe_320"))
        assert not info["overflows_320"], name
