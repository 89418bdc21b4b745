"""The sign-in pages in a real browser (Debian's chromium, driven by Playwright)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin

CHROMIUM = "/usr/bin/chromium"
FLOW = Path(__file__).parent / "browser" / "sign_in_flow.py"
MFA_FLOW = Path(__file__).parent / "browser" / "mfa_flow.py"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="Debian's chromium is not installed (.ci/run installs it)")


def run_flow(script, *args) -> dict:
    run = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@needs_chromium
def test_a_practitioner_signs_in_and_out_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    directory = Directory(system, admin)
    user = directory.user("hana", [(directory.hub, "practitioner")])
    seen = run_flow(FLOW, system, user["username"], PASSWORD, tmp_path)
    assert seen["redirected_to"].endswith("/sign-in")
    assert seen["stylesheet_loaded"] == "rgb(11, 79, 92)", "Concord's stylesheet (GOV.UK Frontend, Concord brand) not applied"
    assert "The username or password is incorrect" in seen["error_summary"]
    assert seen["error_title"].startswith("Error:")
    assert seen["home_heading"] == "Home"          # the dashboard (account details: /account)
    assert seen["cookie"] == {"httpOnly": True, "sameSite": "Lax"}
    assert seen["script_can_read_cookie"] is False
    assert seen["after_sign_out"].endswith("/sign-in") and seen["after_sign_out_home"].endswith("/sign-in")
    assert (tmp_path / "home.png").exists()


@needs_chromium
def test_mfa_is_set_up_and_then_required_in_a_browser(system, service_config, tmp_path):
    admin = bootstrap_admin(system, service_config("permissions"))
    directory = Directory(system, admin, require_mfa=True)
    user = directory.user("ivan", [(directory.hub, "supervisor")])
    seen = run_flow(MFA_FLOW, system, user["username"], PASSWORD, tmp_path)
    assert seen["sent_to"].endswith("/mfa") and seen["key_before_start"] == 0
    assert "code is not right" in seen["wrong_code_error"] and seen["same_key_after_wrong_code"] is True
    assert "Two-factor authentication\nOn" in seen["home_text"] or "Two-factor authentication\tOn" in seen["home_text"]
    assert seen["asked_for_code"] is True
    assert seen["after_code"] == "Home"
