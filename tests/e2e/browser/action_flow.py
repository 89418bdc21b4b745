"""Drives Debian's chromium through Playwright over the action pages: on a case, add an action (an empty form's
errors first), change its status (done needs a note), then My actions from the header with its filters and an
overdue tag; each page's accessibility (the DOM checks and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules).

Run as its own process: `python action_flow.py URL USERNAME PASSWORD CASE_ID ASSIGNEE_LABEL DUE_DAY DUE_MONTH DUE_YEAR
SCREENSHOT_DIR [AXE_JS]`. CASE_ID is a case the user's team leads, with an overdue action for that team; the
assignee is a team the case is shared with. Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def main(url, username, password, case_id, assignee, day, month, year, shots, axe_path=None):
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

        # The case page's Actions section: an empty form, then an action for the team the case is shared with.
        page.goto(f"{url}/cases/{case_id}")
        seen["overdue_on_case"] = page.locator("table[data-actions] .govuk-tag--red", has_text="Overdue").count()
        page.locator("summary", has_text="Add an action").click()
        check("case with actions")
        page.get_by_role("button", name="Add action").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("add action errors")
        page.get_by_label("Action", exact=True).fill("Visit the flat with housing")
        page.get_by_label("Detail (optional)").fill("Speak to the tenant at number 12.")
        page.get_by_label("Who is it for").select_option(label=assignee)
        page.locator("#action-due-day").fill(day)
        page.locator("#action-due-month").fill(month)
        page.locator("#action-due-year").fill(year)
        page.get_by_label("Priority").select_option("high")
        page.get_by_role("button", name="Add action").click()
        seen["set_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["actions_text"] = page.locator("table[data-actions]").inner_text()
        page.screenshot(path=f"{shots}/case-actions.png", full_page=True)

        # Change its status: done without a note is refused; with one it is done.
        page.get_by_role("link", name="Change action: Visit the flat with housing").click()
        seen["change_heading"] = page.locator("h1").inner_text()
        check("change action")
        page.get_by_label("Done", exact=True).check()
        page.get_by_role("button", name="Save").click()
        seen["change_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("change action errors")
        page.get_by_label("Note", exact=True).fill("Visited with housing; the tenant agreed to the plan.")
        page.get_by_role("button", name="Save").click()
        seen["changed_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        row = page.locator("tr", has_text="Visit the flat with housing")
        seen["changed_row"] = row.inner_text()
        seen["timeline_text"] = page.locator("#timeline ~ ol").inner_text()

        # My actions, from the header: its filters and counts, then the overdue ones.
        page.get_by_role("link", name="My actions").click()
        seen["mine_heading"] = page.locator("h1").inner_text()
        seen["filters"] = page.locator("[data-filters] li").all_inner_texts()
        seen["mine_rows"] = page.locator("table[data-my-actions] tbody tr").count()
        page.screenshot(path=f"{shots}/my-actions.png", full_page=True)
        check("my actions")
        page.get_by_role("link", name="Overdue").click()
        seen["overdue_rows"] = page.locator("table[data-my-actions] tbody tr").all_inner_texts()
        check("my actions overdue")
        page.get_by_role("link", name="Due this week").click()
        check("my actions this week")
        cookies = context.cookies()

        if axe_path:
            checker = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
            checker.add_cookies(cookies)
            audit = checker.new_page()
            for name, info in seen["pages"].items():
                if "errors" in name:            # a GET of a POST's page: the form again, checked above without
                    continue
                audit.goto(info["url"])
                audit.add_script_tag(path=axe_path)
                info["axe"] = audit.evaluate(AXE_RUN)
            checker.close()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:11])
