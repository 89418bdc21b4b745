"""`concord admin create` and `concord seed`, as an operator runs them."""
import os
import subprocess
import sys
from pathlib import Path

import requests

from concord_common import demo
from tests import support

BIN = Path(sys.executable).parent


def concord(args, env_overrides, stdin=""):
    env = dict(os.environ, **env_overrides)
    return subprocess.run([str(BIN / "concord"), *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120)


def test_admin_create_makes_a_system_admin_and_resets_a_password(system, service_config, tmp_path):
    env = {"AMQP_URI": service_config("permissions")["AMQP_URI"], **support.key_env()}
    weak = concord(["admin", "create", "--username", "ops", "--password-stdin"], env, "password\n")
    assert weak.returncode == 2 and "password" in weak.stderr

    made = concord(["admin", "create", "--username", "ops", "--password-stdin"], env, "a-long-operator-passphrase\n")
    assert made.returncode == 0, made.stderr
    assert "created" in made.stdout
    session = requests.post(system + "/api/v1/sessions", json={"username": "ops",
                                                               "password": "a-long-operator-passphrase"})
    assert session.status_code == 201
    token = session.json()["token"]
    assert "system_admin" in requests.get(system + "/api/v1/me",
                                          headers={"Authorization": f"Bearer {token}"}).json()["roles"]

    reset = concord(["admin", "create", "--username", "ops", "--password-stdin"], env, "another-long-passphrase\n")
    assert reset.returncode == 0 and "updated" in reset.stdout
    assert requests.get(system + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert requests.post(system + "/api/v1/sessions", json={"username": "ops", "password":
                                                            "another-long-passphrase"}).status_code == 201


def test_seed_loads_the_demo_directory_and_profiles_once(system, service_config, tmp_path):
    env = {"AMQP_URI": service_config("permissions")["AMQP_URI"], "CONCORD_VAR": str(tmp_path), **support.key_env(),
           "DATABASE_PREFIX": "seedtest"}
    first = concord(["seed", "--url", system], env)
    assert first.returncode == 0, first.stderr
    assert demo.DEMO_SIGN_IN in first.stdout and demo.DEMO_PASSWORD in first.stdout
    again = concord(["seed", "--url", system], env)
    assert again.returncode == 0, again.stderr
    session = requests.post(system + "/api/v1/sessions", json={"username": demo.DEMO_SIGN_IN,
                                                               "password": demo.DEMO_PASSWORD})
    assert session.status_code == 201, session.text
    organisations = requests.get(system + "/api/v1/organisations",
                                 headers={"Authorization": "Bearer " + session.json()["token"]}).json()["items"]
    names = [organisation["name"] for organisation in organisations]
    assert len([name for name in names if name == "West Yorkshire Police"]) == 1
    assert {"Leeds City Council", "Park View Academy", "Leeds Teaching Hospitals NHS Trust",
            "Leeds Homes Housing Association"} <= set(names)
