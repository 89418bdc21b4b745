"""The web page that sets up two-step verification, through the gateway (issue 11, item 3): looking at it
changes nothing, setting up starts with a POST carrying the session's CSRF token, a wrong code keeps the
same key, and turning it on ends the user's other sessions."""
import re

import pyotp
import pytest
import requests

from tests.e2e.directory import PASSWORD, Directory, bootstrap_admin, next_code, sign_in


def csrf_field(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def shown_key(html: str) -> str | None:
    found = re.search(r'id="secret">([^<]+)<', html)
    return found.group(1).replace(" ", "") if found else None


def web_sign_in(url: str, username: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(url + "/sign-in")
    signed_in = browser.post(url + "/sign-in", data={"username": username, "password": PASSWORD,
                                                     "csrf_token": csrf_field(form.text)}, allow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    return browser


@pytest.fixture
def strict(system, service_config):
    """An organisation that requires MFA, and the system's URL."""
    admin = bootstrap_admin(system, service_config("permissions"))
    return system, Directory(system, admin, require_mfa=True)


def test_the_mfa_page_changes_nothing_until_a_post_starts_it(strict):
    url, directory = strict
    user = directory.user("mia", [(directory.hub, "practitioner")])
    browser = web_sign_in(url, user["username"])
    other = sign_in(url, user["username"])         # a second session, opened before MFA is set up
    assert browser.get(url + "/", allow_redirects=False).headers["Location"].endswith("/mfa")

    first_look, second_look = browser.get(url + "/mfa"), browser.get(url + "/mfa")
    assert first_look.status_code == second_look.status_code == 200
    assert shown_key(first_look.text) is None and shown_key(second_look.text) is None    # no key made by looking
    assert "Start setting up" in first_look.text
    csrf = csrf_field(first_look.text)
    assert browser.post(url + "/mfa", data={"start": "1"}, allow_redirects=False).status_code == 403  # no CSRF
    assert shown_key(browser.get(url + "/mfa").text) is None

    started = browser.post(url + "/mfa", data={"start": "1", "csrf_token": csrf}, allow_redirects=False)
    assert started.status_code == 303 and started.headers["Location"].endswith("/mfa")
    key = shown_key(browser.get(url + "/mfa").text)
    assert key and shown_key(browser.get(url + "/mfa").text) == key                   # looking again: same key
    wrong = browser.post(url + "/mfa", data={"otp": "000000" if pyotp.TOTP(key).now() != "000000" else "111111",
                                             "csrf_token": csrf})
    assert wrong.status_code == 422 and "code is not right" in wrong.text and shown_key(wrong.text) == key

    turned_on = browser.post(url + "/mfa", data={"otp": next_code(key), "csrf_token": csrf}, allow_redirects=False)
    assert turned_on.status_code == 303 and turned_on.headers["Location"] == "/account"
    assert browser.get(url + "/").status_code == 200                                  # this session goes on
    assert browser.get(url + "/mfa", allow_redirects=False).status_code == 303        # nothing left to set up
    assert other.get("/api/v1/me").status_code == 401       # the other one did not become a full session
    assert sign_in(url, user["username"], otp_secret=key).get("/api/v1/me").status_code == 200
