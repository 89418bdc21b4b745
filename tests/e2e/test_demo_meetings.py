"""`concord seed` arranges the demo ASB panel once, with the Okafor case on its agenda: the council's ASB team
(invited) sees the panel and the case on it."""
import os
import subprocess
import sys
from pathlib import Path

import requests

from concord_common import demo
from tests import support


def test_seed_arranges_the_demo_panel_once(system, service_config, tmp_path):
    env = dict(os.environ, AMQP_URI=service_config("permissions")["AMQP_URI"], CONCORD_VAR=str(tmp_path),
               DATABASE_PREFIX="seedmeetings", **support.key_env())
    concord = str(Path(sys.executable).parent / "concord")
    for _ in range(2):
        run = subprocess.run([concord, "seed", "--url", system], capture_output=True, text=True, env=env, timeout=180)
        assert run.returncode == 0, run.stderr
    token = requests.post(system + "/api/v1/sessions", json={"username": "r.moore",
                                                              "password": demo.DEMO_PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    panels = [m for m in requests.get(system + "/api/v1/meetings", headers=headers).json()["items"]
              if m["title"] == demo.DEMO_MEETING["title"]]
    assert len(panels) == 1 and panels[0]["kind"] == "asb_panel", "arranged once"
    panel = requests.get(system + f"/api/v1/meetings/{panels[0]['id']}", headers=headers).json()
    assert [item["case"].get("title") for item in panel["agenda"]] == [demo.DEMO_CASES[0]["title"]]
