"""The action pages in a real browser (Debian's chromium, driven by Playwright in its own process): add an action
on a case (an empty form's errors first), mark it done with a note, My actions from the header with its counts and
the overdue filter; 0 accessibility problems (DOM checks, and axe-core where npm can fetch the pinned version)."""
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from tests import support
from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core
from tests.e2e.test_case_access import grant

FLOW = Path(__file__).parent / "browser" / "action_flow.py"


@needs_chromium
def test_a_practitioner_sets_and_finishes_actions_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    council = Directory(system, admin, name=f"Leeds City Council {uuid.uuid4().hex[:6]}")    # names are unique
    police = Directory(system, admin)
    user = council.user("nadia", [(council.hub, "practitioner")])
    api = sign_in(system, user["username"])
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise, Canal Wharf"}), 201)
    grant(api, f"cases/{case['id']}", "team", police.hub["id"], "view")
    today = datetime.now(timezone.utc).date()
    late = api.ok(api.post(f"/api/v1/cases/{case['id']}/actions", {
        "title": "Write to the landlord", "assignee": {"team_id": council.hub["id"]},
        "due": (today + timedelta(days=1)).isoformat()}), 201)
    engine = create_engine(support.database_url_for(service_config("cases")))
    try:                                    # time passes: it is now two days late
        with engine.begin() as conn:
            conn.execute(text("UPDATE case_actions SET due = :due WHERE id = :id"),
                         {"due": today - timedelta(days=2), "id": late["id"]})
    finally:
        engine.dispose()
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()
    due = today + timedelta(days=3)

    assignee = f"{police.hub['name']} ({police.org['name']})"      # the label names the team's organisation
    seen = run_flow(FLOW, system, user["username"], PASSWORD, case["id"], assignee, due.day, due.month, due.year,
                    shots, *([axe] if axe else []))

    assert seen["overdue_on_case"] == 1
    assert seen["empty_errors"] == ["Enter the action", "Select who the action is for", "Enter the due date"]
    assert "Action set" in seen["set_banner"] and "Visit the flat with housing" in seen["actions_text"]
    assert police.hub["name"] in seen["actions_text"]
    assert seen["change_heading"] == "Visit the flat with housing"
    assert seen["change_errors"] == ["Enter why the action is done"]
    assert "Action updated" in seen["changed_banner"] and "Done" in seen["changed_row"]
    assert "marked done (Visited with housing" in seen["timeline_text"]
    assert seen["mine_heading"] == "My actions"
    assert seen["filters"][:2] == ["Open and in progress (1)", "Overdue (1)"], seen["filters"]
    assert seen["mine_rows"] == 1
    assert len(seen["overdue_rows"]) == 1 and "Write to the landlord" in seen["overdue_rows"][0]
    assert "Overdue" in seen["overdue_rows"][0]
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
