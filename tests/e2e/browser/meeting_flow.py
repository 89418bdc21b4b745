"""Drives Debian's chromium through Playwright over the meeting pages: the Meetings link in the header, arrange
a meeting (an empty form's errors first), put a case the user leads on its agenda with the lawful basis, the
minutes of the item (an empty form's error, then the discussion and two decisions), the list by day; each page's
accessibility (the DOM checks and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules).

Run as its own process: `python meeting_flow.py URL USERNAME PASSWORD CASE_REFERENCE INVITE_LABEL SCREENSHOT_DIR
[AXE_JS]`. CASE_REFERENCE is an open case the user's team leads; INVITE_LABEL the label of a team's tick box.
Prints one JSON object with what it saw.
"""
import json
import sys
from datetime import date, timedelta

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def main(url, username, password, reference, invite_label, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    day = date.today() + timedelta(days=3)
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

        page.get_by_role("link", name="Meetings", exact=True).click()
        seen["list_heading"] = page.locator("h1").inner_text()
        check("meetings (none)")

        page.get_by_role("link", name="Arrange a meeting").click()
        check("arrange")
        page.get_by_role("button", name="Arrange meeting").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("arrange errors")
        page.get_by_label("ASB panel", exact=True).check()
        page.get_by_label("Title").fill("Eastside ASB panel")
        page.get_by_label("Day").fill(str(day.day))
        page.get_by_label("Month").fill(str(day.month))
        page.get_by_label("Year").fill(str(day.year))
        page.get_by_label("Start time").fill("14:30")
        page.get_by_label("Place (optional)").fill("Civic Centre, room 4")
        page.get_by_label(invite_label, exact=True).check()
        page.get_by_role("button", name="Arrange meeting").click()
        seen["meeting_heading"] = page.locator("h1").inner_text()
        seen["meeting_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        check("meeting")

        page.get_by_label("Case your team leads").select_option(label=None, index=1)
        page.get_by_label("Lawful basis for sharing it with those invited").fill(
            "UK GDPR Art. 6(1)(e) public task; Crime and Disorder Act 1998 s.115")
        page.get_by_role("button", name="Add to agenda").click()
        seen["agenda_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["agenda_text"] = page.locator("section").first.inner_text()
        check("meeting with agenda")

        page.locator("summary", has_text="Record minutes").first.click()
        page.get_by_role("button", name="Save minutes").first.click()
        seen["minutes_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("minutes errors")
        page.get_by_label("What was discussed").fill("Noise continues; the landlord has been asked to act.")
        page.get_by_label("Decisions (optional)").fill("Warning letter from housing\nReview at the next panel")
        page.get_by_role("button", name="Save minutes").first.click()
        seen["minutes_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["minutes_text"] = page.locator("section").first.inner_text()
        page.screenshot(path=f"{shots}/meeting.png", full_page=True)
        check("meeting with minutes")

        page.get_by_role("link", name="Meetings", exact=True).click()
        seen["upcoming_text"] = page.locator("main").inner_text()
        page.screenshot(path=f"{shots}/meetings.png", full_page=True)
        check("meetings")
        cookies = context.cookies()

        if axe_path:
            checker = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
            checker.add_cookies(cookies)
            audit = checker.new_page()
            for name, info in seen["pages"].items():
                if "errors" in name:          # a GET of the same address shows the form without them
                    continue
                audit.goto(info["url"])
                audit.add_script_tag(path=axe_path)
                info["axe"] = audit.evaluate(AXE_RUN)
            checker.close()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:8])
