"""Getting access and handing over the lead in a real browser (Debian's chromium, driven by Playwright in its own
process): "No access" -> a request -> the lead team's SPOC approves it by keyboard -> the requester opens the case;
a transfer offered and accepted; restrict and break-glass; 0 accessibility problems at 1280 and 320 pixels
(DOM checks, and axe-core where npm can fetch the pinned version). Screenshots go to CONCORD_SCREENSHOTS (or the
test's tmp dir)."""
import os
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "access_flow.py"


@needs_chromium
def test_no_access_to_a_request_approved_by_keyboard_then_a_transfer_restrict_and_break_glass(
        system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin, name=f"West Yorkshire Police {uuid.uuid4().hex[:6]}")
    council = Directory(system, admin, name=f"Leeds City Council {uuid.uuid4().hex[:6]}")
    spoc = force.user("sara", [(force.hub, "spoc")])
    asker = council.user("omar", [(council.hub, "practitioner")])
    lead = sign_in(system, spoc["username"])
    case = lead.ok(lead.post("/api/v1/cases", {"case_type": "asb", "title": "Noise, Canal Wharf"}), 201)
    hidden = lead.ok(lead.post("/api/v1/cases", {"case_type": "missing_vulnerable", "title": "Herbert Protocol"}),
                     201)
    person = lead.ok(lead.post("/api/v1/profiles", {"kind": "person", "given_name": "Ada",
                                                    "family_name": f"Moss{uuid.uuid4().hex[:6]}"}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, asker["username"], spoc["username"], PASSWORD, case["id"], case["reference"],
                    hidden["id"], person["id"], f"Safeguarding Hub ({council.org['name']})", shots,
                    *([axe] if axe else []))

    assert "No access" in seen["signpost"]
    assert seen["request_heading"] == "Get access to this case"
    assert seen["request_errors"] == ["Enter why you need access to this case"]
    assert seen["requested"] == "Access requested" and "Waiting" in seen["my_requests"]
    assert "1 access request" in seen["spoc_waiting"]
    assert "Access approved" in seen["approved_banner"]
    assert seen["opened"].startswith(case["reference"]) or case["title"] in seen["opened"], seen["opened"]
    assert "Approved" in seen["my_requests_after"]
    assert seen["transfer_errors"] == ["Select the team that should lead it",
                                       "Enter why the lead should move to that team"]
    assert "asked to take the lead" in seen["transfer_banner"] and "1 record offered" in seen["requester_waiting"]
    assert seen["accept_errors"] == ["Select what the person said about sharing their record",
                                     "Confirm that you have checked consent and will lead this record"]
    assert "Your team now leads it" in seen["accepted_banner"]
    assert lead.get(f"/api/v1/profiles/{person['id']}").status_code == 404      # it moved to the council
    assert "Restricted" in seen["restricted_banner"]
    assert seen["glass_url"].endswith(f"/cases/{hidden['id']}?emergency=1")
    for name, info in seen["pages"].items():
        assert info["problems"] == [] and info["problems_320"] == [], (name, info)
        assert info.get("axe", []) == [] and info.get("axe_320", []) == [], (name, info)
    if axe:
        assert all("axe_320" in info for info in seen["pages"].values())
    for picture in ("spoc-home", "decide", "who-can-see", "take-the-lead"):
        for width in (1280, 320):
            assert (shots / f"{picture}-{width}.png").stat().st_size > 5_000, (picture, width)
