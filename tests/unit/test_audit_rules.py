"""Audit rules without a broker or database: event mapping, signatures, who may read, cursors, queries, CSV."""
import base64
import csv
import io
from datetime import datetime, timezone

import pytest

from concord_common.audit_client import CSV_COLUMNS, to_csv
from concord_common.context import Caller
from concord_common.db import event_envelope
from concord_common.errors import Forbidden, NotFound, ValidationFailed, load_or_fail
from services.audit import access, checkpoints, ingest, reading
from services.audit.schemas import ReadQuerySchema, UsageQuerySchema

PAT = Caller(kind="user", id="u-pat", organisation_id="org-a", teams=({"id": "hub", "role": "practitioner"},))


def event(event_type="profile.viewed", data=None, caller=PAT):
    return event_envelope(event_type.split(".")[0] + "s", event_type, data or {}, caller, "req-9")


# -- events to entries ------------------------------------------------------------------
def test_an_event_maps_to_an_entry():
    entry = ingest.entry_from_event(event("profile.updated", {
        "record": {"type": "profile", "id": "p-1"}, "owner": {"organisation_id": "org-a", "team_id": "hub"},
        "fields": {"name": {"before": "A", "after": "B"}}, "justification": "court order", "source_ip": "10.1.1.1"}))
    assert entry["action"] == "updated" and entry["event_type"] == "profile.updated" and entry["source"] == "profiles"
    assert entry["actor"] == {"kind": "user", "id": "u-pat", "organisation_id": "org-a", "teams": ["hub"]}
    assert (entry["actor_id"], entry["actor_organisation_id"]) == ("u-pat", "org-a")
    assert (entry["record_type"], entry["record_id"], entry["record_owner_organisation_id"]) == \
        ("profile", "p-1", "org-a")
    assert entry["fields"] == {"name": {"before": "A", "after": "B"}}
    assert (entry["reason"], entry["source_ip"], entry["outcome"], entry["page_view"]) == \
        ("court order", "10.1.1.1", "success", False)
    assert entry["request_id"] == "req-9" and entry["at"].tzinfo is not None


@pytest.mark.parametrize("event_type, data, outcome, page_view", [
    ("profile.viewed", {}, "success", True),
    ("profile.searched", {"terms": {"name": "x"}}, "success", True),
    ("user.login_failed", {}, "failure", False),
    ("case.viewed", {"outcome": "denied"}, "denied", True),
    ("notification.read", {"page_view": True}, "success", True),
])
def test_outcome_and_page_views(event_type, data, outcome, page_view):
    entry = ingest.entry_from_event(event(event_type, data))
    assert (entry["outcome"], entry["page_view"]) == (outcome, page_view)


def test_a_sign_in_names_the_user_although_nobody_was_signed_in_yet():
    entry = ingest.entry_from_event(event("user.login", {"record": {"type": "user", "id": "u-7"}}, caller=Caller()))
    assert entry["actor"]["kind"] == "anonymous" and entry["actor_id"] == "u-7"


def test_signals_between_services_are_not_entries():
    assert ingest.entry_from_event(event("principal.invalidated", {"user_ids": []})) is None


@pytest.mark.parametrize("missing", ["caller", "occurred_at", "type", "id", "data"])
def test_an_event_without_actor_time_or_action_is_refused_naming_it(missing):
    bad = event()
    del bad[missing]
    with pytest.raises(ValidationFailed) as refused:
        ingest.entry_from_event(bad)
    assert missing in refused.value.errors


@pytest.mark.parametrize("field, value", [("occurred_at", "2025-01-01T00:00:00"), ("occurred_at", "yesterday"),
                                          ("type", "nodot"), ("caller", {"id": "u-1"})])
def test_a_naive_time_a_bad_type_or_an_actor_without_kind_is_refused(field, value):
    bad = {**event(), field: value}
    with pytest.raises(ValidationFailed):
        ingest.entry_from_event(bad)


def test_data_that_is_not_json_is_refused():
    with pytest.raises(ValidationFailed):
        ingest.entry_from_event({**event(), "data": {"x": float("inf")}})


# -- signatures -------------------------------------------------------------------------
def test_checkpoints_are_signed_and_checked():
    signer = checkpoints.Signer(checkpoints.load_private_key(checkpoints.new_key_text()))
    payload = checkpoints.payload(10, "a" * 64, "2025-01-01T00:00:00.000000Z")
    signature = signer.sign(payload)
    assert checkpoints.signature_valid(signer.public_key, payload, signature)
    assert not checkpoints.signature_valid(signer.public_key, checkpoints.payload(11, "a" * 64,
                                                                                  "2025-01-01T00:00:00.000000Z"),
                                           signature)
    other = checkpoints.Signer(checkpoints.load_private_key(checkpoints.new_key_text()))
    assert not checkpoints.signature_valid(other.public_key, payload, signature)
    assert not checkpoints.signature_valid("not base64!", payload, signature)


def test_the_signing_key_comes_from_configuration_or_a_development_file(tmp_path, caplog):
    key = base64.b64encode(bytes(range(32))).decode()
    configured = checkpoints.Signer.from_config({"AUDIT_SIGNING_KEY": key})
    assert configured.public_key == checkpoints.public_key_text(checkpoints.load_private_key(key))
    with pytest.raises(ValueError):
        checkpoints.load_private_key("c2hvcnQ=")

    path = tmp_path / "audit" / "signing-key"
    config = {"AUDIT_SIGNING_KEY_FILE": str(path), "AUDIT_VERIFY_KEYS": "old-key-1, old-key-2"}
    assert checkpoints.trusted_keys(config) == {"old-key-1", "old-key-2"}      # verifying makes no key
    first = checkpoints.Signer.from_config(config)
    assert "AUDIT_SIGNING_KEY is not set" in caplog.text and path.exists()
    assert checkpoints.Signer.from_config(config).public_key == first.public_key  # the same file next time
    assert checkpoints.trusted_keys(config) == {first.public_key, "old-key-1", "old-key-2"}


def test_a_checkpoint_is_due_when_a_batch_crosses_the_mark():
    assert checkpoints.crosses_mark(990, 1010, 1000)
    assert checkpoints.crosses_mark(999, 1000, 1000)
    assert not checkpoints.crosses_mark(1000, 1999, 1000)


def test_checkpoint_file_lines_round_trip_and_bad_lines_are_reported(tmp_path):
    settings = checkpoints.Settings(directory=tmp_path, log_name="x_audit")
    line = {"seq": 5, "hash": "h", "at": "t", "public_key": "k", "signature": "s"}
    checkpoints.append_to_file(settings, line)
    with open(settings.file, "a") as handle:
        handle.write("{not json\n")
    found, unreadable = checkpoints.from_file(settings)
    assert found == [line] and unreadable == [f"{settings.file}:2"]


# -- who may read ----------------------------------------------------------------------------
SUE = Caller(kind="user", id="u-sue", organisation_id="org-a", teams=({"id": "hub", "role": "supervisor"},))
SAM = Caller(kind="user", id="u-sam", organisation_id="org-a", teams=({"id": "npt", "role": "supervisor"},))
SPOC = Caller(kind="user", id="u-spoc", organisation_id="org-a", teams=({"id": "hub", "role": "spoc"},))
ADA = Caller(kind="user", id="u-ada", organisation_id="org-a", roles=("org_admin",))
OLA = Caller(kind="user", id="u-ola", organisation_id="org-b", roles=("org_admin",))
ROOT = Caller(kind="user", id="u-root", organisation_id="ops", roles=("system_admin",))
CLIENT = Caller(kind="client", id="c-1", organisation_id="org-a", roles=("org_admin",), scopes=("audit:read",))
PAT_RECORD = {"id": "u-pat", "organisation_id": "org-a",
              "teams": [{"id": "hub", "name": "Hub", "role": "practitioner"}]}


@pytest.mark.parametrize("caller, allowed", [(SUE, True), (SAM, False), (SPOC, False), (ADA, True), (OLA, False),
                                             (ROOT, True), (PAT, False), (CLIENT, False)])
def test_who_may_read_a_users_activity(caller, allowed):
    assert access.may_read_user(caller, PAT_RECORD) is allowed


@pytest.mark.parametrize("caller, organisation, allowed", [(ADA, "org-a", True), (ADA, "org-b", False),
                                                           (OLA, "org-a", False), (ROOT, "org-b", True),
                                                           (SUE, "org-a", False), (CLIENT, "org-a", False),
                                                           (Caller(kind="system", id="system"), "x", True)])
def test_who_administers_an_organisations_log(caller, organisation, allowed):
    assert access.is_org_admin(caller, organisation) is allowed


class FakeRpc:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def call(self, service, method, *args):
        self.calls.append((service, method, *args))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("record_type, service", [("profile", "profiles"), ("family", "profiles"),
                                                  ("case", "cases")])
def test_the_owning_service_is_asked_about_a_record(record_type, service):
    rpc = FakeRpc({"allowed": True, "owner": {"organisation_id": "org-a"}})
    assert access.record_access(rpc, record_type, "r-1")["allowed"] is True
    assert rpc.calls == [(service, "check_access", record_type, "r-1", "audit")]


@pytest.mark.parametrize("answer, error", [(NotFound(), NotFound), (Forbidden("no"), Forbidden),
                                           ({"allowed": False}, Forbidden), (None, Forbidden)])
def test_the_owning_services_refusal_stands(answer, error):
    with pytest.raises(error):
        access.record_access(FakeRpc(answer), "profile", "r-1")


def test_a_record_type_nobody_owns_is_not_found():
    with pytest.raises(NotFound):
        access.record_access(FakeRpc({"allowed": True}), "widget", "r-1")


def test_user_activity_asks_the_directory_as_the_reader():
    rpc = FakeRpc(PAT_RECORD)
    assert access.user_access(rpc, SUE, "u-pat") == PAT_RECORD
    assert rpc.calls == [("permissions", "get_user", "u-pat")]
    with pytest.raises(Forbidden):
        access.user_access(FakeRpc(PAT_RECORD), SAM, "u-pat")
    with pytest.raises(NotFound):
        access.user_access(FakeRpc(NotFound()), OLA, "u-pat")
    with pytest.raises(Forbidden):
        access.user_access(FakeRpc(PAT_RECORD), CLIENT, "u-pat")


# -- queries and cursors -------------------------------------------------------------------------
def test_cursors_are_opaque_and_checked():
    cursor = reading.encode_cursor(1234)
    assert "1234" not in cursor and reading.decode_cursor(cursor) == 1234
    assert reading.decode_cursor(None) == 0
    for bad in ("1234", "a1.!!!", "a1." + base64.urlsafe_b64encode(b'{"after": -1}').decode(), "a1.e30"):
        with pytest.raises(ValidationFailed) as refused:
            reading.decode_cursor(bad)
        assert "cursor" in refused.value.errors


def test_read_queries_take_dates_times_limits_and_name_what_is_wrong():
    query = load_or_fail(ReadQuerySchema(), {"from": "2025-01-31", "to": "2025-02-01T09:30:00", "action": "viewed"})
    assert query["from_"] == datetime(2025, 1, 31, tzinfo=timezone.utc)
    assert query["to"] == datetime(2025, 2, 1, 9, 30, tzinfo=timezone.utc) and query["limit"] == 50
    for params, field in (({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"from": "soon"}, "from"),
                          ({"from": "2025-02-01", "to": "2025-01-01"}, "to"), ({"action": "DROP TABLE"}, "action"),
                          ({"what": "x"}, "what")):
        with pytest.raises(ValidationFailed) as refused:
            load_or_fail(ReadQuerySchema(), params)
        assert field in refused.value.errors, params
    usage = load_or_fail(UsageQuerySchema(), {"interval": "week"})
    assert usage["interval"] == "week" and usage["organisation_id"] is None


def test_csv_has_one_row_per_entry_and_defuses_formulas():
    item = {"seq": 1, "at": "2025-01-01T00:00:00.000000Z", "action": "viewed",
            "actor": {"kind": "user", "id": "u-1", "organisation_id": "o", "teams": ["t1", "t2"]},
            "record": {"type": "profile", "id": "p-1"}, "fields": {"a": {"before": 1, "after": 2}},
            "source_ip": "=HYPERLINK(\"x\")", "reason": "+1", "details": {}}
    rows = list(csv.DictReader(io.StringIO(to_csv([item]))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    row = rows[0]
    assert row["actor_teams"] == "t1 t2" and row["record_id"] == "p-1"
    assert row["fields"] == '{"a":{"after":2,"before":1}}' and row["details"] == ""
    assert row["source_ip"].startswith("'=") and row["reason"] == "'+1"
