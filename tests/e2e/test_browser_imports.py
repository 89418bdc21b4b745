"""The bulk import pages in a real browser (Debian's chromium, driven by Playwright in its own process): an
organisation administrator uploads a CSV with one bad row and watches the self-refreshing status page to the end;
0 accessibility problems at 1280 and 320 pixels (DOM checks, and axe-core where npm can fetch the pinned version).
Screenshots go to CONCORD_SCREENSHOTS (or the test's tmp dir)."""
import os
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core

FLOW = Path(__file__).parent / "browser" / "import_flow.py"


@needs_chromium
def test_an_org_admin_imports_a_file_and_watches_it_finish(system, service_config, tmp_path):
    root = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, root, name=f"Wakefield Council {uuid.uuid4().hex[:6]}")
    admin = force.user("ola", [(force.hub, "practitioner")], roles=("org_admin",))
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, admin["username"], PASSWORD, shots, *([axe] if axe else []))

    assert seen["form_heading"] == "Import profiles"
    assert seen["empty_errors"] and "file" in seen["empty_errors"][0].lower()
    if seen["first_status"] in ("Waiting to start", "Importing"):
        assert seen["first_refresh"] == 1                     # a running import's page refreshes itself
    assert seen["status"] == "Finished" and seen["refresh_when_done"] == 0
    assert seen["progress"] == ["40", "40"] and seen["progress_text"].startswith("40 of 40 rows")
    assert "Created\n39" in seen["counts"].replace("\t", "\n") and "Failed\n1" in seen["counts"].replace("\t", "\n")
    [error] = seen["error_rows"]
    assert error.split("\t")[:2] == ["10", "address_postcode"], error
    assert "people.csv" in seen["recent"][0]
    assert len(seen["pages"]) == 4
    for name, info in seen["pages"].items():
        assert info["problems"] == [] and info["problems_320"] == [], (name, info)
        assert info.get("axe", []) == [] and info.get("axe_320", []) == [], (name, info)
        assert info["overflows_320"] is False, name
    if axe:
        assert all("axe_320" in info for info in seen["pages"].values())
    for picture in ("import-finished", "import-form-with-errors"):
        for width in (1280, 320):
            assert (shots / f"{picture}-{width}.png").stat().st_size > 5_000, (picture, width)
