"""Issue 16: when a service is down (here only the permissions service runs beside the gateway), a browser
gets the styled 503 page with Retry-After, an API client a 503 problem+json; the header's unread count is
left out, not an error, when the notifications service does not answer. In its own module: the whole
system of test_brand_pages.py would answer for the missing services."""
from tests.e2e.directory import Directory, bootstrap_admin, sign_in
from tests.e2e.test_web_profiles import Browser
from tests.unit.test_brand import BROWSER


def test_a_service_that_is_down_is_a_503_page_for_a_browser_and_a_problem_for_the_api(gateway_url,
                                                                                      service_config):
    url = gateway_url("permissions")
    admin = bootstrap_admin(url, service_config("permissions"))
    directory = Directory(url, admin)
    user = directory.user("ruth", [(directory.hub, "practitioner")])
    browser = Browser(url, user["username"])                 # signing in needs only the permissions service

    home = browser.get(url + "/", headers={"Accept": BROWSER})
    assert home.status_code == 200 and "Signed in as Ruth" in home.text
    assert 'class="concord-count"' not in home.text         # notifications down: no count, no error

    for path in ("/cases", "/profiles?q=Smith", "/notifications"):
        page = browser.get(url + path, headers={"Accept": BROWSER}, allow_redirects=False)
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html"), path
        assert "Sorry, the service is unavailable" in page.text and page.headers["Retry-After"] == "5", path
        assert "service is not running" not in page.text, path                 # no internals for people

    import requests
    api = sign_in(url, user["username"])
    problem = requests.get(url + "/api/v1/cases", headers={**api.headers(), "Accept": BROWSER}, timeout=15)
    assert problem.status_code == 503 and problem.headers["Content-Type"] == "application/problem+json"
    assert problem.headers["Retry-After"] == "5" and problem.json()["status"] == 503
