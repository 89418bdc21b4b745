"""The audit and administration pages (gateway/web/audit_pages.py, admin_pages.py, admin_register_pages.py) over
HTTP, as a browser without JavaScript: who sees which page (practitioner, supervisor, organisation administrator,
another organisation's administrator, system administrator), every form with its error summary and CSRF, the
one-time passwords and the API client's secret shown once, paging with the API's cursors, the usage chart."""
import re
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests

from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import Browser, error_summary, person, share, text_of

ROLES = ("practitioner", "supervisor", "org_admin", "other_admin", "system_admin")


@pytest.fixture(scope="module")
def system_module(request):
    from tests import support
    with support.whole_system(request.getfixturevalue("amqp_uri"), request.getfixturevalue("database_server"),
                              request.getfixturevalue("database_prefix") + "_webadmin") as system:
        yield system


@pytest.fixture(scope="module")
def world(system_module):
    url, config = system_module
    root = bootstrap_admin(url, config)
    force = Directory(url, root, name=f"Leeds Police {uuid.uuid4().hex[:6]}")
    other = Directory(url, root, name=f"Bradford Council {uuid.uuid4().hex[:6]}")
    operators = Directory(url, root, name=f"Operators {uuid.uuid4().hex[:6]}")
    people = {
        "practitioner": force.user("pat", [(force.hub, "practitioner")]),
        "supervisor": force.user("sue", [(force.hub, "supervisor")]),
        "org_admin": force.user("olu", [(force.npt, "practitioner")], roles=("org_admin",)),
        "other_admin": other.user("ola", [(other.hub, "practitioner")], roles=("org_admin",)),
        "system_admin": operators.user("sam", [(operators.hub, "practitioner")], roles=("system_admin",)),
    }
    practitioner_api = sign_in(url, people["practitioner"]["username"])
    profile = person(practitioner_api, "Aisha", "Okafor")
    # shared with the organisation administrator's team: they may see it, but not who has looked at it (403)
    share(practitioner_api, profile["id"], "team", force.npt["id"], "view")
    return {"url": url, "root": root, "force": force, "other": other, "people": people,
            "api": practitioner_api, "profile": profile,
            "browsers": {role: Browser(url, people[role]["username"]) for role in ROLES}}


def eventually(check, seconds=20.0):
    """The audit log is written from events: wait for it to catch up."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


# -- who sees what ----------------------------------------------------------------------------------------------
def test_access_matrix(world):
    force, other, people = world["force"], world["other"], world["people"]
    pat, profile = people["practitioner"]["id"], world["profile"]["id"]
    forbidden, ok, missing = 403, 200, 404
    #        page                                                 prac       sup        org admin  other admin sys admin
    matrix = {
        "/admin":                                                  (forbidden, forbidden, ok,        ok,        ok),
        "/admin/organisations":                                    (forbidden, forbidden, forbidden, forbidden, ok),
        f"/admin/organisations/{force.org['id']}":                 (forbidden, forbidden, ok,        forbidden, ok),
        f"/admin/organisations/{force.org['id']}/users/new":       (forbidden, forbidden, ok,        forbidden, ok),
        f"/admin/users/{pat}":                                     (forbidden, forbidden, ok,        missing,   ok),
        f"/admin/teams/{force.hub['id']}":                         (forbidden, forbidden, ok,        forbidden, ok),
        "/admin/api-clients":                                      (forbidden, forbidden, forbidden, forbidden, ok),
        "/admin/sharing-agreements":                               (forbidden, forbidden, forbidden, forbidden, ok),
        "/admin/sharing-agreements/new":                           (forbidden, forbidden, forbidden, forbidden, ok),
        "/admin/usage":                                            (forbidden, forbidden, ok,        ok,        ok),
        f"/admin/usage?organisation_id={force.org['id']}":         (forbidden, forbidden, ok,        forbidden, ok),
        f"/users/{pat}/activity":                                  (forbidden, ok,        ok,        missing,   ok),
        f"/profiles/{profile}/audit":                              (ok,        ok,        forbidden, missing,   missing),
        "/teams":                                                  (ok,        ok,        ok,        ok,        ok),
    }
    got = {page: tuple(world["browsers"][role].page(page).status_code for role in ROLES) for page in matrix}
    assert got == matrix
    # an other organisation's pages are theirs alone
    assert world["browsers"]["org_admin"].page(f"/admin/organisations/{other.org['id']}").status_code == 403
    assert world["browsers"]["other_admin"].page(f"/admin/organisations/{other.org['id']}").status_code == 200
    # refusals are pages in words, never codes
    refused = world["browsers"]["practitioner"].page("/admin")
    assert "You cannot use administration" in text_of(refused.text) and "org_admin" not in refused.text
    # the same 404 for an unknown user as for another organisation's
    assert world["browsers"]["org_admin"].page(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert world["browsers"]["org_admin"].page("/admin/users/not-an-id").status_code == 404


def test_administration_link_only_for_administrators(world):
    for role in ROLES:
        home = world["browsers"][role].page("/")
        assert home.status_code == 200
        assert ('href="/admin"' in home.text) == (role in ("org_admin", "other_admin", "system_admin")), role


def test_signed_out_pages_go_to_sign_in(world):
    for path in ("/admin", "/admin/usage", f"/users/{world['people']['practitioner']['id']}/activity"):
        assert requests.get(world["url"] + path, allow_redirects=False, timeout=10).headers["Location"] == "/sign-in"


# -- people, teams, memberships ---------------------------------------------------------------------------------
def test_org_admin_adds_a_person_with_a_one_time_password(world):
    browser, force = world["browsers"]["org_admin"], world["force"]
    new_page = browser.page(f"/admin/organisations/{force.org['id']}/users/new")
    assert 'name="csrf_token"' in new_page.text and "system_admin" not in new_page.text   # org admins cannot
    target = f"/admin/organisations/{force.org['id']}/users/new"
    empty = browser.submit(target, {"display_name": "", "username": "", "email": "", "team_id": "", "role": ""})
    assert empty.status_code == 422
    assert error_summary(empty.text) == [
        ("#display_name", "Enter the person's full name"), ("#username", "Enter a username"),
        ("#email", "Enter their email address"), ("#team_id", "Select the team they work in"),
        ("#role", "Select their role in the team")]
    assert empty.text.count("<title>Error: ") == 1

    username = f"nia.{uuid.uuid4().hex[:6]}"
    taken = browser.submit(target, {"display_name": "Nia Patel", "username": world["people"]["practitioner"]["username"],
                                    "email": "nia@example.org", "team_id": force.hub["id"], "role": "practitioner"})
    assert taken.status_code == 422 and error_summary(taken.text) == [("#username", "This username is already taken")]
    assert browser.submit(target, {"display_name": "Nia Patel", "username": username, "email": "nia@example.org",
                                   "team_id": force.hub["id"], "role": "practitioner"},
                          csrf=False).status_code == 403

    created = browser.submit(target, {"display_name": "Nia Patel", "username": username, "email": "nia@example.org",
                                      "team_id": force.hub["id"], "role": "practitioner"})
    assert created.status_code == 200
    assert "no-store" in created.headers["Cache-Control"]
    password = re.search(r'id="one-time-password"[^>]*>([^<]+)<', created.text).group(1)
    assert "You will not see this password again" in text_of(created.text)
    nia = sign_in(world["url"], username, password)                 # the one-time password works
    me = nia.ok(nia.get("/api/v1/me"))
    assert [(t["id"], t["role"]) for t in me["teams"]] == [(force.hub["id"], "practitioner")]
    organisation = text_of(browser.page(f"/admin/organisations/{force.org['id']}").text)
    assert "Nia Patel" in organisation and "Safeguarding Hub: Practitioner" in organisation


def test_membership_forms(world):
    browser, force, people = world["browsers"]["org_admin"], world["force"], world["people"]
    pat = people["practitioner"]["id"]
    team = browser.page(f"/admin/teams/{force.npt['id']}")
    assert team.status_code == 200 and f'value="{pat}"' in team.text          # pat may be added
    missing = browser.submit(f"/admin/teams/{force.npt['id']}/members", {"user_id": "", "role": ""})
    assert missing.status_code == 422 and error_summary(missing.text) == [
        ("#user_id", "Select the person to add"), ("#role", "Select their role in the team")]
    added = browser.submit(f"/admin/teams/{force.npt['id']}/members", {"user_id": pat, "role": "spoc"})
    assert added.status_code == 303 and added.headers["Location"].endswith("?done=member")
    page = browser.page(added.headers["Location"])
    assert "Membership saved" in text_of(page.text) and f'data-member="{pat}"' in page.text
    assert "Single point of contact (SPOC)" in text_of(page.text) and ">spoc<" not in page.text
    # change the role from the person's page
    moved = browser.submit(f"/admin/users/{pat}/teams", {"team_id": force.npt["id"], "role": "supervisor"})
    assert moved.status_code == 303
    assert "Neighbourhood Team : Supervisor" in text_of(browser.page(f"/admin/users/{pat}").text)
    no_team = browser.submit(f"/admin/users/{pat}/teams", {"team_id": "", "role": "practitioner"})
    assert no_team.status_code == 422 and error_summary(no_team.text) == [("#team_id", "Select the team")]
    # remove
    removed = browser.submit(f"/admin/teams/{force.npt['id']}/members/{pat}/remove", {})
    assert removed.status_code == 303
    assert f'data-member="{pat}"' not in browser.page(f"/admin/teams/{force.npt['id']}").text
    # nobody changes their own place
    olu = people["org_admin"]["id"]
    own = browser.submit(f"/admin/teams/{force.hub['id']}/members", {"user_id": olu, "role": "supervisor"})
    assert own.status_code == 403 and "another administrator" in text_of(own.text)
    # another organisation's admin cannot touch this team
    assert world["browsers"]["other_admin"].submit(f"/admin/teams/{force.npt['id']}/members",
                                                   {"user_id": pat, "role": "practitioner"}).status_code == 403


def test_team_added_and_named_once(world):
    browser, force = world["browsers"]["org_admin"], world["force"]
    target = f"/admin/organisations/{force.org['id']}/teams"
    empty = browser.submit(target, {"team_name": ""})
    assert empty.status_code == 422 and error_summary(empty.text) == [("#team_name", "Enter the team's name")]
    twice = browser.submit(target, {"team_name": "Safeguarding Hub"})
    assert twice.status_code == 422
    assert error_summary(twice.text) == [("#team_name", "This organisation already has a team with this name")]
    added = browser.submit(target, {"team_name": "Youth Team"})
    assert added.status_code == 303 and "Team added" in text_of(browser.page(added.headers["Location"]).text)


def test_reset_password_then_disable(world):
    browser, force = world["browsers"]["org_admin"], world["force"]
    kim = force.user(f"kim{uuid.uuid4().hex[:4]}", [(force.hub, "practitioner")])
    reset = browser.submit(f"/admin/users/{kim['id']}/password", {})
    assert reset.status_code == 200 and "no-store" in reset.headers["Cache-Control"]
    password = re.search(r'id="one-time-password"[^>]*>([^<]+)<', reset.text).group(1)
    assert requests.post(world["url"] + "/api/v1/sessions", json={"username": kim["username"],
                                                                   "password": "correct horse battery staple"},
                         timeout=10).status_code == 401
    sign_in(world["url"], kim["username"], password)
    assert browser.submit(f"/admin/users/{kim['id']}/disable", {}, csrf=False).status_code == 403
    disabled = browser.submit(f"/admin/users/{kim['id']}/disable", {})
    assert disabled.status_code == 303
    page = text_of(browser.page(disabled.headers["Location"]).text)
    assert "Account disabled" in page and "Disabled" in page
    assert requests.post(world["url"] + "/api/v1/sessions", json={"username": kim["username"], "password": password},
                         timeout=10).status_code == 401
    # a supervisor cannot reset anyone's password
    assert world["browsers"]["supervisor"].submit(f"/admin/users/{kim['id']}/password", {}).status_code == 403


# -- system administrators ----------------------------------------------------------------------------------------
def test_system_admin_adds_an_organisation(world):
    browser = world["browsers"]["system_admin"]
    empty = browser.submit("/admin/organisations", {"name": "", "type": "", "area": "", "require_mfa": ""})
    assert empty.status_code == 422 and [href for href, _ in error_summary(empty.text)] == [
        "#name", "#type", "#area", "#require_mfa"]
    name = f"Wakefield Housing {uuid.uuid4().hex[:4]}"
    added = browser.submit("/admin/organisations", {"name": name, "type": "housing", "area": "West Yorkshire",
                                                    "require_mfa": "yes"})
    assert added.status_code == 303
    page = text_of(browser.page(added.headers["Location"]).text)
    assert "Organisation added" in page and name in page and "Housing, West Yorkshire" in page
    again = browser.submit("/admin/organisations", {"name": name, "type": "housing", "area": "West Yorkshire",
                                                    "require_mfa": "no"})
    assert error_summary(again.text) == [("#name", "An organisation with this name already exists")]
    assert world["browsers"]["org_admin"].submit("/admin/organisations", {
        "name": "x", "type": "housing", "area": "y", "require_mfa": "no"}).status_code == 403


def test_api_client_secret_shown_once(world):
    browser, force = world["browsers"]["system_admin"], world["force"]
    empty = browser.submit("/admin/api-clients", {"name": "", "organisation_id": ""})
    assert error_summary(empty.text) == [("#name", "Enter the partner system's name"),
                                         ("#organisation_id", "Select the organisation it belongs to"),
                                         ("#scopes", "Select what it may do")]
    created = browser.post(world["url"] + "/admin/api-clients", data=[
        ("csrf_token", browser.csrf), ("name", "Force records"), ("organisation_id", force.org["id"]),
        ("scopes", "profiles:read"), ("scopes", "audit:read")], allow_redirects=False, timeout=15)
    assert created.status_code == 200 and "no-store" in created.headers["Cache-Control"]
    client_id = re.search(r'id="client-id">([^<]+)<', created.text).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', created.text).group(1)
    assert "you will not see it again" in text_of(created.text)
    assert "Read profiles" in text_of(created.text) and "profiles:read</li>" not in created.text
    token = requests.post(world["url"] + "/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, timeout=10)
    assert token.status_code == 200, token.text
    assert secret not in browser.page("/admin/api-clients").text


def test_sharing_agreements_register(world):
    browser, force, other = world["browsers"]["system_admin"], world["force"], world["other"]
    empty = browser.submit("/admin/sharing-agreements/new", {})
    assert [href for href, _ in error_summary(empty.text)] == [
        "#name", "#purpose", "#lawful_basis", "#organisation_ids", "#review-day"]
    bad_date = browser.post(world["url"] + "/admin/sharing-agreements/new", data=[
        ("csrf_token", browser.csrf), ("name", "ASB ISA"), ("purpose", "Joint ASB casework"),
        ("lawful_basis", "Crime and Disorder Act 1998 s115"), ("organisation_ids", force.org["id"]),
        ("organisation_ids", other.org["id"]), ("review-day", "31"), ("review-month", "2"), ("review-year", "2030")],
        allow_redirects=False, timeout=15)
    assert error_summary(bad_date.text) == [("#review-day", "The review date must be a real date")]
    assert f'value="{other.org["id"]}" checked' in bad_date.text
    name = f"ASB ISA {uuid.uuid4().hex[:4]}"
    added = browser.post(world["url"] + "/admin/sharing-agreements/new", data=[
        ("csrf_token", browser.csrf), ("name", name), ("purpose", "Joint ASB casework"),
        ("lawful_basis", "Crime and Disorder Act 1998 s115"), ("organisation_ids", force.org["id"]),
        ("organisation_ids", other.org["id"]), ("review-day", "31"), ("review-month", "3"), ("review-year", "2030")],
        allow_redirects=False, timeout=15)
    assert added.status_code == 303
    register = browser.page(added.headers["Location"])
    words = text_of(register.text)
    assert "Agreement added" in words and name in words and "In force" in words and "31 March 2030" in words
    agreement_id = re.search(r'data-agreement="([0-9a-f-]{36})"[^>]*>\s*<td[^>]*><strong>' + re.escape(name),
                             register.text).group(1)
    assert world["api"].ok(world["api"].get(f"/api/v1/sharing-agreements/{agreement_id}"))["active"] is True
    ended = browser.submit(f"/admin/sharing-agreements/{agreement_id}/end", {})
    assert ended.status_code == 303 and "Agreement ended" in text_of(browser.page(ended.headers["Location"]).text)
    assert world["api"].ok(world["api"].get(f"/api/v1/sharing-agreements/{agreement_id}"))["active"] is False


# -- reading the audit log ------------------------------------------------------------------------------------------
def test_who_has_looked_at_a_profile_with_paging(world):
    api, profile_id, browser = world["api"], world["profile"]["id"], world["browsers"]["practitioner"]
    for _ in range(55):
        api.ok(api.get(f"/api/v1/profiles/{profile_id}"))
    assert 'href="/profiles/%s/audit"' % profile_id in browser.page(f"/profiles/{profile_id}").text
    assert 'id="audit-link"' in browser.page(f"/profiles/{profile_id}/sharing").text
    first = eventually(lambda: (lambda page: page if 'id="next-page"' in page.text else None)(
        browser.page(f"/profiles/{profile_id}/audit")))
    assert first, "the audit log did not catch up"
    words = text_of(first.text)
    assert "Who has looked at this profile" in words and "Pat" in words and "Looked at" in words
    assert "viewed" not in words and len(re.findall(r'data-seq="', first.text)) == 50
    cursor = re.search(r'href="\?cursor=([^"]+)"', first.text).group(1)
    second = browser.page(f"/profiles/{profile_id}/audit?cursor={cursor}")
    assert second.status_code == 200 and "Back to the start" in text_of(second.text)
    assert set(re.findall(r'data-seq="(\d+)"', first.text)).isdisjoint(re.findall(r'data-seq="(\d+)"', second.text))
    assert browser.page(f"/profiles/{profile_id}/audit?cursor=nonsense").status_code == 404
    # someone in the organisation but not the lead team: no link, and a 403 page in words
    org_admin = world["browsers"]["org_admin"]
    refused = org_admin.page(f"/profiles/{profile_id}/audit")
    assert refused.status_code == 403 and "You cannot see who has looked at this" in text_of(refused.text)


def test_supervisor_sees_a_members_activity(world):
    supervisor, pat = world["browsers"]["supervisor"], world["people"]["practitioner"]
    teams = supervisor.page("/teams")
    assert f'href="/users/{pat["id"]}/activity"' in teams.text
    activity = eventually(lambda: (lambda page: page if "Looked at" in text_of(page.text) else None)(
        supervisor.page(f"/users/{pat['id']}/activity")))
    assert activity and activity.status_code == 200
    words = text_of(activity.text)
    assert "What Pat did" in words and "Open the profile" in words and "Signed in" in words
    assert f'href="/profiles/{world["profile"]["id"]}"' in activity.text
    # a practitioner sees no activity links on their teams page
    assert "/activity" not in world["browsers"]["practitioner"].page("/teams").text


def test_usage_chart_and_table(world):
    browser = world["browsers"]["org_admin"]
    page = eventually(lambda: (lambda p: p if int(re.search(
        r'data-day="%s">.*?numeric">(\d+)<' % datetime.now(timezone.utc).date().isoformat(), p.text,
        re.S).group(1)) >= 55 else None)(browser.page("/admin/usage")))
    assert page, "usage figures did not catch up"
    svg = re.search(r"<svg class=\"concord-chart\".*?</svg>", page.text, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="usage-chart-title usage-chart-desc"' in svg
    assert "<title id=\"usage-chart-title\">Page views and visits per day" in svg and "<desc" in svg
    assert "Page views (bars)" in svg and "Visits (line)" in svg
    rows = re.findall(r'data-day="([\d-]+)">.*?numeric">(\d+)<.*?numeric">(\d+)<', page.text, re.S)
    assert len(rows) == 30
    views, visits = sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows)
    assert f"{views} page views and {visits} visits in all" in svg          # the chart says what the table says
    totals = text_of(re.search(r'id="usage-totals".*?</dl>', page.text, re.S).group(0))
    assert f"Page views {views}" in totals and f"Visits {visits}" in totals
    # a system administrator sees every organisation, and can pick one
    everyone = world["browsers"]["system_admin"].page("/admin/usage")
    assert "By organisation" in text_of(everyone.text) and world["force"].org["name"] in everyone.text


def test_who_has_looked_at_a_case_and_a_family(world):
    api, browser = world["api"], world["browsers"]["practitioner"]
    case = api.ok(api.post("/api/v1/cases", {"case_type": "asb", "title": "Noise, Canal Wharf"}), 201)
    family = api.ok(api.post("/api/v1/families", {"name": "Okafor family", "members": [
        {"profile_id": world["profile"]["id"], "role": "parent"}]}), 201)
    api.ok(api.get(f"/api/v1/cases/{case['id']}"))
    api.ok(api.get(f"/api/v1/families/{family['id']}"))
    assert f'href="/cases/{case["id"]}/audit"' in browser.page(f"/cases/{case['id']}").text
    assert f'href="/families/{family["id"]}/audit"' in browser.page(f"/families/{family['id']}/sharing").text
    for path, noun, caption in ((f"/cases/{case['id']}/audit", "case", "Noise, Canal Wharf"),
                                (f"/families/{family['id']}/audit", "family", "Okafor family")):
        page = eventually(lambda: (lambda p: p if "Looked at" in text_of(p.text) else None)(browser.page(path)))
        assert page and page.status_code == 200, path
        words = text_of(page.text)
        assert f"Who has looked at this {noun}" in words and caption in words and "Pat" in words
        assert world["browsers"]["other_admin"].page(path).status_code == 404
    # the supervisor of the lead team sees it too; an unknown record is the one 404
    assert world["browsers"]["supervisor"].page(f"/cases/{case['id']}/audit").status_code == 200
    assert browser.page(f"/cases/{uuid.uuid4()}/audit").status_code == 404
