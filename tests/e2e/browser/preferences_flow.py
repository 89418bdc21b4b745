"""Drives Debian's chromium through Playwright over the e-mail preferences page: from the notifications page's
link, choose a daily summary for every kind and "Off" for actions, save (the banner, the choices kept), then a
tampered form (a choice the service does not know) is refused with the error summary. Every page is checked (the
DOM checks and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules) at 1280 and at 320 pixels wide.

Run as its own process: `python preferences_flow.py URL USERNAME PASSWORD SCREENSHOT_DIR [AXE_JS]`.
Prints one JSON object.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from both_widths import check_both_widths, signed_in
from profile_flow import CHROMIUM_ARGS


def main(url, username, password, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = signed_in(browser, url, username, password, axe_path)
        page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text
                and seen["console_errors"].append(message.text))

        def check(name):
            check_both_widths(page, name, seen["pages"], shots, axe_path)

        page.goto(url + "/notifications")
        check("notifications")
        page.get_by_role("link", name="E-mail preferences").click()
        seen["heading"] = page.locator("h1").inner_text()
        seen["default_checked"] = page.locator("input[name=email]:checked").get_attribute("value")
        seen["legends"] = page.locator("fieldset[data-kind] legend").all_inner_texts()
        check("preferences")

        page.check("#email-daily")
        page.check("#kinds-actions-off")
        page.get_by_role("button", name="Save preferences").click()
        seen["banner"] = page.locator(".govuk-notification-banner").inner_text()
        seen["saved_default"] = page.locator("input[name=email]:checked").get_attribute("value")
        seen["saved_actions"] = page.locator("input[name=kind-actions]:checked").get_attribute("value")
        seen["saved_mash"] = page.locator("input[name=kind-mash]:checked").get_attribute("value")
        check("saved")

        # A form changed in the browser (or an old page): the service refuses the unknown choice.
        page.evaluate("() => { const box = document.querySelector('#kinds-mash-off');"
                      " box.value = 'weekly'; box.checked = true; }")
        page.get_by_role("button", name="Save preferences").click()
        seen["errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        seen["error_group"] = page.locator(".govuk-form-group--error fieldset").get_attribute("data-kind")
        check("refused")
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
