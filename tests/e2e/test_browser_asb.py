"""The ASB pages in a real browser (Debian's chromium, driven by Playwright in its own process): record a power
and a breach from the case page, change a status, the "Expiring soon" list and the Community Trigger page with an
overdue review; 0 accessibility problems (DOM checks, and axe-core where npm can fetch the pinned version)."""
import os
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from tests import support
from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "asb_flow.py"


@needs_chromium
def test_a_practitioner_records_powers_and_sees_the_community_trigger(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin)
    user = force.user("ayo", [(force.hub, "practitioner")])
    api = sign_in(system, user["username"])
    sam = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Sam", "family_name": "Okafor"}), 201)
    ada = api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Ada", "family_name": "Brown"}), 201)
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Canal Wharf noise", "participants": [
        {"profile_id": sam["id"], "role": "perpetrator"}, {"profile_id": ada["id"], "role": "complainant"}]}), 201)
    path = f"/api/v1/cases/{case['id']}"
    today = date.today()
    api.ok(api.post(path + "/powers", {"power": "cpw", "status": "issued", "profile_id": sam["id"],
                                       "served_on": (today - timedelta(days=20)).isoformat()}), 201)
    for ago in (50, 20, 2):
        api.ok(api.post(path + "/complaints", {"complainant_profile_id": ada["id"], "summary": "Music at night",
                                               "received_on": (today - timedelta(days=ago)).isoformat()}), 201)
    engine = create_engine(support.database_url_for(service_config("cases")))
    with engine.begin() as conn:            # a review that should have happened already: the page says so
        conn.execute(text("UPDATE community_trigger_activations SET review_due = current_date - 1"))
    engine.dispose()
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, user["username"], PASSWORD, case["id"], shots, *([axe] if axe else []))

    assert "Community Protection Warning" in seen["section"] and "Issued" in seen["section"]
    assert seen["power_heading"].startswith("Record an ASB power")
    assert seen["power_errors"] == ["Select the power"]
    assert "Power recorded" in seen["power_banner"]
    assert seen["breach_errors"] == ["Enter the date of the breach", "Enter what happened"]
    assert "Breach recorded" in seen["breach_banner"]
    assert "Breached" in seen["cpn_row"] and "Loud music at 2am" in seen["cpn_row"] and "Sam Okafor" in seen["cpn_row"]
    assert "Discharged" in seen["cpw_row"]
    assert "Community Protection Notice" in seen["expiring"] and case["reference"] in seen["expiring"]
    assert "Overdue" in seen["trigger"] and case["reference"] in seen["trigger"]
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
