"""Bulk import of profiles (services/profiles/imports.py, import_formats.py) on a real profiles database, no
broker: reading CSV and JSON lines, each bad row named by row and field, upsert by external reference that a
second run leaves untouched, resuming after a crash mid-file, who may start and who may read a job."""
import base64
import json
from datetime import date

import pytest
from sqlalchemy import func, select, text

from concord_common.context import Caller
from concord_common.errors import NotFound, ValidationFailed
from concord_common.messaging_tables import outbox
from services.profiles import bulk_create, import_formats, imports, profiles
from services.profiles.import_models import Import, ImportFile
from services.profiles.models import History, Profile
from tests.logic import world
from tests.logic.world import LEAD, ORG_A, ORG_B, PARTNER, TEAM_A1, TEAM_A2, TEAM_B1

HEADER = ("external_system,external_id,given_name,family_name,date_of_birth,nhs_number,pnc_id,address_line1,"
          "address_postcode,alias_given_name,alias_family_name,flags,roles")
NHS = ["9434765919", "9434765870", "4010232137", "4010232110", "9449304130"]   # valid check digits


def csv_file(rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header] + rows) + "\n").encode()


def good_row(n: int, nhs: str = "", given: str = "Avery") -> str:
    return f"force,P{n},{given}{n},Quill{n},2001-02-{(n % 27) + 1:02d},{nhs},,{n} Park Row,LS1 4AP,,,cse_risk,victim"


def upload(content: bytes, **extra) -> dict:
    return {"content": base64.b64encode(content).decode(), "filename": "people.csv", "kind": "profiles", **extra}


def start(uow, content: bytes, caller=LEAD, **extra) -> str:
    with uow(caller) as work:
        return imports.start_import(work, upload(content, **extra), world.Directory())["id"]


def run(engine, batch_rows=50, **kwargs) -> int:
    return imports.run_waiting(engine, world.Directory(), instance="test", batch_rows=batch_rows, **kwargs)


def status(engine, import_id, caller=LEAD) -> dict:
    with engine.connect() as conn:
        from sqlalchemy.orm import Session
        with Session(bind=conn) as session:
            return imports.get_import(session, caller, import_id)


def count(engine, query) -> int:
    with engine.connect() as conn:
        return conn.execute(query).scalar()


# -- reading files -----------------------------------------------------------------------------------------
def test_a_csv_row_becomes_the_apis_create_body_with_its_external_ref():
    [row] = import_formats.rows(csv_file([good_row(1, NHS[0])]), "csv")
    assert row.number == 1 and row.ref == {"system": "force", "id": "P1"}
    assert row.body == {"kind": "person", "given_name": "Avery1", "family_name": "Quill1",
                        "date_of_birth": "2001-02-02", "roles": ["victim"], "flags": ["cse_risk"],
                        "identifiers": [{"scheme": "nhs_number", "value": NHS[0]}],
                        "addresses": [{"line1": "1 Park Row", "postcode": "LS1 4AP"}], "aliases": []}
    assert row.field_name("identifiers.0.value") == "nhs_number"
    assert row.field_name("addresses.0.postcode") == "address_postcode"


def test_json_lines_rows_take_the_create_body_and_name_fields_by_path():
    lines = [json.dumps({"external_ref": {"system": "s", "id": "1"}, "kind": "person", "given_name": "A",
                         "family_name": "B"}), "", "not json", json.dumps({"kind": "person"}), "[1]"]
    rows = list(import_formats.rows("\n".join(lines).encode(), "jsonl"))
    assert [r.number for r in rows] == [1, 2, 3, 4]           # the blank line is not a row
    assert rows[0].body == {"kind": "person", "given_name": "A", "family_name": "B"}
    assert rows[1].error[0] is None and "not JSON" in rows[1].error[1]
    assert rows[2].error[0] == "external_ref"
    assert rows[3].error == (None, "Each line must be a JSON object.")
    assert rows[0].field_name("identifiers.0.value") == "identifiers.0.value"


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("é".encode("latin-1") * 10, "UTF-8"),
    (b"", "empty"),
    (b"hello world\nthis is prose\n", "header row"),
    (b"external_system,external_id,shoe_size\nf,1,9\n", "Unknown column: shoe_size"),
    (b"external_system,given_name,family_name\nf,A,B\n", "no external_id column"),
    (b"external_system,external_id\n", "no rows"),
    (b"external_system,external_id,external_id\nf,1,2\n", "named twice"),
], ids=["binary", "not utf-8", "empty", "prose", "unknown column", "no external_id", "header only", "twice"])
def test_a_file_that_is_not_a_csv_or_json_lines_of_profiles_is_refused_naming_file(content, says):
    with pytest.raises(ValidationFailed) as refused:
        import_formats.inspect(content)
    assert list(refused.value.errors) == ["file"] and says in refused.value.errors["file"][0]


# -- running an import ----------------------------------------------------------------------------------------
def test_an_import_creates_then_a_second_run_of_the_same_file_changes_nothing(uow, profiles_db):
    content = csv_file([good_row(n, NHS[n]) for n in range(3)])
    first = start(uow, content)
    assert status(profiles_db, first)["status"] == "queued"
    assert run(profiles_db) == 1
    done = status(profiles_db, first)
    assert {k: done[k] for k in ("status", "rows_total", "rows_done", "created", "updated", "unchanged",
                                  "failed", "errors")} == {
        "status": "done", "rows_total": 3, "rows_done": 3, "created": 3, "updated": 0, "unchanged": 0,
        "failed": 0, "errors": []}
    made = {p.external_id: p for p in _profiles(profiles_db)}
    assert set(made) == {"P0", "P1", "P2"}
    assert {(p.owner_team_id, p.created_by) for p in made.values()} == {(TEAM_A1, LEAD.id)}   # as the importer
    assert count(profiles_db, select(func.count()).select_from(ImportFile)) == 0      # the file is gone
    history, events = _history_and_events(profiles_db)
    assert events.get("profile.created") == 3

    second = start(uow, content)
    run(profiles_db)
    again = status(profiles_db, second)
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 3, 0)
    assert _history_and_events(profiles_db) == (history, events)        # no audit, no event
    assert {p.external_id: (p.version, p.updated_at) for p in _profiles(profiles_db)} == \
        {key: (p.version, p.updated_at) for key, p in made.items()}      # no version or updated_at bump


def test_a_changed_row_updates_only_that_profile_and_blank_cells_clear_what_the_header_states(uow, profiles_db):
    start(uow, csv_file([good_row(1, NHS[1]), good_row(2, NHS[2])]))
    run(profiles_db)
    changed = f"force,P2,Avery2,Quill2,,{NHS[2]},,2 Park Row,LS1 4AP,Ave,Q,,victim"
    job = start(uow, csv_file([good_row(1, NHS[1]), changed]))
    run(profiles_db)
    assert (lambda s: (s["created"], s["updated"], s["unchanged"]))(status(profiles_db, job)) == (0, 1, 1)
    p2 = next(p for p in _profiles(profiles_db) if p.external_id == "P2")
    assert p2.version == 2 and p2.date_of_birth is None
    with profiles_db.connect() as conn:
        created_at = conn.execute(select(History.changed_at).where(History.profile_id == p2.id,
                                                                   History.field == "created")).scalar()
        fields = set(conn.execute(select(History.field).where(History.profile_id == p2.id,
                                                              History.changed_at > created_at)).scalars())
    assert fields == {"date_of_birth", "aliases", "flags"}


def test_each_bad_row_is_reported_by_row_and_column_and_the_good_rows_are_imported(uow, profiles_db):
    rows = [good_row(n) for n in range(1, 8)]
    rows[1] = "force,P2,Avery,Quill,2001-02-03,1234567890,,1 Park Row,LS1 4AP,,,,"        # bad NHS number
    rows[3] = "force,P4,Avery,Quill,2001-02-03,,,1 Park Row,NOT A POSTCODE,,,,"            # bad postcode
    rows[4] = "force,,Avery,Quill,2001-02-03,,,1 Park Row,LS1 4AP,,,,"                     # no external_id
    rows[5] = "force,P6,,Quill,3001-02-03,,,,,,,unknown_flag,"                             # three problems
    job = start(uow, csv_file(rows))
    run(profiles_db, batch_rows=3)
    report = status(profiles_db, job)
    assert (report["created"], report["failed"], report["rows_done"]) == (3, 4, 7)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (2, "nhs_number"), (4, "address_postcode"), (5, "external_id"),
        (6, "given_name"), (6, "date_of_birth"), (6, "flags")] or \
        sorted((e["row"], e["field"]) for e in report["errors"]) == sorted([
            (2, "nhs_number"), (4, "address_postcode"), (5, "external_id"), (6, "given_name"),
            (6, "date_of_birth"), (6, "flags")])
    assert "check digit" in report["errors"][0]["message"]
    assert {p.external_id for p in _profiles(profiles_db)} == {"P1", "P3", "P7"}


def test_json_lines_import_names_the_json_path_of_a_bad_field(uow, profiles_db):
    good = {"external_ref": {"system": "s", "id": "1"}, "kind": "person", "given_name": "A", "family_name": "B",
            "identifiers": [{"scheme": "nhs_number", "value": NHS[0]}]}
    bad = {**good, "external_ref": {"system": "s", "id": "2"},
           "identifiers": [{"scheme": "nhs_number", "value": "1234567890"}]}
    job = start(uow, "\n".join(json.dumps(x) for x in (good, bad)).encode())
    run(profiles_db)
    report = status(profiles_db, job)
    assert report["format"] == "jsonl" and report["created"] == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "identifiers.0.value")]


def test_a_likely_duplicate_is_created_and_reported_with_its_candidates(uow, profiles_db):
    with uow(LEAD) as work:
        existing = world.person(work.session, "Avery1", "Quill1", date_of_birth=date(2001, 2, 2),
                                identifiers=[("nhs_number", NHS[0])]).id
    job = start(uow, csv_file([good_row(1, NHS[0])]))
    run(profiles_db)
    report = status(profiles_db, job)
    assert report["created"] == 1
    [likely] = report["possible_duplicates"]
    assert likely["row"] == 1 and likely["candidates"][0]["id"] == existing


def test_a_row_whose_reference_is_on_another_organisations_record_is_refused_not_overwritten(uow, profiles_db):
    with uow(PARTNER) as work:
        theirs = world.person(work.session, "Theirs", "Record", team=TEAM_B1, external_system="force",
                              external_id="P1")
    job = start(uow, csv_file([good_row(1)]))
    run(profiles_db)
    report = status(profiles_db, job)
    assert (report["created"], report["failed"]) == (0, 1)
    assert report["errors"][0]["field"] == "external_id"
    with profiles_db.connect() as conn:
        assert conn.execute(select(Profile.given_name).where(Profile.id == theirs.id)).scalar() == "Theirs"


def test_a_crash_mid_file_resumes_at_the_last_committed_batch_without_writing_twice(uow, profiles_db, monkeypatch):
    job = start(uow, csv_file([good_row(n) for n in range(1, 36)]))
    real = bulk_create.likely_duplicates

    def crash_with_row_25_written(work, views):       # the third batch's profiles are written, not committed
        if any(view["external_ref"]["id"] == "P25" for view in views):
            raise SystemExit("the replica is killed")
        return real(work, views)
    monkeypatch.setattr(bulk_create, "likely_duplicates", crash_with_row_25_written)
    with pytest.raises(SystemExit):
        run(profiles_db, batch_rows=10)
    midway = status(profiles_db, job)
    assert (midway["status"], midway["rows_done"], midway["created"]) == ("running", 20, 20)
    assert len(_profiles(profiles_db)) == 20                     # rows 21-30 rolled back with their batch
    monkeypatch.setattr(bulk_create, "likely_duplicates", real)
    assert run(profiles_db, batch_rows=10) == 0                  # its lease still holds: nobody takes it over
    with profiles_db.begin() as conn:
        conn.execute(text("UPDATE imports SET lease_until = now() - interval '1 second'"))
    assert imports.run_waiting(profiles_db, world.Directory(), instance="another replica", batch_rows=10) == 1
    done = status(profiles_db, job)
    assert (done["status"], done["rows_done"], done["created"], done["failed"]) == ("done", 35, 35, 0)
    assert sorted(int(p.external_id[1:]) for p in _profiles(profiles_db)) == list(range(1, 36))
    history, events = _history_and_events(profiles_db)
    assert events["profile.created"] == 35 and history["created"] == 35        # each written once


def test_a_reference_the_api_creates_meanwhile_sends_the_batch_row_by_row_with_nothing_doubled(uow, profiles_db,
                                                                                               monkeypatch):
    job = start(uow, csv_file([good_row(n) for n in range(1, 6)]))
    with uow(LEAD) as work:                 # the API writes P3 after the batch looked for known references
        profiles.create_profile(work, {"kind": "person", "given_name": "Avery3", "family_name": "Quill3"},
                                world.Directory(), external_ref={"system": "force", "id": "P3"})
    real, calls = imports.known_refs, []

    def missing_p3_the_first_time(session, batch):
        calls.append(1)
        return set() if len(calls) == 1 else real(session, batch)
    monkeypatch.setattr(imports, "known_refs", missing_p3_the_first_time)
    assert run(profiles_db) == 1 and len(calls) == 2           # the fast run refused, then row by row
    done = status(profiles_db, job)
    assert (done["status"], done["created"], done["updated"], done["failed"]) == ("done", 4, 1, 0)
    assert sorted(p.external_id for p in _profiles(profiles_db)) == ["P1", "P2", "P3", "P4", "P5"]
    history, events = _history_and_events(profiles_db)
    assert events["profile.created"] == 5 and history["created"] == 5 and events["profile.updated"] == 1


def test_a_replica_that_lost_its_lease_stops(uow, profiles_db):
    job = start(uow, csv_file([good_row(n) for n in range(1, 6)]))
    assert imports.claim_next(profiles_db, "one") == job
    with profiles_db.begin() as conn:
        conn.execute(text("UPDATE imports SET lease_until = now() - interval '1 second'"))
    assert imports.claim_next(profiles_db, "two") == job
    assert imports.run_import(profiles_db, job, world.Directory(), instance="one") == "lost"
    assert imports.run_import(profiles_db, job, world.Directory(), instance="two") == "done"


# -- who ------------------------------------------------------------------------------------------------------
CLIENT_A = world.client(ORG_A, "profiles:read", "profiles:write")


@pytest.mark.parametrize("caller, extra, outcome", [
    (LEAD, {}, "ok"),
    (CLIENT_A, {"owner_team_id": TEAM_A1}, "ok"),
    (CLIENT_A, {}, "422"),                                       # a client names the team
    (CLIENT_A, {"owner_team_id": TEAM_B1}, "422"),              # … of its own organisation
    (world.client(ORG_A, "profiles:read"), {"owner_team_id": TEAM_A1}, "403"),
    (LEAD, {"owner_team_id": TEAM_A2}, "422"),                  # not one of their teams
    (Caller(kind="user", id="u-two", organisation_id=ORG_A, teams=({"id": TEAM_A1}, {"id": TEAM_A2})), {}, "422"),
    (Caller(kind="user", id="u-two", organisation_id=ORG_A, teams=({"id": TEAM_A1}, {"id": TEAM_A2})),
     {"owner_team_id": TEAM_A2}, "ok"),
    (Caller(kind="user", id="u-admin", organisation_id=ORG_A, roles=("org_admin",)), {}, "403"),   # no team
    (Caller(), {}, "403"),
], ids=["practitioner", "client", "client names no team", "client names another's", "client without write",
        "not their team", "two teams, names none", "two teams, names one", "org admin in no team", "anonymous"])
def test_who_may_start_an_import(uow, caller, extra, outcome):
    content = csv_file([good_row(1)])
    assert world.outcome(uow, caller, lambda work: imports.start_import(
        work, upload(content, **extra), world.Directory())) == outcome


def test_a_client_import_creates_profiles_led_by_the_team_it_named(uow, profiles_db):
    start(uow, csv_file([good_row(1)]), caller=CLIENT_A, owner_team_id=TEAM_A1)
    run(profiles_db)
    [made] = _profiles(profiles_db)
    assert (made.owner_team_id, made.owner_organisation_id, made.created_by) == (TEAM_A1, ORG_A, CLIENT_A.id)


@pytest.mark.parametrize("reader, sees", [
    (LEAD, True),
    (Caller(kind="user", id="u-admin", organisation_id=ORG_A, roles=("org_admin",)), True),
    (world.COLLEAGUE, True),
    (CLIENT_A, True),
    (world.client(ORG_A, "profiles:read"), False),
    (PARTNER, False),
    (world.client(ORG_B, "profiles:read", "profiles:write"), False),
    (Caller(), False),
], ids=["importer", "same-org admin", "same-org colleague", "same-org client", "same-org client, read only",
        "other org", "other org's client", "anonymous"])
def test_only_the_importers_organisation_sees_an_import(uow, profiles_db, reader, sees):
    job = start(uow, csv_file([good_row(1)]))
    if sees:
        assert status(profiles_db, job, reader)["id"] == job
    else:
        with pytest.raises(NotFound):
            status(profiles_db, job, reader)
    with pytest.raises(NotFound):
        status(profiles_db, "not-an-id", reader)


def test_the_job_runs_as_its_starter_and_a_forged_caller_gains_nothing(uow, profiles_db):
    """The caller is stored at the start: a row may only update what that caller may edit."""
    with uow(PARTNER) as work:
        world.person(work.session, "Theirs", "Record", team=TEAM_B1, external_system="force", external_id="P9")
    job = start(uow, csv_file([good_row(9)]))
    with profiles_db.connect() as conn:
        stored = conn.execute(select(Import.caller).where(Import.id == job)).scalar()
    assert stored["id"] == LEAD.id and stored["teams"] == [{"id": TEAM_A1, "role": "practitioner"}]
    run(profiles_db)
    assert status(profiles_db, job)["failed"] == 1


# -- helpers ------------------------------------------------------------------------------------------------
def _profiles(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Profile.__table__)).all()


def _history_and_events(engine) -> tuple[dict, dict]:
    with engine.connect() as conn:
        history = dict(conn.execute(select(History.field, func.count()).group_by(History.field)).all())
        events = dict(conn.execute(select(outbox.c.event_type, func.count()).group_by(outbox.c.event_type)).all())
    return history, events
