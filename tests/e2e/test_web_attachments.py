"""Documents and photos on the profile page, as a browser without JavaScript uses them."""
import uuid

from tests.e2e.directory import Directory
from tests.e2e.test_web_profiles import Browser, error_summary, person, share, text_of
from tests.unit.test_attachment_sniffing import PDF, PNG


def upload(browser, profile_id, name, data, csrf=True, **fields):
    return browser.post(browser.url + f"/profiles/{profile_id}/attachments", allow_redirects=False, timeout=15,
                        data={**fields, **({"csrf_token": browser.csrf} if csrf else {})},
                        files={"file": (name, data)})


def test_add_a_document_and_a_photo_then_download_them(practitioner, system):
    pat = practitioner
    browser = Browser(system, pat.user["username"])
    profile = person(pat, "Nia", f"Page{uuid.uuid4().hex[:6]}")
    page = browser.page(f"/profiles/{profile['id']}")
    assert "No documents or photos." in page.text and 'enctype="multipart/form-data"' in page.text

    added = upload(browser, profile["id"], "referral.pdf", PDF, description="MASH referral")
    assert added.status_code == 303 and added.headers["Location"].endswith("?uploaded=1#documents")
    photo = upload(browser, profile["id"], "nia.png", PNG, kind="photo")
    assert photo.status_code == 303
    page = browser.page(f"/profiles/{profile['id']}?uploaded=1")
    words = text_of(page.text)
    assert "File added" in words and "referral.pdf" in words and "MASH referral" in words and "Photo" in words
    files = pat.ok(pat.get(f"/api/v1/profiles/{profile['id']}/attachments"))["items"]
    by_name = {item["filename"]: item for item in files}
    assert f'src="/profiles/{profile["id"]}/attachments/{by_name["nia.png"]["id"]}?inline=1"' in page.text

    document = browser.page(f"/profiles/{profile['id']}/attachments/{by_name['referral.pdf']['id']}")
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["Content-Disposition"].startswith("attachment;")
    image = browser.page(f"/profiles/{profile['id']}/attachments/{by_name['nia.png']['id']}?inline=1")
    assert image.content == PNG and image.headers["Content-Disposition"].startswith("inline;")
    pdf_inline = browser.page(f"/profiles/{profile['id']}/attachments/{by_name['referral.pdf']['id']}?inline=1")
    assert pdf_inline.headers["Content-Disposition"].startswith("attachment;")      # only pictures show inline


def test_a_refused_file_shows_the_error_and_writes_nothing(practitioner, system):
    pat = practitioner
    browser = Browser(system, pat.user["username"])
    profile = person(pat, "Oli", f"Page{uuid.uuid4().hex[:6]}")
    mislabelled = upload(browser, profile["id"], "scan.pdf", PNG)
    assert mislabelled.status_code == 422
    assert [href for href, _ in error_summary(mislabelled.text)] == ["#file"]
    assert 'class="govuk-file-upload govuk-file-upload--error"' in mislabelled.text
    not_a_photo = upload(browser, profile["id"], "notes.pdf", PDF, kind="photo")
    assert not_a_photo.status_code == 422 and error_summary(not_a_photo.text)[0][0] == "#file"
    forged = upload(browser, profile["id"], "referral.pdf", PDF, csrf=False)
    assert forged.status_code in (400, 403)
    assert pat.ok(pat.get(f"/api/v1/profiles/{profile['id']}/attachments"))["items"] == []


def test_files_are_for_those_who_may_see_the_profile(practitioner, system):
    pat = practitioner
    profile = person(pat, "Pip", f"Page{uuid.uuid4().hex[:6]}")
    pat.ok(pat.post(f"/api/v1/profiles/{profile['id']}/attachments",
                    files={"file": ("referral.pdf", PDF, "application/pdf")}), 201)
    file_id = pat.ok(pat.get(f"/api/v1/profiles/{profile['id']}/attachments"))["items"][0]["id"]
    elsewhere = Directory(system, pat.admin)
    viewer_org = Directory(system, pat.admin)
    outsider = Browser(system, elsewhere.user("out", [(elsewhere.hub, "practitioner")])["username"])
    viewer_user = viewer_org.user("vw", [(viewer_org.hub, "practitioner")])
    share(pat, profile["id"], "team", viewer_org.hub["id"], "view")
    viewer = Browser(system, viewer_user["username"])

    hidden = outsider.page(f"/profiles/{profile['id']}/attachments/{file_id}")
    missing = outsider.page(f"/profiles/{profile['id']}/attachments/{uuid.uuid4()}")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert upload(outsider, profile["id"], "x.pdf", PDF).status_code == 404
    assert viewer.page(f"/profiles/{profile['id']}/attachments/{file_id}").content == PDF
    page = viewer.page(f"/profiles/{profile['id']}")
    assert "referral.pdf" in page.text and "Add a document or photo" not in page.text
    assert upload(viewer, profile["id"], "x.pdf", PDF).status_code == 403
    assert len(pat.ok(pat.get(f"/api/v1/profiles/{profile['id']}/attachments"))["items"]) == 1
