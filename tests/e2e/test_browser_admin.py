"""Administration and the audit pages in a real browser (Debian's chromium, driven by Playwright in its own
process): an organisation administrator adds a person and puts them in a second team, then opens the usage
chart; a supervisor opens a member's activity; 0 accessibility problems at 1280 and 320 pixels (DOM checks, and
axe-core where npm can fetch the pinned version). Screenshots go to CONCORD_SCREENSHOTS (or the test's tmp dir)."""
import os
import time
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "admin_flow.py"


@needs_chromium
def test_org_admin_adds_a_person_and_a_supervisor_reads_activity(system, service_config, tmp_path):
    root = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, root, name=f"West Yorkshire Police {uuid.uuid4().hex[:6]}")
    olu = force.user("olu", [(force.npt, "practitioner")], roles=("org_admin",))
    sue = force.user("sue", [(force.hub, "supervisor")])
    pat = force.user("pat", [(force.hub, "practitioner")])
    sam = force.user("sam", [(force.npt, "practitioner")], roles=("system_admin",))
    api = sign_in(system, pat["username"])
    profile = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Ada", "family_name": "Moss"}), 201)
    for _ in range(3):
        api.ok(api.get(f"/api/v1/profiles/{profile['id']}"))
    time.sleep(2)                   # the audit log is written from events
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()
    new_username = f"nia.{uuid.uuid4().hex[:6]}"

    seen = run_flow(FLOW, system, olu["username"], sue["username"], sam["username"], PASSWORD, force.org["id"],
                    force.npt["id"], pat["id"], profile["id"], new_username, shots, *([axe] if axe else []))

    assert seen["admin_heading"] == "Administration"
    assert seen["new_user_errors"] == ["Enter the person's full name", "Enter a username", "Enter their email address",
                                       "Select the team they work in"]
    assert seen["password_title"] == "Nia Patel can now sign in" and len(seen["password"]) == 19
    sign_in(system, new_username, seen["password"])
    assert "Membership saved" in seen["member_banner"] and "Nia Patel" in seen["team_members"]
    assert "Neighbourhood Team" in seen["new_user_teams"] and "Safeguarding Hub" in seen["new_user_teams"]
    assert seen["chart_role"] == "img" and seen["chart_title"].startswith("Page views and visits per day")
    assert seen["usage_rows"] == 30 and 200 < seen["chart_width_320"] <= 320
    assert seen["supervisor_nav_admin"] == 0
    assert seen["activity_heading"] == "What Pat did" and "Looked at" in seen["activity"]
    assert "Pat" in seen["record_audit"] and "Looked at" in seen["record_audit"]
    assert seen["client_errors"] == ["Enter the partner system's name", "Select the organisation it belongs to",
                                     "Select what it may do"]
    assert len(seen["client_secret"]) >= 20
    assert seen["agreement_errors"][:2] == ["Enter the agreement's name", "Enter what the sharing is for"]
    assert len(seen["pages"]) == 15
    for name, info in seen["pages"].items():
        assert info["problems"] == [] and info["problems_320"] == [], (name, info)
        assert info.get("axe", []) == [] and info.get("axe_320", []) == [], (name, info)
        assert info["overflows_320"] is False, name
    if axe:
        assert all("axe_320" in info for info in seen["pages"].values())
    for picture in ("usage", "activity", "one-time-password"):
        for width in (1280, 320):
            assert (shots / f"{picture}-{width}.png").stat().st_size > 5_000, (picture, width)
