"""A RabbitMQ outage (issue 11 item 10), against a throwaway broker node this test starts and stops.

While the broker is down the gateway answers 503 with Retry-After (never 500); a write committed meanwhile
is relayed from the outbox when it returns; and the system serves again within 10 seconds of that. The
figures are printed (pytest -s). Skipped where rabbitmq-server is not installed or the node cannot start.
"""
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from concord_common.context import Caller
from concord_common.db import unit_of_work
from concord_common.messaging_tables import outbox
from tests import support
from tests.brokers import ThrowawayBroker
from tests.e2e.directory import Directory, bootstrap_admin, sign_in

RECOVERY_LIMIT = 10.0
PERSON = {"kind": "person", "given_name": "Robin", "family_name": "Outage"}


@pytest.fixture
def broker(tmp_path):
    if not shutil.which("rabbitmq-server") and not Path("/usr/sbin/rabbitmq-server").exists():
        pytest.skip("rabbitmq-server is not installed")
    node = ThrowawayBroker(tmp_path / "rabbitmq")
    try:
        node.start()
    except (OSError, RuntimeError) as exc:
        node.stop()
        pytest.skip(f"a throwaway RabbitMQ node could not start: {exc}")
    try:
        yield node
    finally:
        node.stop()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_outage_answers_503_relays_committed_writes_and_recovers_within_10s(broker, database_server,
                                                                             database_prefix):
    overrides = {name: {"OUTBOX_POLL_INTERVAL": 1.0} for name in ("profiles", "audit")}
    with support.whole_system(broker.uri, database_server, f"{database_prefix}_outage", overrides) as (url, perms):
        admin = bootstrap_admin(url, perms)
        directory = Directory(url, admin)
        user = directory.user("pat", [(directory.hub, "practitioner")])
        api = sign_in(url, user["username"])
        profile = api.ok(api.post("/api/v1/profiles", PERSON), 201)
        read = f"/api/v1/profiles/{profile['id']}"

        def get(path):
            return requests.get(url + path, headers=api.headers(), timeout=20)

        def create():
            return requests.post(url + "/api/v1/profiles", json=PERSON, headers=api.headers(), timeout=20)
        assert get(read).status_code == 200

        broker.stop()
        print("broker stopped")
        answers = []
        for _ in range(4):                 # reads and writes, signed in, plus readiness
            for call in (lambda: get(read), create, lambda: requests.get(url + "/readyz", timeout=30)):
                response, seconds = timed(call)
                answers.append((response.status_code, round(seconds, 2), response.headers.get("Retry-After"),
                                response.headers.get("Content-Type")))
        print("during the outage:", answers)
        assert {status for status, *_ in answers} == {503}, answers
        assert all(retry for status, _, retry, _ in answers), answers
        assert all(kind == "application/problem+json" for *_, kind in answers), answers
        assert max(seconds for _, seconds, *_ in answers) < 5, answers

        # A write the profiles service committed while the broker was away: its event waits in the outbox.
        profiles_db = create_engine(support.database_url_for(
            support.config_for("profiles", broker.uri, database_server, f"{database_prefix}_outage")))
        caller = Caller(kind="user", id=user["id"], organisation_id=directory.org["id"],
                        teams=({"id": directory.hub["id"], "role": "practitioner"},))
        with unit_of_work(profiles_db, "profiles", caller, f"outage-{uuid.uuid4().hex[:8]}") as uow:
            committed = uow.add_event("profile.viewed", {"record": {"type": "profile", "id": profile["id"]},
                                                          "owner": {"organisation_id": directory.org["id"]}})

        def published_at():
            with profiles_db.connect() as conn:
                return conn.execute(select(outbox.c.published_at).where(outbox.c.id == committed["id"])).scalar()
        time.sleep(2)
        assert published_at() is None          # nothing to publish to

        back = broker.start()
        print(f"broker accepting connections again ({broker.uri})")

        def serving():
            try:
                return get(read).status_code == 200
            except requests.RequestException as exc:
                print("while recovering:", exc)
                return False
        support.wait_for(serving, timeout=30, interval=0.1, message="a read after the broker came back")
        recovered = time.monotonic() - back
        support.wait_for(published_at, timeout=30, interval=0.1, message="the committed event relayed")
        relayed = time.monotonic() - back
        write, write_seconds = timed(create)
        print(f"broker back: serving again after {recovered:.2f}s, outbox relayed after {relayed:.2f}s, "
              f"first write {write.status_code} in {write_seconds:.2f}s")
        profiles_db.dispose()
        assert recovered < RECOVERY_LIMIT
        assert relayed < RECOVERY_LIMIT
        assert write.status_code == 201, write.text
