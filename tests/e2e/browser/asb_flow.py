"""Drives Debian's chromium through Playwright over the ASB pages: on a case page's "ASB powers" section record
a power (an empty form's errors first), record a breach of it, change another power's status, then the
"Expiring soon" list and the Community Trigger activations page; each page's accessibility (the DOM checks and,
when AXE_JS is given, axe-core's WCAG 2.x A/AA rules).

Run as its own process: `python asb_flow.py URL USERNAME PASSWORD CASE_ID SCREENSHOT_DIR [AXE_JS]`. Prints one
JSON object with what it saw.
"""
import json
import sys
from datetime import date, timedelta

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def fill_date(page, name, day: date):
    page.fill(f"#{name}-day", str(day.day))
    page.fill(f"#{name}-month", str(day.month))
    page.fill(f"#{name}-year", str(day.year))


def main(url, username, password, case_id, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    today = date.today()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text
                and seen["console_errors"].append(message.text))

        def check(name):
            seen["pages"][name] = {"url": page.url, "problems": dom_problems(page)}

        page.goto(url + "/sign-in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

        page.goto(f"{url}/cases/{case_id}")
        seen["section"] = page.locator("#asb-powers ~ .concord-table-scroll table").first.inner_text()
        check("case")

        # Record a power: the empty form first, then a CPN issued against Sam.
        page.get_by_role("link", name="Record a power").click()
        seen["power_heading"] = page.locator("h1").inner_text()
        check("record a power")
        page.get_by_role("button", name="Record power").click()
        seen["power_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("record a power, errors")
        page.get_by_label("Power", exact=True).select_option("cpn")
        page.get_by_label("Issued (warnings, notices, directions, contracts)").check()
        page.get_by_label("Against (optional)").select_option(label="Sam Okafor")
        fill_date(page, "served_on", today - timedelta(days=1))
        fill_date(page, "expires_on", today + timedelta(days=10))
        page.get_by_label("Conditions (optional)").fill("No amplified music after 11pm.")
        page.get_by_role("button", name="Record power").click()
        seen["power_banner"] = page.locator(".govuk-notification-banner").first.inner_text()

        # A breach of it.
        page.locator("tr", has_text="Community Protection Notice").get_by_role("link", name="Record a breach").click()
        check("record a breach")
        page.get_by_role("button", name="Record breach").click()
        seen["breach_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        fill_date(page, "occurred_on", today)
        page.get_by_label("What happened").fill("Loud music at 2am, reported by two neighbours.")
        page.get_by_label("Action taken (optional)").fill("Fixed penalty notice issued.")
        page.get_by_role("button", name="Record breach").click()
        seen["breach_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["cpn_row"] = page.locator("tr", has_text="Community Protection Notice").inner_text()
        page.screenshot(path=f"{shots}/asb-case.png", full_page=True)

        # Discharge the warning given earlier.
        page.locator("tr", has_text="Community Protection Warning").get_by_role("link", name="Change status").click()
        check("change status")
        page.get_by_label("Discharged").check()
        page.get_by_role("button", name="Change status").click()
        seen["cpw_row"] = page.locator("tr", has_text="Community Protection Warning").inner_text()
        check("case after")

        # The lists.
        page.get_by_role("link", name="Powers expiring soon").click()
        seen["expiring"] = page.locator("main").inner_text()
        page.screenshot(path=f"{shots}/asb-expiring.png", full_page=True)
        check("expiring")
        page.goto(f"{url}/cases/{case_id}")
        page.get_by_role("link", name="Community Trigger activations").click()
        seen["trigger"] = page.locator("main").inner_text()
        page.screenshot(path=f"{shots}/asb-trigger.png", full_page=True)
        check("community trigger")
        cookies = context.cookies()

        if axe_path:
            checker = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
            checker.add_cookies(cookies)
            audit = checker.new_page()
            for name, info in seen["pages"].items():
                audit.goto(info["url"])
                audit.add_script_tag(path=axe_path)
                info["axe"] = audit.evaluate(AXE_RUN)
            checker.close()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:7])
