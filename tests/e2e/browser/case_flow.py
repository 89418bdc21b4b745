"""Drives Debian's chromium through Playwright over the case pages: from a profile open a case, add a note with
the keyboard only, add a premises, close and reopen, share it with a tick box and revoke (keyboard only), the
list sorted and filtered, and each page's
accessibility (the DOM checks and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules).

Run as its own process: `python case_flow.py URL USERNAME PASSWORD PROFILE_ID PREMISES_NAME SCREENSHOT_DIR
[AXE_JS]`. PROFILE_ID is a person the user's team leads; PREMISES_NAME a premises it leads. Prints one JSON
object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def main(url, username, password, profile_id, premises_name, shots, share_with, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
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

        # From the person's profile, open a case about them.
        page.goto(f"{url}/profiles/{profile_id}")
        page.get_by_role("link", name="Open a case about").click()
        seen["new_heading"] = page.locator("h1").inner_text()
        check("open a case")
        page.get_by_role("button", name="Open case").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        page.get_by_label("Type of case").select_option("asb")
        page.get_by_label("Title").fill("Noise and threats, Canal Wharf")
        page.get_by_label("High", exact=True).check()
        page.get_by_label("Their role on the case").select_option("perpetrator")
        page.get_by_role("button", name="Open case").click()
        seen["case_heading"] = page.locator("h1").inner_text()
        seen["case_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        case_url = page.url.split("?")[0]
        page.screenshot(path=f"{shots}/case.png", full_page=True)
        check("case")

        # A note with the keyboard only: open the disclosure, type, submit — no mouse.
        page.locator("summary", has_text="Add a note").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.type("Spoke to the neighbours at number 5.")
        page.locator("#note-text").press("Tab")
        page.keyboard.press("ArrowDown")           # Update -> Contact
        page.locator("button", has_text="Add note").focus()
        with page.expect_navigation():             # Enter submits; wait for the new page, not the old one
            page.keyboard.press("Enter")
        seen["note_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["notes_text"] = page.locator("#notes ~ .govuk-summary-card").first.inner_text()

        # Add the premises.
        page.get_by_role("link", name="Add someone").click()
        page.get_by_label("Find a person or premises by name").fill(premises_name)
        page.get_by_role("button", name="Find").click()
        check("add someone")
        page.get_by_label(premises_name, exact=False).first.check()
        page.get_by_label("Their role on the case").select_option("premises_of_concern")
        page.get_by_role("button", name="Add to case").click()
        seen["participants_text"] = page.locator("main").inner_text()

        # Close, then reopen.
        page.get_by_role("link", name="Close case").click()
        check("close")
        page.get_by_label("Resolved").check()
        page.get_by_role("button", name="Close case").click()
        seen["closed_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        page.get_by_role("link", name="Reopen case").click()
        check("reopen")
        page.get_by_label("Why is it being reopened?").fill("Two new complaints from neighbours.")
        page.get_by_role("button", name="Reopen case").click()
        seen["timeline_text"] = page.locator("#timeline ~ ol").inner_text()

        # Share with a tick box, keyboard only: follow the link, an empty form's errors, tick, share, revoke.
        page.get_by_role("link", name="Share this case, or stop sharing it").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen["share_heading"] = page.locator("h1").inner_text()
        check("share")
        page.get_by_role("button", name="Share", exact=True).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen["share_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("share errors")
        # teams of the same name in other organisations: the label names the organisation (for screen readers)
        page.get_by_label(share_with, exact=True).focus()
        page.keyboard.press("Space")
        page.get_by_label("Lawful basis").focus()
        page.keyboard.type("UK GDPR Art. 6(1)(e) public task")
        page.get_by_role("button", name="Share", exact=True).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen["share_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["shared_with"] = page.locator("table.govuk-table").inner_text()
        page.screenshot(path=f"{shots}/share.png", full_page=True)
        check("shared")
        page.locator("button", has_text="Revoke").first.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen["revoke_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        page.goto(case_url)

        # The list, sorted by priority.
        page.get_by_role("link", name="Cases", exact=True).click()
        page.get_by_role("link", name="Priority").click()
        seen["sorted"] = page.locator("th[aria-sort=ascending]").inner_text()
        seen["rows"] = page.locator("tr[data-case]").count()
        page.screenshot(path=f"{shots}/cases.png", full_page=True)
        check("case list")
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
        seen["case_url"] = case_url
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:9])
