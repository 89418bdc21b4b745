"""Who reads the audit log, through the gateway: an access matrix, pages, filters, exports, usage, verify.

The record owners (profiles, cases) are stand-ins that keep the contract of
`<service>.check_access(record_type, record_id, "audit")`: members of the
owning team may, others in the owner's organisation are refused (403),
anyone else may not know the record exists (404). The directory, the audit
service and the gateway are the real ones. (test_audit_records.py asks the
real profiles service.)
"""
import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import requests

from concord_common.context import Caller
from concord_common.errors import Forbidden, NotFound
from concord_common.service import CallContext, rpc
from tests import support
from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.integration.test_audit_ingest import SIGNING_KEY, make_event, private_vhost

NOWHERE = "00000000-0000-0000-0000-000000000000"
RECORDS: dict = {}      # (record type, id) -> {"team_id", "organisation_id"}


class _Owner:
    context = CallContext()

    @rpc
    def ping(self):
        return {"service": self.name}

    @rpc
    def check_access(self, record_type, record_id, action):
        assert action == "audit"
        caller: Caller = self.context.caller
        record = RECORDS.get((record_type, record_id))
        if record is None:
            raise NotFound()
        owner = {"organisation_id": record["organisation_id"], "team_id": record["team_id"]}
        if caller.kind == "user" and record["team_id"] in caller.team_ids():
            return {"allowed": True, "level": "edit", "owner": owner}
        if caller.kind == "client" and caller.organisation_id == record["organisation_id"]:
            return {"allowed": True, "level": "view", "owner": owner}
        if caller.organisation_id == record["organisation_id"]:
            raise Forbidden("Not your team's record.")
        raise NotFound()


class StandInProfiles(_Owner):
    name = "profiles"


class StandInCases(_Owner):
    name = "cases"


@pytest.fixture(scope="module")
def amqp_uri(broker_root):
    """This module's own vhost: its made-up events reach no other test's queues."""
    with private_vhost(broker_root, "audit-reading") as uri:
        yield uri


@pytest.fixture(scope="module")
def world(amqp_uri, database_server, database_prefix, tmp_path_factory):
    from nameko.runners import ServiceRunner

    from gateway.service import GatewayService
    from services.audit.service import AuditService
    from services.permissions.service import PermissionsService

    port = support.free_port()

    def config(component, **overrides):
        return support.config_for(component, amqp_uri, database_server, database_prefix, **overrides)

    audit_db = f"{database_prefix}_audit_reading"
    runners = []
    for cfg, classes in (
            (config("permissions"), [PermissionsService]),
            (config("audit", DATABASE_NAME=audit_db, AUDIT_SIGNING_KEY=SIGNING_KEY,
                    AUDIT_CHECKPOINT_DIR=str(tmp_path_factory.mktemp("checkpoints"))), [AuditService]),
            (config("profiles"), [StandInProfiles, StandInCases]),
            (config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"), [GatewayService])):
        runner = ServiceRunner(cfg)
        for cls in classes:
            runner.add_service(cls)
        runner.start()
        runners.append(runner)
    url = f"http://127.0.0.1:{port}"
    try:
        root = bootstrap_admin(url, config("permissions"), username=f"root-{uuid.uuid4().hex[:6]}")
        a, b = Directory(url, root), Directory(url, root)
        people = {
            "pat": a.user("pat", [(a.hub, "practitioner")]),
            "sue": a.user("sue", [(a.hub, "supervisor")]),
            "sam": a.user("sam", [(a.npt, "supervisor")]),
            "ada": a.user("ada", [(a.npt, "practitioner")], roles=["org_admin"]),
            "ola": b.user("ola", [(b.npt, "practitioner")], roles=["org_admin"]),
            "oscar": b.user("oscar", [(b.hub, "supervisor")]),
        }
        apis = {name: sign_in(url, person["username"]) for name, person in people.items()}
        apis["root"] = root
        apis["client"] = partner(url, root, a.org["id"], ["profiles:read", "audit:read"])
        apis["client_without_audit"] = partner(url, root, a.org["id"], ["profiles:read"])
        records = {"P": ("profile", str(uuid.uuid4()), a, a.hub), "F": ("family", str(uuid.uuid4()), a, a.hub),
                   "C": ("case", str(uuid.uuid4()), a, a.hub), "Q": ("profile", str(uuid.uuid4()), b, b.hub)}
        for record_type, record_id, directory, team in records.values():
            RECORDS[(record_type, record_id)] = {"team_id": team["id"], "organisation_id": directory.org["id"]}
        pat = Caller(kind="user", id=people["pat"]["id"], organisation_id=a.org["id"],
                     teams=({"id": a.hub["id"], "role": "practitioner"},))
        oscar = Caller(kind="user", id=people["oscar"]["id"], organisation_id=b.org["id"],
                       teams=({"id": b.hub["id"], "role": "supervisor"},))
        events = []
        for key, (record_type, record_id, directory, team) in records.items():
            caller = oscar if key == "Q" else pat
            owner = {"organisation_id": directory.org["id"], "team_id": team["id"]}
            source = "cases" if record_type == "case" else "profiles"
            for action, extra in (("created", {}), ("viewed", {}), ("viewed", {}),
                                  ("updated", {"fields": {"family_name": {"before": "Lee", "after": "Li"}},
                                               "reason": "spelling"}),
                                  ("viewed", {"source_ip": "=cmd|' /C calc'!A0"})):
                events.append(make_event(f"{record_type}.{action}", {"record": {"type": record_type, "id": record_id},
                                                                     "owner": owner, **extra},
                                         caller=caller, source=source))
        events.append(make_event("profile.searched", {"terms": {"family_name": "Lee"}}, caller=pat))
        publish(amqp_uri, events)
        wait_until_recorded(config("audit", DATABASE_NAME=audit_db), events)
        yield {"url": url, "apis": apis, "people": people, "records": records, "a": a, "b": b, "events": events,
               "amqp_uri": amqp_uri, "pat": pat}
    finally:
        list(eventlet.GreenPool().imap(lambda runner: runner.stop(), runners))


def partner(url, admin, organisation_id, scopes) -> Api:
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"Partner {uuid.uuid4().hex[:6]}",
                                                          "organisation_id": organisation_id, "scopes": scopes}), 201)
    token = requests.post(url + "/api/v1/oauth/token", json={"grant_type": "client_credentials",
                                                             "client_id": client["client_id"],
                                                             "client_secret": client["client_secret"]})
    assert token.status_code == 200, token.text
    return Api(url, token.json()["access_token"])


def publish(amqp_uri, events):
    publisher = support.SignedPublisher(amqp_uri)
    try:
        for event in events:
            publisher.publish(f"{event['source']}.events", event["type"], event, {})
    finally:
        publisher.close()


KIND_PATHS = {"profile": "profiles", "family": "families", "case": "cases"}


def record_path(record) -> str:
    record_type, record_id = record[0], record[1]
    return f"/api/v1/audit/records/{KIND_PATHS[record_type]}/{record_id}"


def wait_until_recorded(audit_config, events):
    from sqlalchemy import create_engine, func, select

    from services.audit.models import AuditEntry
    engine = create_engine(support.database_url_for(audit_config))
    ids = [event["id"] for event in events]

    def recorded():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.event_id.in_(ids))).scalar() == len(ids)
    try:
        support.wait_for(recorded, timeout=30, message="the events through audit")
    finally:
        engine.dispose()


# -- the matrix -------------------------------------------------------------------------
RECORD_MATRIX = {
    #            P      F      C      Q      missing
    "pat":    (200,   200,   200,   404,   404),
    "sue":    (200,   200,   200,   404,   404),
    "sam":    (403,   403,   403,   404,   404),
    "ada":    (403,   403,   403,   404,   404),    # org admins run the directory; they do not read case files
    "ola":    (404,   404,   404,   403,   404),
    "oscar":  (404,   404,   404,   200,   404),
    "root":   (404,   404,   404,   404,   404),
    "client": (200,   200,   200,   404,   404),
    "client_without_audit": (403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("who", list(RECORD_MATRIX))
def test_record_log_access_matrix(world, who):
    api = world["apis"][who]
    targets = [world["records"][key] for key in ("P", "F", "C", "Q")] + [("profile", NOWHERE)]
    answers = tuple(api.get(record_path(target)).status_code for target in targets)
    assert answers == RECORD_MATRIX[who]


def test_a_record_nobody_may_see_answers_exactly_like_one_that_does_not_exist(world):
    sam, pat = world["apis"]["sam"], world["apis"]["pat"]
    hidden = pat.get(record_path(world["records"]["Q"]))
    missing = pat.get(record_path(("profile", NOWHERE)))
    bad_kind = pat.get(f"/api/v1/audit/records/people/{world['records']['P'][1]}")
    not_an_id = pat.get("/api/v1/audit/records/profiles/not-an-id")
    assert hidden.status_code == missing.status_code == bad_kind.status_code == not_an_id.status_code == 404
    assert hidden.content == missing.content == bad_kind.content == not_an_id.content
    assert sam.get(record_path(world["records"]["P"])).status_code == 403


USER_MATRIX = {
    # reading pat's activity: their supervisor, their org admin, system admins
    "pat": 403, "sue": 200, "sam": 403, "ada": 200, "ola": 404, "oscar": 404, "root": 200,
    "client": 403, "client_without_audit": 403,
}


@pytest.mark.parametrize("who", list(USER_MATRIX))
def test_user_activity_access_matrix(world, who):
    api = world["apis"][who]
    assert api.get(f"/api/v1/audit/users/{world['people']['pat']['id']}").status_code == USER_MATRIX[who]


def test_an_unknown_user_is_404_and_activity_is_what_they_did(world):
    sue = world["apis"]["sue"]
    assert sue.get(f"/api/v1/audit/users/{NOWHERE}").status_code == 404
    page = sue.ok(sue.get(f"/api/v1/audit/users/{world['people']['pat']['id']}", params={"limit": 500}))
    assert page["items"] and all(item["actor_id"] == world["people"]["pat"]["id"] for item in page["items"])
    assert {"created", "viewed", "updated", "searched"} <= {item["action"] for item in page["items"]}
    searched = [item for item in page["items"] if item["action"] == "searched"]
    assert searched[0]["details"]["terms"] == {"family_name": "Lee"}


ORGANISATION_MATRIX = {
    #        export A  export B  usage A  usage B  verify
    "pat":    (403,     403,     403,     403,     403),
    "sue":    (403,     403,     403,     403,     403),
    "ada":    (200,     403,     200,     403,     403),
    "ola":    (403,     200,     403,     200,     403),
    "root":   (200,     200,     200,     200,     200),
    "client": (403,     403,     403,     403,     403),
}


@pytest.mark.parametrize("who", list(ORGANISATION_MATRIX))
def test_export_usage_and_verify_access_matrix(world, who):
    api = world["apis"][who]
    org_a, org_b = world["a"].org["id"], world["b"].org["id"]
    answers = (api.get(f"/api/v1/audit/organisations/{org_a}/export").status_code,
               api.get(f"/api/v1/audit/organisations/{org_b}/export").status_code,
               api.get("/api/v1/audit/usage", params={"organisation_id": org_a}).status_code,
               api.get("/api/v1/audit/usage", params={"organisation_id": org_b}).status_code,
               api.get("/api/v1/audit/verify").status_code)
    assert answers == ORGANISATION_MATRIX[who]


# -- what comes back ---------------------------------------------------------------------
def test_a_record_log_names_who_did_what_when_and_why(world):
    sue, record = world["apis"]["sue"], world["records"]["P"]
    page = sue.ok(sue.get(record_path(record), params={"limit": 500}))
    mine = [item for item in page["items"] if item["event_type"] != "audit.read"]
    assert [item["action"] for item in mine] == ["created", "viewed", "viewed", "updated", "viewed"]
    updated = mine[3]
    assert updated["fields"] == {"family_name": {"before": "Lee", "after": "Li"}} and updated["reason"] == "spelling"
    assert updated["actor"]["id"] == world["people"]["pat"]["id"]
    assert updated["record"] == {"type": "profile", "id": record[1]}
    assert updated["at"].endswith("Z") and len(updated["at"]) == len("2025-01-01T00:00:00.000000Z")
    assert [item["seq"] for item in page["items"]] == sorted(item["seq"] for item in page["items"])
    assert page["next_cursor"] is None


def test_pages_follow_the_cursor_and_filters_narrow_them(world):
    sue, record = world["apis"]["sue"], world["records"]["C"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "action": "viewed", **({"cursor": cursor} if cursor else {})}
        page = sue.ok(sue.get(record_path(record), params=params))
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [item["action"] for item in seen] == ["viewed"] * 3
    assert len({item["seq"] for item in seen}) == 3
    later = sue.ok(sue.get(record_path(record), params={"from": "2999-01-01"}))
    assert later["items"] == []
    earlier = sue.ok(sue.get(record_path(record), params={"to": "2000-01-01T00:00:00Z"}))
    assert earlier["items"] == []


@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not-ours"}, "cursor"), ({"from": "yesterday"}, "from"),
    ({"from": "2025-02-01", "to": "2025-01-01"}, "to"), ({"colour": "blue"}, "colour"),
])
def test_bad_query_parameters_are_named(world, params, field):
    sue = world["apis"]["sue"]
    response = sue.get(record_path(world["records"]["P"]), params=params)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_reading_the_log_is_itself_recorded(world):
    sue, record = world["apis"]["sue"], world["records"]["F"]
    sue.ok(sue.get(record_path(record), params={"action": "updated"}))

    def reads():
        page = sue.ok(sue.get(record_path(record), params={"action": "read", "limit": 500}))
        return [item for item in page["items"] if item["actor"]["id"] == world["people"]["sue"]["id"]
                and item["details"].get("query", {}).get("action") == "updated"]
    [read] = support.wait_for(reads, message="the audit.read entry")
    assert read["event_type"] == "audit.read" and read["details"]["view"] == "record"
    assert read["record_owner_organisation_id"] == world["a"].org["id"]


def test_an_organisation_export_as_json_and_as_csv(world):
    ada, org_a = world["apis"]["ada"], world["a"].org["id"]
    page = ada.ok(ada.get(f"/api/v1/audit/organisations/{org_a}/export", params={"limit": 5000}))
    ours = {world["records"][key][1] for key in ("P", "F", "C")}
    record_ids = {item["record"]["id"] for item in page["items"] if item["record"]}
    assert ours <= record_ids and world["records"]["Q"][1] not in record_ids
    assert all(item["record_owner_organisation_id"] == org_a for item in page["items"])

    response = ada.get(f"/api/v1/audit/organisations/{org_a}/export", params={"format": "csv", "limit": 4})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4 and rows[0]["seq"]
    assert response.headers["X-Next-Cursor"] and 'rel="next"' in response.headers["Link"]
    following = ada.get(f"/api/v1/audit/organisations/{org_a}/export",
                        params={"format": "csv", "limit": 4, "cursor": response.headers["X-Next-Cursor"]})
    assert int(list(csv.DictReader(io.StringIO(following.text)))[0]["seq"]) > int(rows[-1]["seq"])

    everything = ada.get(f"/api/v1/audit/organisations/{org_a}/export", params={"format": "csv", "limit": 5000})
    cells = [row["source_ip"] for row in csv.DictReader(io.StringIO(everything.text)) if row["source_ip"]]
    assert cells and all(cell.startswith("'=") for cell in cells)      # no formulas for spreadsheets

    def exported():
        again = ada.ok(ada.get(f"/api/v1/audit/organisations/{org_a}/export",
                               params={"action": "exported", "limit": 5000}))
        return [item for item in again["items"] if item["actor"]["id"] == world["people"]["ada"]["id"]]
    assert support.wait_for(exported, message="the audit.exported entries")


def test_usage_counts_page_views_and_visits(world):
    pat, org_a, root = world["pat"], world["a"].org["id"], world["apis"]["root"]
    day = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
    record = {"type": "profile", "id": world["records"]["P"][1]}
    at = [day, day + timedelta(minutes=5), day + timedelta(minutes=10),            # visit 1: 3 views
          day + timedelta(hours=2), day + timedelta(hours=2, minutes=20),          # visit 2: a view, an update
          day + timedelta(days=1)]                                                 # visit 3, the next day: a search
    actions = ["viewed", "viewed", "viewed", "viewed", "updated", "searched"]
    events = [make_event(f"profile.{action}", {"record": record}, caller=pat, at=moment)
              for action, moment in zip(actions, at)]
    publish(world["amqp_uri"], events)
    window = {"organisation_id": org_a, "from": "2024-05-01", "to": "2024-05-03"}

    def figures():
        answer = world["apis"]["ada"].ok(world["apis"]["ada"].get("/api/v1/audit/usage", params=window))
        return answer if answer["totals"]["visits"] == 3 else None
    usage = support.wait_for(figures, message="usage figures")
    assert usage["totals"] == {"page_views": 5, "visits": 3, "users": 1, "pages_per_visit": 1.67,
                               "minutes_per_visit": 10.0}
    [user] = usage["users"]
    assert user["user_id"] == pat.id and user["page_views"] == 5 and user["visits"] == 3
    assert [(item["period"], item["visits"], item["page_views"]) for item in usage["series"]] == [
        ("2024-05-01", 2, 4), ("2024-05-02", 1, 1)]
    assert usage["organisations"][0]["organisation_id"] == org_a
    weekly = root.ok(root.get("/api/v1/audit/usage", params={**window, "interval": "week"}))
    assert [(item["period"], item["visits"]) for item in weekly["series"]] == [("2024-04-29", 3)]
    assert root.get("/api/v1/audit/usage", params={**window, "interval": "hour"}).status_code == 422


def test_verify_answers_for_the_whole_chain(world):
    root = world["apis"]["root"]
    result = root.ok(root.get("/api/v1/audit/verify"))
    assert result["ok"] is True, result
    assert result["entries"] == result["head_seq"] > 0 and len(result["head"]) == 64
    assert "first_bad_seq" not in result and result["checkpoints_verified"] >= 0


def test_concord_audit_export_writes_an_organisations_log(world, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    concord = Path(sys.executable).parent / "concord"
    env = dict(os.environ, AMQP_URI=world["amqp_uri"], **support.key_env())
    org_a = world["a"].org["id"]
    out = tmp_path / "export.csv"
    done = subprocess.run([str(concord), "audit", "export", "--organisation", org_a, "--format", "csv",
                           "--action", "updated", "-o", str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 3 and {row["action"] for row in rows} == {"updated"}
    assert "exported 3 audit entries" in done.stderr

    lines = subprocess.run([str(concord), "audit", "export", "--organisation", org_a, "--format", "json",
                            "--from", "2000-01-01"], env=env, capture_output=True, text=True, timeout=120)
    assert lines.returncode == 0, lines.stderr
    items = [json.loads(line) for line in lines.stdout.splitlines()]
    assert items and all(item["record_owner_organisation_id"] == org_a for item in items)

    refused = subprocess.run([str(concord), "audit", "export", "--organisation", org_a, "--from", "soon"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "from" in refused.stderr
