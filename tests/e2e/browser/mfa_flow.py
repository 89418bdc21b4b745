"""In chromium: a user whose organisation requires MFA is sent to set it up, then needs a code.

`python mfa_flow.py URL USERNAME PASSWORD SCREENSHOT_DIR` prints one JSON object.
"""
import json
import sys
from datetime import datetime, timezone

import pyotp
from playwright.sync_api import sync_playwright

from sign_in_flow import CHROMIUM_ARGS


def sign_in(page, url, username, password):
    page.goto(url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def main(url, username, password, shots):
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        sign_in(page, url, username, password)
        seen["sent_to"] = page.url
        seen["key_before_start"] = page.locator("#secret").count()      # looking at the page makes no key
        page.get_by_role("button", name="Start setting up").click()
        secret = page.locator("#secret").inner_text().replace(" ", "")
        page.screenshot(path=f"{shots}/mfa-setup.png", full_page=True)
        page.get_by_label("Code from your authenticator app").fill("000000")
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        seen["wrong_code_error"] = page.locator(".govuk-error-summary").inner_text()
        seen["same_key_after_wrong_code"] = page.locator("#secret").inner_text().replace(" ", "") == secret
        totp = pyotp.TOTP(secret)
        confirming_step = totp.timecode(datetime.now(timezone.utc))
        page.get_by_label("Code from your authenticator app").fill(totp.generate_otp(confirming_step))
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        seen["home_text"] = page.locator("main").inner_text()
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, url, username, password)
        seen["asked_for_code"] = page.get_by_label("Code from your authenticator app").is_visible()
        page.get_by_label("Password").fill(password)
        page.get_by_label("Code from your authenticator app").fill(totp.generate_otp(confirming_step + 1))  # once each
        page.get_by_role("button", name="Sign in").click()
        seen["after_code"] = page.locator("h1").inner_text()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:5])
