"""`concord seed` opens the demo cases once: an ASB case on the Okafor household and The Red Lion (shared with
the council's ASB team), an IOM case for Dean Avery with his family, a missing-person case for Elsie Marsh."""
import os
import subprocess
import sys
from pathlib import Path

import requests

from concord_common import demo
from tests import support


def test_seed_opens_the_demo_cases_once(system, service_config, tmp_path):
    env = dict(os.environ, AMQP_URI=service_config("permissions")["AMQP_URI"], CONCORD_VAR=str(tmp_path),
               DATABASE_PREFIX="seedcases", **support.key_env())
    concord = str(Path(sys.executable).parent / "concord")
    for _ in range(2):
        run = subprocess.run([concord, "seed", "--url", system], capture_output=True, text=True, env=env, timeout=180)
        assert run.returncode == 0, run.stderr
    headers = {}
    for username in (demo.DEMO_SIGN_IN, "r.moore"):
        token = requests.post(system + "/api/v1/sessions", json={"username": username,
                                                                  "password": demo.DEMO_PASSWORD}).json()["token"]
        headers[username] = {"Authorization": f"Bearer {token}"}
    cases = requests.get(system + "/api/v1/cases", headers=headers[demo.DEMO_SIGN_IN]).json()["items"]
    titles = sorted(case["title"] for case in cases)
    assert titles == sorted(case["title"] for case in demo.DEMO_CASES), "each opened once"
    iom = next(case for case in cases if case["case_type"] == "iom")
    assert {(p["display_name"], p["role"], p["family_role"]) for p in iom["participants"]} == {
        ("Dean Avery", "offender", None), ("Jordan Avery", "household_member", "child"),
        ("Kayla Avery", "household_member", "child")}
    asb = next(case for case in cases if case["case_type"] == "asb")
    assert {p["display_name"] for p in asb["participants"]} == {"Sam Okafor", "The Red Lion", "Mary Holt"}
    council = requests.get(system + f"/api/v1/cases/{asb['id']}", headers=headers["r.moore"])
    assert council.status_code == 200, "shared with the council's ASB team"
    notes = requests.get(system + f"/api/v1/cases/{asb['id']}/notes", headers=headers[demo.DEMO_SIGN_IN]).json()
    assert len(notes["items"]) == 3
    # Risk: the Okafor case high and signed off by the hub's supervisor; the IOM case awaiting sign-off (once each).
    assert asb["risk"]["level"] == "high" and asb["risk"]["signed_off"] is True
    assert iom["risk"]["level"] == "medium" and iom["risk"]["signed_off"] is False
    risks = requests.get(system + f"/api/v1/cases/{asb['id']}/risk-assessments",
                         headers=headers[demo.DEMO_SIGN_IN]).json()["items"]
    assert [(r["score"], r["signed_off_by"]["display_name"]) for r in risks] == [(16, "Inspector Priya Shah")]
    # The ASB toolkit: a CPW issued and breached, then a CPN; Mary Holt's three complaints raised a Community Trigger.
    powers = requests.get(system + f"/api/v1/cases/{asb['id']}/powers", headers=headers[demo.DEMO_SIGN_IN]).json()
    assert sorted((p["power"], p["status"], len(p["breaches"])) for p in powers["items"]) == [
        ("cpn", "issued", 0), ("cpw", "breached", 1)]
    activations = requests.get(system + "/api/v1/community-trigger/activations",
                               headers=headers[demo.DEMO_SIGN_IN]).json()["items"]
    assert len(activations) == 1 and [c["id"] for c in activations[0]["cases"]] == [asb["id"]]
    # Actions across agencies (issue 13): the council's ASB team has two, the police one overdue.
    council_actions = requests.get(system + "/api/v1/me/actions", headers=headers["r.moore"]).json()
    assert len(council_actions["items"]) == 2 and council_actions["counts"]["overdue"] == 0
    asb_actions = requests.get(system + f"/api/v1/cases/{asb['id']}/actions",
                               headers=headers[demo.DEMO_SIGN_IN]).json()["items"]
    assert len(asb_actions) == 3 and [a["overdue"] for a in asb_actions].count(True) == 1
    police = requests.get(system + "/api/v1/me/actions", headers=headers[demo.DEMO_SIGN_IN]).json()
    assert police["counts"] == {"active": 3, "overdue": 1, "due_this_week": police["counts"]["due_this_week"]}


def test_seed_gives_the_mash_a_morning_in_every_state(system, service_config, tmp_path):
    """The Leeds MASH's demo referrals (concord_common/demo_mash.py), seeded once however often seed runs."""
    env = dict(os.environ, AMQP_URI=service_config("permissions")["AMQP_URI"], CONCORD_VAR=str(tmp_path),
               DATABASE_PREFIX="seedmash", **support.key_env())
    concord = str(Path(sys.executable).parent / "concord")
    for _ in range(2):
        run = subprocess.run([concord, "seed", "--url", system], capture_output=True, text=True, env=env, timeout=180)
        assert run.returncode == 0, run.stderr
    token = requests.post(system + "/api/v1/sessions", json={"username": "l.okoro",
                                                              "password": demo.DEMO_PASSWORD}).json()["token"]
    board = requests.get(system + "/api/v1/mash/dashboard", headers={"Authorization": f"Bearer {token}"}).json()
    assert board["awaiting_triage"] == 1 and board["by_rag"] == {"red": 1, "amber": 1, "green": 1}
    assert board["decided_today"] == 1
    assert [item["count"] for item in board["research_outstanding"]] == [1]
