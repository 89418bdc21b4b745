"""The MASH journey in a real browser (Debian's chromium, Playwright in its own process): refer (an empty form's
errors first) → triage → research → answer (from My actions) → decide with a case; the dashboard refreshes itself
and counts the decision; every page passes the DOM checks at 1280 and 320 px without sideways scroll, and
axe-core's WCAG 2.x A/AA rules where npm can fetch the pinned version."""
import os
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "mash_flow.py"


@needs_chromium
def test_a_referral_from_school_to_decision_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    run = uuid.uuid4().hex[:6]              # organisation names are unique in the directory other modules share
    council, police, school = (Directory(system, admin, name=f"{name} {run}") for name in
                               ("Leeds City Council", "West Yorkshire Police", "Park View Academy"))
    mash_team = admin.ok(admin.post(f"/api/v1/organisations/{council.org['id']}/teams",
                                    {"name": "Leeds MASH", "kind": "mash"}), 201)
    worker = council.user("mashworker", [(mash_team, "practitioner")])
    officer = police.user("officer", [(police.hub, "practitioner")])
    teacher = school.user("teacher", [(school.hub, "practitioner")])
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()
    # A second MASH (as in a county with more than one): the referrer chooses; the modules of this worker may have
    # made others too.
    admin.ok(admin.post(f"/api/v1/organisations/{police.org['id']}/teams", {"name": "Wakefield MASH", "kind": "mash"}),
             201)
    team_label = f"{police.hub['name']} ({police.org['name']})"
    seen = run_flow(FLOW, system, PASSWORD, teacher["username"], worker["username"], officer["username"],
                    team_label, f"Leeds MASH ({council.org['name']})", shots, *([axe] if axe else []))

    assert seen["empty_errors"][:3] == ["Enter the person's first name", "Enter the person's last name",
                                        "Select whether the person is a child or an adult"], seen["empty_errors"]
    assert seen["mash_choices"] >= 2
    assert "Referral sent" in seen["sent_banner"] and seen["reference"].startswith("MASH-")
    assert seen["awaiting"] == "1" and seen["refresh_by_default"] == 0 and seen["refresh"] == "60"
    assert seen["triage_errors"] and seen["rag"].startswith("Red")
    assert "Research request sent" in seen["asked_banner"]
    assert len(seen["research_rows"]) == 1 and "Maisie Thornton" in seen["research_rows"][0]
    assert "Maisie Thornton" in seen["asked_heading"] and "Any call-outs" in seen["asked_text"]
    assert "burn" not in seen["asked_text"]             # the asked team does not see the referral's concerns
    assert seen["answered"].startswith("Information given")
    assert "Two domestic incidents" in seen["research_table"]
    assert seen["decided_status"] == "Decided" and seen["case_link"] == 1 and seen["decided_today"] == "1"
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [] and info["problems_narrow"] == [], (name, info)
        assert info["sideways"] is False, name
        # The reloading dashboard is one its viewer asked for and can stop (WCAG 2.2.1): axe's meta-refresh rule
        # cannot see that choice, so only that rule is allowed there.
        allowed = {"meta-refresh"} if name == "dashboard reloading" else set()
        for width in ("axe_wide", "axe_narrow"):
            assert [v for v in info.get(width, []) if v.split(" ")[0] not in allowed] == [], (name, width, info)
