"""The webhook pages in a real browser: an organisation administrator sees the organisation's webhooks, one's
deliveries with a dead-lettered one, and sends it again; 0 accessibility problems at 1280 and 320 px. A
practitioner is refused the pages."""
import base64
import os
from pathlib import Path

import pytest
import requests

from tests import support
from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, sign_in
from tests.e2e.test_browser import needs_chromium, run_flow
from tests.e2e.test_browser_profiles import axe_core
from tests.support import unique_surname, wait_for
from tests.webhook_receivers import Certificates, Receiver

FLOW = Path(__file__).parent / "browser" / "webhook_flow.py"
CERTIFICATES = Certificates()


@pytest.fixture(scope="module")
def system_module(request):
    settings = {"WEBHOOKS_SEALING_KEYS": "kweb:" + base64.b64encode(b"w" * 32).decode(),
                "WEBHOOKS_ALLOW_PRIVATE": True, "WEBHOOKS_CA_FILE": str(CERTIFICATES.ca_file),
                "WEBHOOKS_POLL_SECONDS": 0.1, "WEBHOOKS_TIMEOUT_SECONDS": 2, "WEBHOOKS_RETRY_BASE_SECONDS": 0.3,
                "WEBHOOKS_RETRY_MAX_SECONDS": 0.5, "WEBHOOKS_RETRY_WINDOW_SECONDS": 2}
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_hookweb",
                              {"notifications": settings}) as system:
        yield system


@needs_chromium
def test_an_organisation_administrator_sees_deliveries_and_sends_a_failed_one_again(system_module, tmp_path):
    url, config = system_module
    root = bootstrap_admin(url, config)
    org = Directory(url, root)
    admin_user = org.user("wa", [(org.hub, "supervisor")], roles=["org_admin"])
    practitioner = org.user("wp", [(org.hub, "practitioner")])
    admin, worker = sign_in(url, admin_user["username"]), sign_in(url, practitioner["username"])
    receiver = Receiver(CERTIFICATES, "fail")
    try:
        hook = admin.ok(admin.post("/api/v1/webhooks", {"url": receiver.url, "events": ["profile.created"]}), 201)
        worker.ok(worker.post("/api/v1/profiles", {"kind": "person", "given_name": "Web",
                                                   "family_name": unique_surname()}), 201)
        wait_for(lambda: [d for d in admin.ok(admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries"))["items"]
                          if d["status"] == "failed"], timeout=30, message="a dead-lettered delivery")
        receiver.mode = "ok"
        shots = Path(os.environ.get("CONCORD_SCREENSHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        axe = axe_core()
        seen = run_flow(FLOW, url, admin_user["username"], PASSWORD, hook["id"], shots, *([axe] if axe else []))
        assert seen["list_heading"] == "Webhooks" and receiver.url in seen["list_rows"][0]
        assert seen["failed_rows"] == 1
        assert "Failed (dead-lettered)" in seen["first_row"] and "HTTP 500" in seen["first_row"]
        assert "sent again" in seen["banner"] and seen["after_url"].startswith(f"{url}/admin/webhooks/{hook['id']}")
        assert seen["failed_filter_rows"] == 0
        wait_for(lambda: receiver.accepted(), timeout=15, message="the redelivery")
        for name, info in seen["pages"].items():
            assert info["problems"] == [] and info["problems_320"] == [], (name, info)
            assert info.get("axe", []) == [] and info.get("axe_320", []) == [], (name, info)
            assert not info["overflows_320"], name
    finally:
        receiver.close()
    # A practitioner may not see the pages (a 403 page), and the API agrees.
    for path in ("/admin/webhooks", f"/admin/webhooks/{hook['id']}"):
        assert requests.get(url + path, headers=worker.headers(), timeout=15).status_code == 403
    assert worker.get(f"/api/v1/webhooks/{hook['id']}").status_code == 403
