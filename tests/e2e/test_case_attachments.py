"""Documents on cases, through the real gateway, RabbitMQ and PostgreSQL: the attachment mechanism profiles
use (concord_common.attachments), so the same rules — type from the bytes, size limit, audited downloads —
with the case's access and a line on its timeline.

The system runs once for the module with small limits: the cases service takes files up to 64 KiB and the
gateway up to 256 KiB (the gap shows the service checks again).
"""
import hashlib
import uuid

import pytest
import requests

from tests import support
from tests.e2e.directory import Api, Directory, bootstrap_admin, sign_in
from tests.e2e.test_attachments import refused, upload_to
from tests.e2e.test_web_profiles import Browser, error_summary, text_of
from tests.unit.test_attachment_sniffing import EXE, JPEG, PDF, PNG, TEXT

SERVICE_LIMIT, GATEWAY_LIMIT = 64 * 1024, 256 * 1024
LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint ASB casework agreed at the community safety partnership."


@pytest.fixture(scope="module")
def system_module(request):
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_case_files",
                              {"cases": {"ATTACHMENT_MAX_BYTES": SERVICE_LIMIT},
                               "gateway": {"ATTACHMENT_MAX_BYTES": GATEWAY_LIMIT}}) as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    admin = bootstrap_admin(url, config)
    police, council = Directory(url, admin), Directory(url, admin)
    people = {"lead": police.user("lead", [(police.hub, "practitioner")]),
              "other team": police.user("npt", [(police.npt, "practitioner")]),
              "viewer": council.user("asb", [(council.hub, "practitioner")])}
    apis = {name: sign_in(url, user["username"]) for name, user in people.items()}
    return {"url": url, "admin": admin, "police": police, "council": council, "apis": apis, "people": people}


def open_case(api, **body):
    return api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise and threats, Canal Wharf",
                                              **body}), 201)


def upload(api, case_id, data, filename="file.bin", content_type=None, **fields):
    return upload_to(api, f"cases/{case_id}", data, filename, content_type, **fields)


def listed(api, case_id):
    return api.ok(api.get(f"/api/v1/cases/{case_id}/attachments"))["items"]


def test_add_list_download_and_the_timeline(world):
    lead = world["apis"]["lead"]
    case = open_case(lead)
    cid = case["id"]
    created = upload(lead, cid, PDF, "Strategy meeting – Zoë.pdf", "application/pdf",
                     description="Minutes of the partnership meeting")
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "case_id", "filename", "content_type", "size", "sha256", "kind", "description",
                         "uploaded_by", "uploaded_at", "download"}
    assert body["case_id"] == cid and body["filename"] == "Strategy meeting – Zoë.pdf"
    assert body["content_type"] == "application/pdf" and body["kind"] == "document"
    assert body["size"] == len(PDF) and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["download"] == f"/api/v1/cases/{cid}/attachments/{body['id']}"
    assert created.headers["Location"] == body["download"]
    assert listed(lead, cid) == [body]

    download = lead.get(body["download"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Strategy meeting _ Zoe.pdf"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["ETag"] == f'"{body["sha256"]}"'

    timeline = lead.ok(lead.get(f"/api/v1/cases/{cid}/timeline"))["items"]
    assert timeline[0]["kind"] == "document" and "Strategy meeting – Zoë.pdf" in timeline[0]["summary"]
    assert timeline[0]["ref"] == {"type": "attachment", "id": body["id"]}
    # A document is not a change to the case itself.
    assert lead.ok(lead.get(f"/api/v1/cases/{cid}"))["version"] == case["version"]


def test_the_type_comes_from_the_bytes(world):
    lead = world["apis"]["lead"]
    cid = open_case(lead)["id"]
    unlabelled = lead.ok(upload(lead, cid, PNG, "scan", "application/octet-stream"), 201)
    assert unlabelled["content_type"] == "image/png" and unlabelled["filename"] == "scan.png"
    assert lead.ok(upload(lead, cid, JPEG, "../../IMG_1.jpeg"), 201)["filename"] == "IMG_1.jpeg"
    text = lead.get(lead.ok(upload(lead, cid, TEXT, "notes.txt", "text/plain"), 201)["download"])
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_bad_files_are_refused_naming_the_field_and_nothing_is_written(world):
    lead = world["apis"]["lead"]
    cid = open_case(lead)["id"]
    message = refused(upload(lead, cid, PNG, "report.pdf"), 422)                      # mislabelled
    assert ".pdf" in message and "PNG" in message
    assert "application/pdf" in refused(upload(lead, cid, PNG, "photo.png", "application/pdf"), 422)
    assert "does not accept" in refused(upload(lead, cid, EXE, "setup.exe"), 422)
    assert "empty" in refused(upload(lead, cid, b"", "empty.pdf", "application/pdf"), 422)
    # Past the cases service's limit (within the gateway's), and past the gateway's: as for profiles.
    assert "64 KiB" in refused(upload(lead, cid, PDF + b"0" * SERVICE_LIMIT, "big.pdf", "application/pdf"), 422)
    assert "256 KiB" in refused(upload(lead, cid, PDF + b"0" * (GATEWAY_LIMIT * 2), "huge.pdf"), 422)
    refused(upload(lead, cid, PDF, "a.pdf", kind="photo"), 422, field="kind")        # cases have no photo
    refused(upload(lead, cid, PDF, "a.pdf", description="x" * 2001), 422, field="description")
    refused(lead.post(f"/api/v1/cases/{cid}/attachments", {"file": "aGVsbG8="}), 400)   # not multipart
    assert listed(lead, cid) == []
    assert [e["kind"] for e in lead.ok(lead.get(f"/api/v1/cases/{cid}/timeline"))["items"]] == ["opened"]
    at_limit = upload(lead, cid, PDF + b"0" * (SERVICE_LIMIT - len(PDF)), "full.pdf", "application/pdf")
    assert at_limit.status_code == 201, at_limit.text


def test_documents_follow_the_cases_access(world):
    apis, council = world["apis"], world["council"]
    lead = apis["lead"]
    cid = open_case(lead)["id"]
    other_cid = open_case(lead)["id"]
    document = lead.ok(upload(lead, cid, PDF, "referral.pdf"), 201)
    other_document = lead.ok(upload(lead, other_cid, PDF, "other.pdf"), 201)
    lead.ok(lead.post(f"/api/v1/cases/{cid}/grants", {
        "grantee_type": "team", "grantee_id": council.hub["id"], "level": "view", "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)
    missing = apis["other team"].get(f"/api/v1/cases/{uuid.uuid4()}/attachments/{uuid.uuid4()}")

    def not_found(response):
        assert response.status_code == 404, response.text
        assert response.content == missing.content

    outsider = apis["other team"]            # the same organisation's other team: no grant
    not_found(outsider.get(document["download"]))
    not_found(outsider.get(f"/api/v1/cases/{cid}/attachments"))
    not_found(upload(outsider, cid, PDF, "mine.pdf"))

    viewer = apis["viewer"]
    assert viewer.get(document["download"]).content == PDF
    assert [item["id"] for item in listed(viewer, cid)] == [document["id"]]
    assert upload(viewer, cid, PDF, "mine.pdf").status_code == 403         # may see the case; may only view
    not_found(viewer.get(other_document["download"]))                      # a case not shared with them
    # Document ids: another case's, a random one, a malformed one — all the same 404.
    not_found(lead.get(f"/api/v1/cases/{cid}/attachments/{other_document['id']}"))
    not_found(lead.get(f"/api/v1/cases/{cid}/attachments/{uuid.uuid4()}"))
    not_found(lead.get(f"/api/v1/cases/{cid}/attachments/not-a-uuid"))
    assert [item["id"] for item in listed(lead, cid)] == [document["id"]]


def test_partner_clients_need_the_cases_scopes(world):
    admin, lead = world["admin"], world["apis"]["lead"]

    def client(scopes):
        made = admin.ok(admin.post("/api/v1/api-clients", {"name": f"partner {uuid.uuid4().hex[:6]}",
                                                           "organisation_id": world["police"].org["id"],
                                                           "scopes": scopes}), 201)
        token = requests.post(world["url"] + "/api/v1/oauth/token", json={
            "grant_type": "client_credentials", "client_id": made["client_id"],
            "client_secret": made["client_secret"]}, timeout=15).json()["access_token"]
        return Api(world["url"], token)
    cid = open_case(lead)["id"]
    document = lead.ok(upload(lead, cid, PDF, "referral.pdf"), 201)
    writer, reader, profiles_only = (client(["cases:read", "cases:write"]), client(["cases:read"]),
                                     client(["profiles:read", "profiles:write"]))
    assert reader.get(document["download"]).content == PDF
    assert upload(reader, cid, PDF, "from partner.pdf").status_code == 403
    assert writer.ok(upload(writer, cid, PNG, "from partner.png", "image/png"), 201)["content_type"] == "image/png"
    assert profiles_only.get(document["download"]).status_code == 403
    assert upload(profiles_only, cid, PDF, "x.pdf").status_code == 403


def test_uploads_and_downloads_are_in_the_case_audit_log(world):
    lead = world["apis"]["lead"]
    cid = open_case(lead)["id"]
    document = lead.ok(upload(lead, cid, PDF, "referral.pdf"), 201)
    assert lead.get(document["download"]).status_code == 200
    refused(upload(lead, cid, PNG, "mislabelled.pdf"), 422)                 # refused: no event

    def trail():
        items = lead.ok(lead.get(f"/api/v1/audit/records/cases/{cid}"))["items"]
        return items if {"attachment_added", "attachment_downloaded"} <= {item["action"] for item in items} else None
    items = support.wait_for(trail, message="document events in the case's audit log")
    added = [item for item in items if item["action"] == "attachment_added"]
    downloaded = [item for item in items if item["action"] == "attachment_downloaded"]
    assert len(added) == 1 and len(downloaded) == 1
    assert added[0]["event_type"] == "case.attachment_added"
    assert downloaded[0]["event_type"] == "case.attachment_downloaded"


# -- the case page ------------------------------------------------------------------------------------------------
def web_upload(browser, case_id, name, data, **fields):
    return browser.post(browser.url + f"/cases/{case_id}/attachments", allow_redirects=False, timeout=15,
                        data={**fields, "csrf_token": browser.csrf}, files={"file": (name, data)})


def test_the_case_page_adds_lists_and_downloads_documents(world):
    lead, url = world["apis"]["lead"], world["url"]
    browser = Browser(url, world["people"]["lead"]["username"])
    cid = open_case(lead)["id"]
    page = browser.page(f"/cases/{cid}")
    assert "No documents." in page.text and 'enctype="multipart/form-data"' in page.text

    added = web_upload(browser, cid, "referral.pdf", PDF, description="Referral from the housing officer")
    assert added.status_code == 303 and added.headers["Location"].endswith("?uploaded=1#documents")
    words = text_of(browser.page(f"/cases/{cid}?uploaded=1").text)
    assert "Document added" in words and "referral.pdf" in words and "Referral from the housing officer" in words
    assert "Document added: referral.pdf" in words                                    # on the timeline
    file_id = listed(lead, cid)[0]["id"]
    document = browser.page(f"/cases/{cid}/attachments/{file_id}")
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["Content-Disposition"].startswith("attachment;")

    refused_page = web_upload(browser, cid, "scan.pdf", PNG)
    assert refused_page.status_code == 422
    assert [href for href, _ in error_summary(refused_page.text)] == ["#document-file"]
    assert 'class="govuk-file-upload govuk-file-upload--error"' in refused_page.text
    assert len(listed(lead, cid)) == 1

    outsider = Browser(url, world["people"]["other team"]["username"])
    hidden = outsider.page(f"/cases/{cid}/attachments/{file_id}")
    missing = outsider.page(f"/cases/{uuid.uuid4()}/attachments/{uuid.uuid4()}")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert web_upload(outsider, cid, "x.pdf", PDF).status_code == 404
    assert len(listed(lead, cid)) == 1
