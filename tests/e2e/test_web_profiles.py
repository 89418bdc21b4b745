"""The practitioners' profile pages (gateway/web/profile_pages.py) over HTTP, as a browser without
JavaScript uses them: a cookie session from the sign-in form, every POST with the session's CSRF token."""
import html
import re
import uuid

import requests

from tests.e2e.directory import PASSWORD, Directory, sign_in
from tests.support import new_nhs_number, unique_surname

NOWHERE = "00000000-0000-4000-8000-000000000000"
LAWFUL = "UK GDPR Art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18 (safeguarding)"
JUSTIFY = "Joint safeguarding work agreed at the MASH strategy meeting."


def csrf_field(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class Browser(requests.Session):
    """A cookie session signed in through the web form, like a browser without JavaScript."""

    def __init__(self, url, username):
        super().__init__()
        self.url = url
        form = self.get(url + "/sign-in")
        signed_in = self.post(url + "/sign-in", data={"username": username, "password": PASSWORD,
                                                      "csrf_token": csrf_field(form.text)}, allow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        self.csrf = csrf_field(self.get(url + "/").text)

    def page(self, path, **kw):
        return self.get(self.url + path, allow_redirects=False, timeout=15, **kw)

    def submit(self, path, data, csrf=True):
        return self.post(self.url + path, data={**data, **({"csrf_token": self.csrf} if csrf else {})},
                         allow_redirects=False, timeout=15)


def error_summary(page: str) -> list[tuple[str, str]]:
    block = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.S)
    if not block:
        return []
    return [(href, html.unescape(text)) for href, text in re.findall(r'<a href="(#[^"]+)">([^<]+)</a>', block.group(0))]


def rows(page: str) -> list[tuple[str, str]]:
    return re.findall(r'data-profile="([^"]+)" data-access="(full|signpost)"', page)


def text_of(page: str) -> str:
    """The page's words, tags dropped and whitespace squeezed (to assert what a reader sees)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def person(api, given, family, **details):
    return api.ok(api.post("/api/v1/profiles", {"kind": "person", "given_name": given, "family_name": family,
                                                 **details}), 201)


def share(api, profile_id, grantee_type, grantee_id, level):
    api.ok(api.post(f"/api/v1/profiles/{profile_id}/grants", {
        "grantee_type": grantee_type, "grantee_id": grantee_id, "level": level, "lawful_basis": LAWFUL,
        "justification": JUSTIFY}), 201)


def test_the_pages_send_people_who_are_not_signed_in_to_sign_in(system):
    for path in ("/profiles", "/profiles?q=Lee", "/profiles/new", f"/profiles/{NOWHERE}",
                 f"/profiles/{NOWHERE}/history", f"/profiles/{NOWHERE}/merge?duplicate_id={uuid.uuid4()}"):
        response = requests.get(system + path, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"].endswith("/sign-in"), path
    for path in ("/profiles/new", f"/profiles/{NOWHERE}/merge", f"/profiles/{NOWHERE}/unmerge",
                 f"/profiles/{NOWHERE}/request-access"):
        response = requests.post(system + path, data={"given_name": "A"}, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"].endswith("/sign-in"), path
    answer = requests.get(system + "/profiles", headers={"Authorization": "Bearer " + "x" * 40},
                          allow_redirects=False)
    assert answer.status_code == 303


def test_search_shows_full_rows_signposts_and_asks_for_access(practitioner, system):
    pat, surname = practitioner, unique_surname()
    mine = person(pat, "Ann", surname, date_of_birth="2012-03-04", flags=["risk_to_staff"],
                  addresses=[{"line1": "1 Park Row", "town": "Leeds", "postcode": "LS1 4AP"}])
    elsewhere = Directory(system, pat.admin, name=f"Leeds Council {uuid.uuid4().hex[:6]}")
    olu = sign_in(system, elsewhere.user("olu", [(elsewhere.hub, "practitioner")])["username"])
    theirs = person(olu, "Annie", surname, date_of_birth="2012-03-04", flags=["cse_risk"],
                    addresses=[{"line1": "9 Hill Top", "town": "Bradford", "postcode": "BD1 1AA"}])
    browser = Browser(system, pat.user["username"])

    blank = browser.page("/profiles")
    assert blank.status_code == 200 and "Search profiles" in blank.text and rows(blank.text) == []
    assert blank.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert blank.headers["Cache-Control"] == "no-store" and blank.headers["X-Frame-Options"] == "DENY"
    assert 'aria-current="page"' in blank.text and 'href="/profiles/new"' in blank.text     # the navigation

    found = browser.page("/profiles", params={"q": surname})
    assert found.status_code == 200
    assert dict(rows(found.text)) == {mine["id"]: "full", theirs["id"]: "signpost"}
    full_row = re.search(rf'data-profile="{mine["id"]}".*?</tr>', found.text, re.S).group(0)
    assert f'href="/profiles/{mine["id"]}"' in full_row
    assert "4 March 2012" in full_row and "Under 18" in full_row and "LS1 4AP" in full_row
    assert "Risk to staff" in full_row and "govuk-tag" in full_row
    signpost_row = text_of(re.search(rf'data-profile="{theirs["id"]}".*?</tr>', found.text, re.S).group(0))
    assert f"Annie {surname}" in signpost_row and elsewhere.org["name"] in signpost_row
    assert "Request access" in signpost_row
    for secret in ("4 March 2012", "BD1 1AA", "exploitation", "Bradford"):
        assert secret not in signpost_row
    assert f'action="/profiles/{theirs["id"]}/request-access"' in found.text
    assert f'href="/profiles/{theirs["id"]}"' not in found.text

    # Asking for access: a reason is needed, the CSRF token too; asking twice is not an error.
    back = f"/profiles?q={surname}"
    assert browser.submit(f"/profiles/{theirs['id']}/request-access",
                          {"reason": "Joint visit next week", "return_to": back}, csrf=False).status_code == 403
    short = browser.submit(f"/profiles/{theirs['id']}/request-access",
                           {"reason": "pls", "return_to": back, "name": f"Annie {surname}"})
    assert short.status_code == 422
    assert error_summary(short.text) == [("#reason", "Reason must be 10 characters or more")]
    assert "pls</textarea>" in short.text
    asked = browser.submit(f"/profiles/{theirs['id']}/request-access",
                           {"reason": "Joint home visit with social care next week", "return_to": back})
    assert asked.status_code == 303 and asked.headers["Location"].startswith(back + "&requested=")
    told = browser.page(asked.headers["Location"])
    assert f"You have asked for access to Annie {surname}" in text_of(told.text)
    again = browser.submit(f"/profiles/{theirs['id']}/request-access",
                           {"reason": "Joint home visit with social care next week", "return_to": "https://x.test/"})
    assert again.status_code == 303 and again.headers["Location"].startswith("/profiles?")
    assert "You have already asked for access" in browser.page(again.headers["Location"]).text
    incoming = olu.ok(olu.get("/api/v1/access-requests", params={"direction": "incoming"}))["items"]
    assert [(r["record"]["id"], r["reason"]) for r in incoming] == \
        [(theirs["id"], "Joint home visit with social care next week")]
    mine_asked = browser.submit(f"/profiles/{mine['id']}/request-access",
                                {"reason": "I can already see this one", "return_to": back})
    assert mine_asked.status_code == 409 and error_summary(mine_asked.text)

    # Bad search input: the error summary, not a crash.
    for params, expected in (({"q": "x"}, [("#q", "Name must be 2 characters or more")]),
                             ({"q": ""}, [("#q", "Enter a name, date of birth, postcode or identifier to search")]),
                             ({"postcode": "nowhere"},
                              [("#postcode", "That is not a UK postcode (for example LS1 4AP)")]),
                             ({"date_of_birth-day": "31", "date_of_birth-month": "2", "date_of_birth-year": "2012"},
                              [("#date_of_birth-day", "Date of birth must be a real date")]),
                             ({"date_of_birth-day": "3", "date_of_birth-year": "2012"},
                              [("#date_of_birth-month", "Date of birth must include a month")])):
        bad = browser.page("/profiles", params=params)
        assert bad.status_code == 422, params
        assert error_summary(bad.text) == expected, params
        assert bad.text.count("govuk-form-group--error") == 1 and "<title>Error: " in bad.text

    # By date of birth (a GOV.UK date input) and postcode, one result a page, with the cursor.
    by_date = browser.page("/profiles", params={"q": surname, "date_of_birth-day": "4", "date_of_birth-month": "3",
                                                "date_of_birth-year": "2012", "limit": "1"})
    assert by_date.status_code == 200 and len(rows(by_date.text)) == 1
    following = re.search(r'href="([^"]+)" rel="next"', by_date.text).group(1)
    assert "date_of_birth=2012-03-04" in html.unescape(following) and "cursor=1" in following
    second = browser.page(html.unescape(following))
    assert len(rows(second.text)) == 1 and rows(second.text) != rows(by_date.text)
    assert 'rel="prev"' in second.text and 'value="2012"' in second.text
    by_postcode = browser.page("/profiles", params={"postcode": "ls1 4ap", "q": surname})
    assert rows(by_postcode.text)[0] == (mine["id"], "full")


def test_an_unseen_profile_and_a_random_id_get_the_same_page_not_found(practitioner, system):
    pat = practitioner
    elsewhere = Directory(system, pat.admin)
    olu = sign_in(system, elsewhere.user("olu", [(elsewhere.hub, "practitioner")])["username"])
    hidden = person(olu, "Hidden", f"Person{uuid.uuid4().hex[:6]}", date_of_birth="1990-01-01")
    mine = person(pat, "Visible", f"Person{uuid.uuid4().hex[:6]}")
    browser = Browser(system, pat.user["username"])
    for suffix in ("", "/history", f"/merge?duplicate_id={mine['id']}"):
        unseen = browser.page(f"/profiles/{hidden['id']}{suffix}")
        missing = browser.page(f"/profiles/{uuid.uuid4()}{suffix}")
        nonsense = browser.page(f"/profiles/not-an-id{suffix}")
        assert unseen.status_code == missing.status_code == nonsense.status_code == 404, suffix
        assert unseen.content == missing.content == nonsense.content, suffix
        assert "Page not found" in unseen.text and "Hidden" not in unseen.text
        assert unseen.headers["Content-Type"].startswith("text/html")
    # The other way round too: merging an unseen profile into mine shows nothing of it.
    into_mine = browser.page(f"/profiles/{mine['id']}/merge?duplicate_id={hidden['id']}")
    assert into_mine.status_code == 404 and into_mine.content == browser.page(
        f"/profiles/{mine['id']}/merge?duplicate_id={uuid.uuid4()}").content


def test_the_profile_page_shows_what_the_api_shows_and_the_history(practitioner, system):
    pat, surname, nhs = practitioner, unique_surname(), new_nhs_number()
    elsie = person(pat, "Elsie", surname, date_of_birth="1941-01-30", gender="female", roles=["victim"],
                   aliases=[{"given_name": "Elsa", "family_name": surname}],
                   identifiers=[{"scheme": "nhs_number", "value": nhs}, {"scheme": "pnc_id", "value": "19/123456A"}],
                   addresses=[{"line1": "3 Oak Road", "town": "Leeds", "postcode": "LS6 2AB", "from": "2019-05-01"},
                              {"line1": "8 Elm Street", "town": "York", "postcode": "YO1 7HH", "from": "1970-01-01",
                               "to": "2019-04-30"}],
                   contact={"phone": "0113 496 0001", "preferred": "phone"},
                   consent={"status": "given", "detail": "Agreed at the review"},
                   flags=["vulnerable_adult", {"flag": "dementia", "detail": {
                       "description": "Short, white hair, uses a frame", "life_history": "A nurse at St James's",
                       "places_they_may_go": ["Roundhay Park", "Kirkgate Market"],
                       "medication_and_needs": "Donepezil each morning"}}])
    grandchild = person(pat, "Leo", surname, date_of_birth="2015-09-09")
    pat.ok(pat.post("/api/v1/families", {"name": f"{surname} family", "members": [
        {"profile_id": elsie["id"], "role": "grandparent"}, {"profile_id": grandchild["id"], "role": "child"}]}), 201)
    pat.ok(pat.patch(f"/api/v1/profiles/{elsie['id']}", {"given_name": "Elspeth"}, {"If-Match": '"1"'}))
    browser = Browser(system, pat.user["username"])

    page = browser.page(f"/profiles/{elsie['id']}")
    assert page.status_code == 200
    seen = text_of(page.text)
    for words in (f"Elspeth {surname}", f"Elsa {surname}", "30 January 1941", "Female", "Victim",
                  "Phone: 0113 496 0001", f"NHS number {nhs[:3]} {nhs[3:6]} {nhs[6:]}", "PNC ID 2019/0123456A",
                  "3 Oak Road, Leeds, LS6 2AB Current 1 May 2019 Now",
                  "8 Elm Street, York, YO1 7HH 1 January 1970 30 April 2019",
                  "Vulnerable adult", "Dementia Herbert Protocol details", "Short, white hair, uses a frame",
                  "A nurse at St James's", "Roundhay Park Kirkgate Market", "Donepezil each morning",
                  "Set by Pat", f"{surname} family", "Elspeth is Grandparent", f"Leo {surname}",
                  "Lead team Safeguarding Hub", f"Lead organisation {pat.directory.org['name']}",
                  "Consent Given Agreed at the review", "Possible duplicates"):
        assert words in seen, words
    assert "Under 18" not in seen
    assert f'href="/profiles/{grandchild["id"]}"' in page.text
    assert f'href="/profiles/{elsie["id"]}/history"' in page.text
    assert "Under 18" in text_of(browser.page(f"/profiles/{grandchild['id']}").text)

    history = browser.page(f"/profiles/{elsie['id']}/history")
    assert history.status_code == 200
    table = text_of(history.text)
    assert "Given name Elsie Elspeth" in table and "Profile created" in table and "Pat" in table
    assert table.index("Given name Elsie Elspeth") < table.index("Profile created")       # newest first
    assert "Flags Not set Vulnerable adult, Dementia" in table


def test_create_a_person_with_errors_writes_nothing_then_warns_of_a_duplicate(practitioner, system):
    pat, surname, nhs = practitioner, unique_surname(), new_nhs_number()
    browser = Browser(system, pat.user["username"])
    form = browser.page("/profiles/new")
    assert form.status_code == 200 and 'name="date_of_birth-day"' in form.text
    for field in ("given_name", "family_name", "date_of_birth-day", "date_of_birth-month", "date_of_birth-year",
                  "gender", "nhs_number", "address_line1", "address_town", "address_postcode"):
        assert f'for="{field}"' in form.text, field            # every input has a label

    bad = browser.submit("/profiles/new", {"given_name": "", "family_name": surname, "date_of_birth-day": "31",
                                           "date_of_birth-month": "2", "date_of_birth-year": "2010",
                                           "nhs_number": "943 476 5918", "address_line1": "1 Park Row",
                                           "address_postcode": "LS99"})
    assert bad.status_code == 422
    assert error_summary(bad.text) == [
        ("#given_name", "Enter a given name"), ("#date_of_birth-day", "Date of birth must be a real date"),
        ("#nhs_number", "That is not a valid NHS number (its check digit is wrong)"),
        ("#address_postcode", "That is not a UK postcode (for example LS1 4AP)")]
    assert 'id="nhs_number-error"' in bad.text and f'value="{surname}"' in bad.text and 'value="31"' in bad.text
    future = browser.submit("/profiles/new", {"given_name": "Sam", "family_name": surname,
                                              "date_of_birth-day": "1", "date_of_birth-month": "1",
                                              "date_of_birth-year": "2999", "address_town": "Leeds"})
    assert future.status_code == 422
    assert error_summary(future.text) == [("#date_of_birth-day", "Date of birth must be in the past"),
                                          ("#address_line1", "Enter address line 1, typically the building and street"),
                                          ("#address_postcode", "Enter a postcode")]
    def written():
        return [item for item in pat.ok(pat.get("/api/v1/profiles", params={"q": surname}))["items"]
                if item.get("family_name") == surname]
    assert written() == []                                      # nothing written
    assert browser.submit("/profiles/new", {"given_name": "Sam", "family_name": surname}, csrf=False).status_code == 403
    assert written() == []

    made = browser.submit("/profiles/new", {"given_name": "Sam", "family_name": surname, "date_of_birth-day": "2",
                                            "date_of_birth-month": "9", "date_of_birth-year": "1984",
                                            "gender": "male", "nhs_number": f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
                                            "address_line1": "4 Park Lane", "address_town": "Leeds",
                                            "address_postcode": "ls2 9aa"})
    assert made.status_code == 303 and made.headers["Location"].endswith("?created=1")
    sam_id = re.match(r"/profiles/([0-9a-f-]{36})\?", made.headers["Location"]).group(1)
    sam = pat.ok(pat.get(f"/api/v1/profiles/{sam_id}"))
    assert (sam["date_of_birth"], sam["gender"], sam["identifiers"], sam["addresses"][0]["postcode"]) == \
        ("1984-09-02", "male", [{"scheme": "nhs_number", "value": nhs}], "LS2 9AA")
    shown = browser.page(made.headers["Location"])
    assert shown.status_code == 200 and "Profile created" in shown.text and "This may be the same" not in shown.text

    samuel = {"given_name": "Samuel", "family_name": surname, "date_of_birth-day": "2",
              "date_of_birth-month": "Sep", "date_of_birth-year": "1984"}
    checked = browser.submit("/profiles/new", samuel)            # the likely match first, nothing saved yet
    assert checked.status_code == 200 and f'data-match="{sam_id}"' in checked.text and len(written()) == 1
    again = browser.submit("/profiles/new", {**samuel, "create_anyway": "1"})
    assert again.status_code == 303 and again.headers["Location"].endswith("?created=1&duplicates=1")
    warned = browser.page(again.headers["Location"])
    banner = text_of(re.search(r'id="duplicate-warning".*?</div>\s*</div>', warned.text, re.S).group(0))
    assert f"This may be the same person as Sam {surname}" in banner and "The profile has been created" in banner
    assert f'href="/profiles/{sam_id}"' in warned.text


def test_every_post_needs_the_sessions_csrf_token(practitioner, system):
    pat, surname = practitioner, unique_surname()
    nhs = new_nhs_number()
    one = person(pat, "Kim", surname, identifiers=[{"scheme": "nhs_number", "value": nhs}])
    two = person(pat, "Kimberley", surname, identifiers=[{"scheme": "nhs_number", "value": nhs}])
    browser = Browser(system, pat.user["username"])
    other = Browser(system, pat.user["username"])               # a second session: its own token
    assert other.csrf != browser.csrf
    never = f"Quartermain{uuid.uuid4().hex[:6]}"
    attempts = [("/profiles/new", {"given_name": "Kim", "family_name": never}),
                (f"/profiles/{one['id']}/merge", {"duplicate_id": two["id"]}),
                (f"/profiles/{two['id']}/unmerge", {}),
                (f"/profiles/{one['id']}/request-access", {"reason": "A reason long enough"})]
    for path, data in attempts:
        assert browser.submit(path, data, csrf=False).status_code == 403, path
        wrong = browser.post(system + path, data={**data, "csrf_token": other.csrf}, allow_redirects=False)
        assert wrong.status_code == 403 and "That did not work" in wrong.text, path
    assert pat.ok(pat.get(f"/api/v1/profiles/{two['id']}"))["merged_into"] is None
    found = pat.ok(pat.get("/api/v1/profiles", params={"q": never}))["items"]
    assert [item for item in found if item.get("family_name") == never] == []


def test_merge_and_undo_through_the_forms(practitioner, system):
    pat, surname, nhs = practitioner, unique_surname(), new_nhs_number()
    kept = person(pat, "Jo", surname, date_of_birth="2010-06-07", identifiers=[{"scheme": "nhs_number", "value": nhs}])
    extra = person(pat, "Joanne", surname, date_of_birth="2010-06-07", flags=["cse_risk"],
                   identifiers=[{"scheme": "nhs_number", "value": nhs}])
    browser = Browser(system, pat.user["username"])

    page = browser.page(f"/profiles/{kept['id']}")
    card = text_of(re.search(rf'data-match="{extra["id"]}".*?govuk-summary-card__content', page.text, re.S).group(0))
    assert "Merge into this profile" in card and "%" in card
    assert "Same NHS number" in text_of(page.text)
    confirm_href = f"/profiles/{kept['id']}/merge?duplicate_id={extra['id']}"
    assert html.escape(confirm_href) in page.text or confirm_href in page.text
    confirm = browser.page(confirm_href)
    assert confirm.status_code == 200
    words = text_of(confirm.text)
    assert f"Merge Joanne {surname} into Jo {surname}?" in words and "What will happen" in words
    assert "copied" in words and "marked as merged" in words and "undo" in words and "Same NHS number" in words

    merged = browser.submit(f"/profiles/{kept['id']}/merge", {"duplicate_id": extra["id"]})
    assert merged.status_code == 303 and merged.headers["Location"] == f"/profiles/{kept['id']}?merged=1"
    survivor = browser.page(merged.headers["Location"])
    assert "Profiles merged" in survivor.text and "Risk of child sexual exploitation" in survivor.text
    assert f'href="/profiles/{extra["id"]}"' in survivor.text and "Profiles merged into this one" in survivor.text
    assert pat.ok(pat.get(f"/api/v1/profiles/{extra['id']}"))["merged_into"] == kept["id"]
    gone = browser.page(f"/profiles/{extra['id']}")
    banner = text_of(re.search(r'id="merged-into".*?</h3>', gone.text, re.S).group(0))
    assert f"This profile has been merged into Jo {surname}" in banner
    assert f'href="/profiles/{kept["id"]}"' in gone.text and "Undo merge" in gone.text

    twice = browser.submit(f"/profiles/{kept['id']}/merge", {"duplicate_id": extra["id"]})
    assert twice.status_code == 409 and error_summary(twice.text)
    assert "already merged" in error_summary(twice.text)[0][1]
    itself = browser.submit(f"/profiles/{kept['id']}/merge", {"duplicate_id": kept["id"]})
    assert itself.status_code == 404                      # a profile and itself is not a pair to confirm

    undone = browser.submit(f"/profiles/{extra['id']}/unmerge", {})
    assert undone.status_code == 303 and undone.headers["Location"] == f"/profiles/{extra['id']}?unmerged=1"
    assert "Merge undone" in browser.page(undone.headers["Location"]).text
    assert pat.ok(pat.get(f"/api/v1/profiles/{extra['id']}"))["merged_into"] is None
    assert [f["flag"] for f in pat.ok(pat.get(f"/api/v1/profiles/{kept['id']}"))["flags"]] == []
    not_merged = browser.submit(f"/profiles/{extra['id']}/unmerge", {})
    assert not_merged.status_code == 409 and error_summary(not_merged.text)[0][0] == "#undo-merge"

    # From the survivor's side, with several possible: the form names which one.
    browser.submit(f"/profiles/{kept['id']}/merge", {"duplicate_id": extra["id"]})
    back = browser.submit(f"/profiles/{kept['id']}/unmerge", {"duplicate_id": extra["id"]})
    assert back.status_code == 303 and pat.ok(pat.get(f"/api/v1/profiles/{extra['id']}"))["merged_into"] is None


def test_someone_who_may_only_view_cannot_merge(practitioner, system):
    pat, surname, nhs = practitioner, unique_surname(), new_nhs_number()
    elsewhere = Directory(system, pat.admin)
    viewer = elsewhere.user("vic", [(elsewhere.hub, "practitioner")])
    first = person(pat, "Lee", surname, date_of_birth="2001-01-01",
                   identifiers=[{"scheme": "nhs_number", "value": nhs}])
    second = person(pat, "Leigh", surname, date_of_birth="2001-01-01",
                    identifiers=[{"scheme": "nhs_number", "value": nhs}])
    for profile in (first, second):
        share(pat, profile["id"], "organisation", elsewhere.org["id"], "view")
    browser = Browser(system, viewer["username"])
    page = browser.page(f"/profiles/{first['id']}")
    assert page.status_code == 200 and "Merge into this profile" not in page.text
    confirm = browser.page(f"/profiles/{first['id']}/merge?duplicate_id={second['id']}")
    assert confirm.status_code == 200 and 'action="/profiles/' not in confirm.text
    assert error_summary(confirm.text)[0][1].startswith(f"You can only view Lee {surname}")
    refused = browser.submit(f"/profiles/{first['id']}/merge", {"duplicate_id": second["id"]})
    assert refused.status_code == 403 and error_summary(refused.text)
    assert pat.ok(pat.get(f"/api/v1/profiles/{second['id']}"))["merged_into"] is None
