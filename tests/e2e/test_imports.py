"""Bulk import through the gateway (docs/imports.md), on the whole system: upload (multipart), 202, poll the job to
done, a second import of the same file changes nothing, 10,000 rows with one bad row, the 4xx of files that are not
CSV or JSON lines or are too large, and who may start an import and read it (a matrix)."""
import json
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in

MAX_BYTES = 3 * 1024 * 1024
HEADER = "external_system,external_id,given_name,family_name,date_of_birth,nhs_number,address_line1,address_postcode,flags"


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    overrides = {"profiles": {"IMPORT_POLL_SECONDS": 0.2, "IMPORT_MAX_BYTES": MAX_BYTES},
                 "gateway": {"IMPORT_MAX_BYTES": MAX_BYTES}}
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_imports", overrides) as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    force, council = Directory(url, admin), Directory(url, admin)
    importer = force.user("imp", [(force.hub, "practitioner")])
    org_admin = force.user("oadm", [], roles=("org_admin",))
    other = council.user("oth", [(council.hub, "practitioner")])
    return {
        "url": url, "force": force, "council": council,
        "importer": sign_in(url, importer["username"]), "org_admin": sign_in(url, org_admin["username"]),
        "other_org": sign_in(url, other["username"]),
        "client": client_api(url, admin, force.org["id"], ["profiles:read", "profiles:write"]),
        "read_client": client_api(url, admin, force.org["id"], ["profiles:read"]),
        "other_client": client_api(url, admin, council.org["id"], ["profiles:read", "profiles:write"]),
    }


LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def client_api(url, admin, organisation_id, scopes) -> Api:
    """A partner system's API access that signs in again when its token expires (a long import outlives one:
    the job goes on as its starter all the same)."""
    client = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                         "organisation_id": organisation_id, "scopes": scopes}), 201)
    api = Api(url)

    def renew():
        api.token = requests.post(url + "/api/v1/oauth/token", timeout=15, json={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}).json()["access_token"]
    api.renew = renew
    renew()
    return api


def csv_rows(system: str, count: int, start: int = 1) -> list[str]:
    """People spread over dates of birth and postcodes as real ones are (not 10,000 at one address)."""
    def postcode(n):
        return f"LS{n % 20 + 1} {n % 9 + 1}{LETTERS[n // 9 % 20]}{LETTERS[n // 180 % 20]}"
    return [f"{system},R{n},Ima{n},Porter{system[-4:]},{date(1950, 1, 1) + timedelta(days=n * 7 % 20000)},,"
            f"{n} Mill Lane,{postcode(n)}," for n in range(start, start + count)]


def upload(api, content: bytes, filename="people.csv", **fields):
    return requests.post(api.url + "/api/v1/imports", headers=api.headers(), timeout=60,
                         files={"file": (filename, content)}, data={"kind": "profiles", **fields})


def wait_done(api, location: str, seconds: float = 240) -> dict:
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        response = api.get(location)
        if response.status_code == 401 and hasattr(api, "renew"):
            api.renew()
            continue
        job = api.ok(response)
        seen.append(job["rows_done"])
        if job["status"] in ("done", "failed"):
            job["progress_seen"] = seen
            return job
        time.sleep(0.3)
    raise AssertionError(f"the import did not finish in {seconds} s: {job}")


def test_an_import_runs_to_done_and_the_same_file_again_changes_nothing(world):
    api, system = world["importer"], f"force-{uuid.uuid4().hex[:6]}"
    content = ("\n".join([HEADER] + csv_rows(system, 25)) + "\n").encode()
    started = upload(api, content)
    assert started.status_code == 202, started.text
    body = started.json()
    assert set(body) == {"id", "status"} and body["status"] == "queued"
    assert started.headers["Location"] == f"/api/v1/imports/{body['id']}"
    job = wait_done(api, started.headers["Location"])
    assert {k: job[k] for k in ("status", "rows_total", "rows_done", "created", "updated", "failed", "errors")} == {
        "status": "done", "rows_total": 25, "rows_done": 25, "created": 25, "updated": 0, "failed": 0, "errors": []}

    found = api.ok(api.get("/api/v1/profiles", params={"q": f"Ima7 Porter{system[-4:]}"}))["items"]
    [profile] = [p for p in found if p.get("given_name") == "Ima7"]
    history = api.ok(api.get(f"/api/v1/profiles/{profile['id']}/history"))["items"]
    assert profile["owner"]["team_id"] == world["force"].hub["id"]

    again = wait_done(api, upload(api, content).headers["Location"])
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 25, 0)
    after = api.ok(api.get(f"/api/v1/profiles/{profile['id']}"))
    assert after["version"] == profile["version"]
    assert api.ok(api.get(f"/api/v1/profiles/{profile['id']}/history"))["items"] == history

    changed = content.replace(b"Ima7,", b"Imogen7,")
    third = wait_done(api, upload(api, changed).headers["Location"])
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 24)


@pytest.mark.timeout(1800)      # 10,000 rows through every service in this one process: minutes on a busy 2-core box
def test_ten_thousand_rows_with_one_bad_row_import_9999_and_report_the_one(world):
    client, system = world["client"], f"bulk-{uuid.uuid4().hex[:6]}"
    rows = csv_rows(system, 10000)
    rows[4321] = f"{system},R4322,Ima,Porter,1990-01-01,1234567890,1 Mill Lane,LS1 4AP,"     # bad NHS number
    content = ("\n".join([HEADER] + rows) + "\n").encode()
    started = upload(client, content, owner_team_id=world["force"].hub["id"])
    assert started.status_code == 202, started.text
    job = wait_done(client, started.headers["Location"], seconds=1700)
    assert (job["status"], job["rows_total"], job["rows_done"], job["created"], job["failed"]) == \
        ("done", 10000, 10000, 9999, 1)
    [error] = job["errors"]
    assert (error["row"], error["field"]) == (4322, "nhs_number") and "NHS number" in error["message"]
    assert len(set(job["progress_seen"])) > 2            # progress was seen moving, batch by batch


def test_json_lines_are_imported_and_a_bad_field_named_by_its_path(world):
    api, system = world["importer"], f"jl-{uuid.uuid4().hex[:6]}"
    good = {"external_ref": {"system": system, "id": "1"}, "kind": "person", "given_name": "Jay",
            "family_name": "Lines", "aliases": [{"given_name": "J", "family_name": "Lines"}]}
    bad = {**good, "external_ref": {"system": system, "id": "2"}, "date_of_birth": "not a date"}
    content = "\n".join(json.dumps(x) for x in (good, bad)).encode()
    job = wait_done(api, upload(api, content, filename="people.jsonl").headers["Location"])
    assert (job["created"], job["failed"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in job["errors"]] == [(2, "date_of_birth")]


@pytest.mark.parametrize("content, fields, status, field", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", {}, 422, "file"),
    (b"%PDF-1.4 \xe2\xe3\xcf\xd3 not text at all \xff\xfe", {}, 422, "file"),
    (b"name;address\nfoo;bar\n", {}, 422, "file"),
    (b"external_system,external_id,favourite_colour\nf,1,blue\n", {}, 422, "file"),
    (b"external_system,external_id,given_name\n", {}, 422, "file"),
    (b"A" * (MAX_BYTES + 1), {}, 422, "file"),
    (HEADER.encode() + b"\nf,1,A,B,,,,,\n", {"kind": "cases"}, 422, "kind"),
    (HEADER.encode() + b"\nf,1,A,B,,,,,\n", {"kind": ""}, 422, "kind"),
], ids=["png", "pdf", "not csv", "unknown column", "header only", "over the limit", "unknown kind", "no kind"])
def test_a_file_that_is_not_csv_or_json_lines_or_too_large_is_refused(world, content, fields, status, field):
    response = upload(world["importer"], content, **fields)
    assert response.status_code == status, response.text
    assert field in response.json()["errors"], response.text


def test_an_upload_that_is_not_a_file_part_is_a_400(world):
    api = world["importer"]
    assert requests.post(api.url + "/api/v1/imports", headers=api.headers(), data={"kind": "profiles"},
                         timeout=15).status_code == 400
    assert api.post("/api/v1/imports", {"kind": "profiles"}).status_code == 400        # JSON, not multipart


def test_who_may_start_an_import_and_who_may_read_it(world):
    content = ("\n".join([HEADER] + csv_rows(f"who-{uuid.uuid4().hex[:6]}", 2)) + "\n").encode()
    team = {"owner_team_id": world["force"].hub["id"]}
    starts = {
        "importer (practitioner)": (world["importer"], {}, 202),
        "same-org admin in no team": (world["org_admin"], {}, 403),
        "client with profiles:write": (world["client"], team, 202),
        "client with profiles:read only": (world["read_client"], team, 403),
        "other org's client naming our team": (world["other_client"], team, 422),
        "anonymous": (type(world["importer"])(world["url"]), {}, 401),
    }
    outcomes = {who: upload(api, content, **fields).status_code for who, (api, fields, _) in starts.items()}
    assert outcomes == {who: expected for who, (_, _, expected) in starts.items()}

    location = upload(world["importer"], content).headers["Location"]
    reads = {"importer": (world["importer"], 200), "same-org admin": (world["org_admin"], 200),
             "same-org client": (world["client"], 200), "other org": (world["other_org"], 404),
             "other org's client": (world["other_client"], 404), "same-org client, read only": (world["read_client"], 403)}
    seen = {who: api.get(location).status_code for who, (api, _) in reads.items()}
    assert seen == {who: expected for who, (_, expected) in reads.items()}
    unknown = world["importer"].get(f"/api/v1/imports/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.content == world["other_org"].get(location).content
