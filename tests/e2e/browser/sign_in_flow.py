"""Drives Debian's chromium through Playwright: sign in, see the home page, sign out.

Run as its own process (Playwright's sync API and eventlet's monkey-patching
do not mix): `python sign_in_flow.py URL USERNAME PASSWORD SCREENSHOT_DIR`.
Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

import settle  # noqa: F401  (beside this file: reads that do not auto-wait wait for load)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(url, username, password, shots):
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/")
        seen["redirected_to"] = page.url
        seen["stylesheet_loaded"] = page.evaluate(
            "() => getComputedStyle(document.querySelector('.concord-header')).backgroundColor")

        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        seen["error_summary"] = page.locator(".govuk-error-summary").inner_text()
        seen["error_title"] = page.title()
        page.screenshot(path=f"{shots}/sign-in-error.png", full_page=True)

        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        seen["home_heading"] = page.locator("h1").inner_text()
        cookie = next(c for c in page.context.cookies() if c["name"] == "concord_session")
        seen["cookie"] = {"httpOnly": cookie["httpOnly"], "sameSite": cookie["sameSite"]}
        seen["script_can_read_cookie"] = "concord_session" in page.evaluate("() => document.cookie")
        page.screenshot(path=f"{shots}/home.png", full_page=True)

        page.get_by_role("button", name="Sign out").click()
        seen["after_sign_out"] = page.url
        page.goto(url + "/")
        seen["after_sign_out_home"] = page.url
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:5])
