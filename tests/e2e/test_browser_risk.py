"""The risk pages in a real browser (Debian's chromium, driven by Playwright in its own process): a practitioner
assesses risk (template, errors, answers partly by keyboard), the supervisor signs off by keyboard, the case page
and the list show the level; 0 accessibility problems (DOM checks, and axe-core where npm can fetch the pinned
version)."""
import os
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "risk_flow.py"


@needs_chromium
def test_a_risk_assessment_is_made_explained_and_signed_off_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin)
    practitioner = force.user("nadia", [(force.hub, "practitioner")])
    supervisor = force.user("sgt", [(force.hub, "supervisor")])
    api = sign_in(system, practitioner["username"])
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Threats on Canal Wharf"}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, practitioner["username"], supervisor["username"], PASSWORD, case["id"], shots,
                    *([axe] if axe else []))

    assert "Not assessed yet" in seen["risk_before"]
    assert seen["choose_heading"] == "Assess risk"
    assert seen["empty_errors"] == ["Answer: How likely is harm to happen", "Answer: How serious would the harm be"]
    assert "Risk assessed" in seen["result_banner"]
    assert "High risk" in seen["result_tags"] and "Awaiting sign-off" in seen["result_tags"]
    assert "4 – Likely" in seen["factors"] and "5 – Severe" in seen["factors"] and "20" in seen["factors"]
    assert seen["practitioner_may_sign"] == 0, "the assessor may not sign off"
    assert "Risk assessment signed off" in seen["signed_banner"]
    assert seen["history_rows"] == 1
    assert "High risk" in seen["risk_after"] and "signed off" in seen["risk_after"]
    assert seen["list_tag"] == ["High risk"]
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
