"""Documents and photos on profiles, through the real gateway, RabbitMQ and PostgreSQL.

The system runs once for the module with small limits, so no test pushes 20 MB: the profiles service
takes files up to 64 KiB and the gateway up to 256 KiB (the gap shows the service checks again).
"""
import hashlib
import socket
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from tests import support
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_record_access import client_api
from tests.unit.test_attachment_sniffing import (ELF, EXE, GIF, JPEG, MAIL, PDF, PNG, RTF, TEXT, WEBP, odf, ole, ooxml,
                                               plain_zip)

SERVICE_LIMIT, GATEWAY_LIMIT = 64 * 1024, 256 * 1024
LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint safeguarding work agreed at the MASH strategy meeting."
NOWHERE = "00000000-0000-0000-0000-000000000000"

DOCX = ooxml("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml")
XLSX = ooxml("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml")
PPTX = ooxml("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
             "ppt/presentation.xml")
# (bytes, file name, declared Content-Type, the type Concord keeps)
EVERY_TYPE = [
    (PDF, "referral.pdf", "application/pdf", "application/pdf"),
    (PNG, "bruise.png", "image/png", "image/png"),
    (JPEG, "IMG_0412.JPG", "image/jpeg", "image/jpeg"),
    (GIF, "map.gif", "image/gif", "image/gif"),
    (WEBP, "door.webp", "image/webp", "image/webp"),
    (DOCX, "Strategy meeting.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (XLSX, "chronology.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (PPTX, "case review.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (ole("WordDocument", "1Table"), "old referral.doc", "application/msword", "application/msword"),
    (ole("Workbook"), "visits.xls", "application/vnd.ms-excel", "application/vnd.ms-excel"),
    (ole("PowerPoint Document"), "training.ppt", "application/vnd.ms-powerpoint", "application/vnd.ms-powerpoint"),
    (ole("__properties_version1.0", "__substg1.0_0037001F"), "Re - Ann.msg", "application/octet-stream",
     "application/vnd.ms-outlook"),
    (odf("application/vnd.oasis.opendocument.text"), "letter.odt", "application/vnd.oasis.opendocument.text",
     "application/vnd.oasis.opendocument.text"),
    (RTF, "notes.rtf", "application/rtf", "application/rtf"),
    (MAIL, "referral.eml", "message/rfc822", "message/rfc822"),
    (TEXT, "visit notes.txt", "text/plain", "text/plain"),
    (b"name,dob\nAnn Lee,2012-03-04\n", "export.csv", "text/csv", "text/plain"),
]


@pytest.fixture(scope="module")
def system_module(request):
    """The whole system in this process, once for the module, with small attachment limits."""
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_attach",
                              {"profiles": {"ATTACHMENT_MAX_BYTES": SERVICE_LIMIT},
                               "gateway": {"ATTACHMENT_MAX_BYTES": GATEWAY_LIMIT}}) as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    owner, partner = Directory(url, admin), Directory(url, admin)
    people = {"pat": owner.user("pat", [(owner.hub, "practitioner")]),
              "other team": owner.user("ot", [(owner.npt, "practitioner")]),
              "viewer": partner.user("vw", [(partner.hub, "practitioner")]),
              "revoked": partner.user("rv", [(partner.npt, "practitioner")])}
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    apis["pat"].user = people["pat"]
    apis["client read"] = client_api(url, admin, owner.org["id"], ["profiles:read"])
    apis["client write"] = client_api(url, admin, owner.org["id"], ["profiles:read", "profiles:write"])
    return {"url": url, "apis": apis, "owner": owner, "partner": partner}


def new_person(api, **extra):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": "Ann",
                                                "family_name": f"Lee{uuid.uuid4().hex[:6]}", **extra}), 201)


def upload_to(api, record_path, data, filename="file.bin", content_type=None, **fields):
    """POST a file (multipart, as a browser or a partner sends it) to /api/v1/<record_path>/attachments."""
    part = (filename, data, content_type) if content_type else (filename, data)
    return api.post(f"/api/v1/{record_path}/attachments", files={"file": part}, data=fields)


def upload(api, profile_id, data, filename="file.bin", content_type=None, **fields):
    return upload_to(api, f"profiles/{profile_id}", data, filename, content_type, **fields)


def listed(api, profile_id):
    return api.ok(api.get(f"/api/v1/profiles/{profile_id}/attachments"))


def refused(response, status, field="file"):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert set(response.json()["errors"]) == {field}, response.text
    return response.json()["errors"][field][0]


# -- the round trip ---------------------------------------------------------------------------------
def test_upload_list_download_round_trip(world):
    pat = world["apis"]["pat"]
    profile = new_person(pat)
    pid = profile["id"]
    created = upload(pat, pid, PDF, "Strategy meeting – Zoë.pdf", "application/pdf",
                     description="Minutes of the strategy meeting")
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "profile_id", "filename", "content_type", "size", "sha256", "kind", "description",
                         "uploaded_by", "uploaded_at", "download"}
    assert body["profile_id"] == pid and body["filename"] == "Strategy meeting – Zoë.pdf"
    assert body["content_type"] == "application/pdf" and body["kind"] == "document"
    assert body["size"] == len(PDF) and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["uploaded_by"] == pat.user["id"] and body["description"] == "Minutes of the strategy meeting"
    assert body["download"] == f"/api/v1/profiles/{pid}/attachments/{body['id']}"
    assert created.headers["Location"] == body["download"]

    assert listed(pat, pid) == {"items": [body], "next_cursor": None}

    download = pat.get(body["download"])
    assert download.status_code == 200
    assert download.content == PDF and hashlib.sha256(download.content).hexdigest() == body["sha256"]
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"Strategy meeting _ Zoe.pdf\"; "
        "filename*=UTF-8''Strategy%20meeting%20%E2%80%93%20Zo%C3%AB.pdf")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["ETag"] == f'"{body["sha256"]}"'
    # A document is not a change to the profile itself.
    assert pat.ok(pat.get(f"/api/v1/profiles/{pid}"))["version"] == profile["version"]


def test_every_accepted_type_is_kept_as_what_its_bytes_are(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    for data, filename, declared, kept in EVERY_TYPE:
        response = upload(pat, pid, data, filename, declared)
        assert response.status_code == 201, (filename, response.text)
        assert response.json()["content_type"] == kept, filename
        assert response.json()["filename"] == filename
        served = pat.get(response.json()["download"])
        assert served.content == data and served.headers["Content-Type"].split(";")[0] == kept
    assert len(listed(pat, pid)["items"]) == len(EVERY_TYPE)
    page = pat.ok(pat.get(f"/api/v1/profiles/{pid}/attachments", params={"limit": 5}))
    assert len(page["items"]) == 5 and page["next_cursor"] == "5"


def test_what_the_uploader_says_counts_for_nothing_but_must_not_contradict_the_bytes(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    unlabelled = pat.ok(upload(pat, pid, PNG, "scan", "application/octet-stream"), 201)
    assert unlabelled["content_type"] == "image/png" and unlabelled["filename"] == "scan.png"
    no_type = pat.ok(upload(pat, pid, JPEG, "../../etc/IMG_1.jpeg"), 201)
    assert no_type["content_type"] == "image/jpeg" and no_type["filename"] == "IMG_1.jpeg"
    text = pat.get(pat.ok(upload(pat, pid, TEXT, "notes.txt", "text/plain"), 201)["download"])
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"


# -- bad input: 400/422 naming the field, nothing written ----------------------------------------------
def test_a_mislabelled_file_is_refused_and_nothing_is_written(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    message = refused(upload(pat, pid, PNG, "report.pdf"), 422)
    assert ".pdf" in message and "PNG" in message
    message = refused(upload(pat, pid, PNG, "photo.png", "application/pdf"), 422)
    assert "application/pdf" in message and "PNG" in message
    refused(upload(pat, pid, PDF, "invoice.exe", "application/pdf"), 422)
    refused(upload(pat, pid, TEXT, "page.html", "text/html"), 422)
    assert listed(pat, pid)["items"] == []


@pytest.mark.parametrize("data, name", [(ELF, "tool"), (EXE, "setup.exe"), (EXE, "setup.pdf"), (plain_zip(), "a.zip"),
                                        (b"\x00\x01\x02 binary", "blob.bin")])
def test_a_type_concord_does_not_take_is_refused(world, data, name):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    assert "does not accept" in refused(upload(pat, pid, data, name), 422)
    assert listed(pat, pid)["items"] == []


def test_an_empty_file_is_refused(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    assert "empty" in refused(upload(pat, pid, b"", "empty.pdf", "application/pdf"), 422)
    assert listed(pat, pid)["items"] == []


def test_a_file_over_the_limit_is_refused_by_the_service_and_by_the_gateway(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    # Past the profiles service's limit, within the gateway's: the service checks again.
    assert "64 KiB" in refused(upload(pat, pid, PDF + b"0" * SERVICE_LIMIT, "big.pdf", "application/pdf"), 422)
    # Exactly at the limit is fine.
    at_limit = upload(pat, pid, PDF + b"0" * (SERVICE_LIMIT - len(PDF)), "full.pdf", "application/pdf")
    assert at_limit.status_code == 201, at_limit.text
    # Past the gateway's limit: refused from Content-Length.
    assert "256 KiB" in refused(upload(pat, pid, PDF + b"0" * (GATEWAY_LIMIT * 2), "huge.pdf"), 422)
    # Chunked (no Content-Length): this server cannot bound it, so it is refused unread.
    boundary = "concord-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()

    def chunks():
        yield head + PDF
        for _ in range(GATEWAY_LIMIT * 2 // 65536):
            yield b"0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()
    chunked = requests.post(world["url"] + f"/api/v1/profiles/{pid}/attachments", data=chunks(), timeout=15,
                            headers={**pat.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "Content-Length" in refused(chunked, 400)
    assert [item["filename"] for item in listed(pat, pid)["items"]] == ["full.pdf"]


def test_the_gateway_answers_an_oversized_upload_without_reading_the_body(world):
    """A 100 MB Content-Length, and only a few bytes sent: the 422 comes back at once."""
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    parts = urlsplit(world["url"])
    request = (f"POST /api/v1/profiles/{pid}/attachments HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Authorization: Bearer {pat.token}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
               f"Content-Length: {100 * 1024 * 1024}\r\n\r\n--b\r\n").encode()
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 422"), answer[:200]
    assert time.monotonic() - started < 5
    assert listed(pat, pid)["items"] == []


def test_the_default_limit_is_20_mib(monkeypatch):
    from concord_common.settings import component_config_path, load_config
    from gateway.routes import attachments as routes
    from services.profiles import attachments
    monkeypatch.delenv("ATTACHMENT_MAX_BYTES", raising=False)
    for component in ("gateway", "profiles"):
        assert load_config(component_config_path(component))["ATTACHMENT_MAX_BYTES"] == 20 * 1024 * 1024
    assert routes.DEFAULT_MAX_BYTES == attachments.DEFAULT_MAX_BYTES == 20 * 1024 * 1024
    assert load_config(component_config_path("gateway"))["ATTACHMENT_RPC_TIMEOUT"] > 10
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", "1048576")
    assert load_config(component_config_path("profiles"))["ATTACHMENT_MAX_BYTES"] == 1048576


def test_a_request_that_is_not_a_file_upload_is_400(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    path = f"/api/v1/profiles/{pid}/attachments"
    refused(pat.post(path, {"file": "aGVsbG8="}), 400)                                    # JSON
    refused(pat.post(path, data={"description": "no file"}, files={"other": ("a.pdf", PDF)}), 400)
    refused(pat.post(path, files={"file": (None, "not a file part")}), 400)                # a field, no filename
    refused(pat.post(path, files=[("file", ("a.pdf", PDF)), ("file", ("b.pdf", PDF))]), 400)
    refused(upload(pat, pid, PDF, "a.pdf", kind="poster"), 422, field="kind")
    refused(upload(pat, pid, PDF, "a.pdf", description="x" * 2001), 422, field="description")
    assert listed(pat, pid)["items"] == []
    assert requests.post(world["url"] + path, files={"file": ("a.pdf", PDF)}, timeout=15).status_code == 401


# -- photos ------------------------------------------------------------------------------------------------
def test_a_persons_photo_is_their_newest_photo_attachment(world):
    pat = world["apis"]["pat"]
    profile = new_person(pat)
    pid = profile["id"]
    assert profile["photo"] is None
    assert "photo must be" in refused(upload(pat, pid, PDF, "face.pdf", kind="photo"), 422)
    first = pat.ok(upload(pat, pid, JPEG, "face.jpg", "image/jpeg", kind="photo"), 201)
    assert first["kind"] == "photo"
    read = pat.ok(pat.get(f"/api/v1/profiles/{pid}"))
    assert read["photo"] == {"attachment_id": first["id"], "download": first["download"]}
    assert read["version"] == profile["version"] + 1
    pat.ok(upload(pat, pid, PDF, "later document.pdf"), 201)            # documents do not replace the photo
    second = pat.ok(upload(pat, pid, PNG, "newer.png", kind="photo"), 201)
    assert pat.ok(pat.get(f"/api/v1/profiles/{pid}"))["photo"]["attachment_id"] == second["id"]
    history = [h for h in pat.ok(pat.get(f"/api/v1/profiles/{pid}/history"))["items"] if h["field"] == "photo"]
    assert [(h["before"], h["after"]) for h in history] == [
        (None, {"attachment_id": first["id"]}), ({"attachment_id": first["id"]}, {"attachment_id": second["id"]})]
    assert pat.get(second["download"]).content == PNG

    premises = pat.ok(pat.post("/api/v1/profiles", {"kind": "premises", "name": "The Fleece"}), 201)
    refused(upload(pat, premises["id"], JPEG, "front.jpg", kind="photo"), 422, field="kind")
    assert pat.ok(upload(pat, premises["id"], JPEG, "front.jpg"), 201)["kind"] == "document"


# -- who may -------------------------------------------------------------------------------------------------
def grant(api, profile_id, team_id, level):
    return api.ok(api.post(f"/api/v1/profiles/{profile_id}/grants", {
        "grantee_type": "team", "grantee_id": team_id, "level": level, "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)


def test_only_those_who_may_see_the_profile_get_its_files(world):
    apis, owner, partner = world["apis"], world["owner"], world["partner"]
    pat = apis["pat"]
    pid = new_person(pat)["id"]
    other_pid = new_person(pat)["id"]
    attachment = pat.ok(upload(pat, pid, PDF, "referral.pdf"), 201)
    other_attachment = pat.ok(upload(pat, other_pid, PDF, "other.pdf"), 201)
    grant(pat, pid, partner.hub["id"], "view")
    revoked = grant(pat, pid, partner.npt["id"], "edit")
    assert pat.delete(f"/api/v1/profiles/{pid}/grants/{revoked['id']}").status_code == 204
    assert owner  # the same organisation's other team has no grant

    def not_found(response):
        missing = apis["other team"].get(f"/api/v1/profiles/{uuid.uuid4()}/attachments/{uuid.uuid4()}")
        assert response.status_code == 404, response.text
        assert response.content == missing.content and response.headers["Content-Type"] == \
            missing.headers["Content-Type"]

    for who in ("other team", "revoked"):
        api = apis[who]
        not_found(api.get(attachment["download"]))
        not_found(api.get(f"/api/v1/profiles/{pid}/attachments"))
        not_found(upload(api, pid, PDF, "mine.pdf"))

    viewer = apis["viewer"]
    assert viewer.get(attachment["download"]).content == PDF
    assert [item["id"] for item in listed(viewer, pid)["items"]] == [attachment["id"]]
    assert upload(viewer, pid, PDF, "mine.pdf").status_code == 403        # may know it exists; may only view
    not_found(viewer.get(other_attachment["download"]))                   # a profile not shared with them

    # Attachment ids: another profile's, a random one, a malformed one — all the same 404.
    not_found(pat.get(f"/api/v1/profiles/{pid}/attachments/{other_attachment['id']}"))
    not_found(pat.get(f"/api/v1/profiles/{pid}/attachments/{uuid.uuid4()}"))
    not_found(pat.get(f"/api/v1/profiles/{pid}/attachments/not-a-uuid"))
    not_found(pat.get(f"/api/v1/profiles/{NOWHERE}/attachments"))
    assert [item["id"] for item in listed(pat, pid)["items"]] == [attachment["id"]]


def test_partner_clients_within_their_scopes(world):
    apis = world["apis"]
    pat = apis["pat"]
    pid = new_person(pat, owner_team_id=world["owner"].hub["id"])["id"]
    attachment = pat.ok(upload(pat, pid, PDF, "referral.pdf"), 201)
    reader, writer = apis["client read"], apis["client write"]
    assert reader.get(attachment["download"]).content == PDF
    assert len(listed(reader, pid)["items"]) == 1
    assert upload(reader, pid, PDF, "from partner.pdf").status_code == 403
    added = writer.ok(upload(writer, pid, PNG, "from partner.png", "image/png"), 201)
    assert writer.get(added["download"]).content == PNG
    assert {item["id"] for item in listed(pat, pid)["items"]} == {attachment["id"], added["id"]}


# -- the audit trail --------------------------------------------------------------------------------------
def test_uploads_and_downloads_land_in_the_audit_trail(world):
    pat = world["apis"]["pat"]
    pid = new_person(pat)["id"]
    attachment = pat.ok(upload(pat, pid, PDF, "referral.pdf"), 201)
    assert pat.get(attachment["download"]).status_code == 200
    refused(upload(pat, pid, PNG, "mislabelled.pdf"), 422)                 # refused: no event

    def trail():
        items = pat.ok(pat.get(f"/api/v1/audit/records/profiles/{pid}"))["items"]
        actions = [item["action"] for item in items]
        return items if {"attachment_added", "attachment_downloaded"} <= set(actions) else None
    items = support.wait_for(trail, message="attachment events in the audit trail")
    added = [item for item in items if item["action"] == "attachment_added"]
    downloaded = [item for item in items if item["action"] == "attachment_downloaded"]
    assert len(added) == 1 and len(downloaded) == 1
    assert added[0]["actor"]["id"] == downloaded[0]["actor"]["id"] == pat.user["id"]
