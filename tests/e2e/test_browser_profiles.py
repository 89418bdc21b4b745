"""The profile pages in a real browser (Debian's chromium, driven by Playwright in its own process):
create, the duplicate warning, search, the profile, merge confirmation, a request for access without
JavaScript, and an accessibility check of each page (simple DOM checks; axe-core too where npm can fetch
the pinned version)."""
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_web_profiles import new_nhs_number

FLOW = Path(__file__).parent / "browser" / "profile_flow.py"
AXE_VERSION = "4.10.3"          # pinned; fetched from the npm registry with `npm pack`
VAR = Path(__file__).resolve().parents[2] / "var"


def axe_core() -> Path | None:
    """axe-core's axe.min.js at the pinned version, fetched once into var/ (None without npm)."""
    target = VAR / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if target.exists():
        return target
    if not shutil.which("npm"):
        return None
    work = VAR / f"axe-core-{AXE_VERSION}.download"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    packed = subprocess.run(["npm", "pack", "--silent", f"axe-core@{AXE_VERSION}"], cwd=work, capture_output=True,
                            text=True, timeout=120)
    if packed.returncode != 0:
        return None
    with tarfile.open(work / f"axe-core-{AXE_VERSION}.tgz") as archive:
        archive.extract("package/axe.min.js", work, filter="data")
    target.parent.mkdir(parents=True, exist_ok=True)
    (work / "package" / "axe.min.js").replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return target


@needs_chromium
def test_a_practitioner_creates_finds_and_opens_a_profile_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    force = Directory(system, admin)
    user = force.user("nadia", [(force.hub, "practitioner")])
    council = Directory(system, admin, name=f"Leeds City Council {uuid.uuid4().hex[:6]}")
    theirs = sign_in(system, council.user("omar", [(council.hub, "practitioner")])["username"])
    surname = f"Brook{uuid.uuid4().hex[:6]}"
    theirs.ok(theirs.post("/api/v1/profiles", {"kind": "person", "given_name": "Zara", "family_name": surname,
                                               "date_of_birth": "1979-05-05"}), 201)
    shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = axe_core()

    seen = run_flow(FLOW, system, user["username"], PASSWORD, surname, new_nhs_number(), shots,
                    *([axe] if axe else []))

    assert seen["sent_to_sign_in"]
    assert seen["new_heading"] == "Create a person profile"
    assert seen["empty_errors"] == ["Enter a given name", "Enter a family name"]
    assert seen["error_summary_focused"], "GOV.UK Frontend's error summary takes the focus"
    assert seen["created_heading"] == f"Maya {surname}" and "Profile created" in seen["created_banner"]
    assert seen["matches_heading"] == f"Is Maya {surname} already known?"
    assert f"This may be the same person as Maya {surname}" in seen["duplicate_banner"]
    assert seen["duplicate_link_to_first"]
    assert seen["search_rows"] == 3 and sorted(seen["search_access"]) == ["full", "full", "signpost"]
    assert seen["opened"] == f"Maya {surname}"
    for words in ("14 February 2011", "Under 18", "12 Chapel Street, Leeds, LS9 8AA", "Possible duplicates",
                  "Merge into this profile", "Safeguarding Hub"):
        assert words in seen["profile_text"], words
    assert seen["merge_heading"] == f"Merge Maya {surname} into Maya {surname}?"
    assert "You have asked for access to Zara" in seen["no_js_request_banner"]
    assert seen["console_errors"] == [], "the Content-Security-Policy blocked something"
    for name, info in seen["pages"].items():
        assert info["problems"] == [], (name, info["problems"])
        assert info.get("axe", []) == [], (name, info["axe"])
    if axe:
        assert all("axe" in info for name, info in seen["pages"].items() if name != "create with errors")
    for picture in ("create-errors", "duplicate-warning", "search", "profile", "merge-confirm",
                    "request-access-no-js"):
        assert (shots / f"{picture}.png").stat().st_size > 10_000, picture
