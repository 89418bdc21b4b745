"""Drives Debian's chromium through Playwright over the risk pages: a practitioner assesses risk on a case
(choose the template, an empty form's errors, the answers with the keyboard and the mouse), reads how the score
was made; the lead team's supervisor signs it off; the case page and the case list show the level; and each
page's accessibility (the DOM checks and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules).

Run as its own process: `python risk_flow.py URL PRACTITIONER SUPERVISOR PASSWORD CASE_ID SCREENSHOT_DIR [AXE_JS]`.
CASE_ID is an open ASB case the practitioner's team leads. Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def main(url, practitioner, supervisor, password, case_id, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

        def signed_in(username):
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            page = context.new_page()
            page.on("console", lambda message: message.type == "error" and "Content Security Policy" in
                    message.text and seen["console_errors"].append(message.text))
            page.goto(url + "/sign-in")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            return context, page

        def check(name, page, context):
            seen["pages"][name] = {"url": page.url, "problems": dom_problems(page),
                                   "cookies": context.cookies()}

        context, page = signed_in(practitioner)
        page.goto(f"{url}/cases/{case_id}")
        seen["risk_before"] = page.locator("#risk + p").inner_text()
        page.get_by_role("link", name="Assess risk").click()
        seen["choose_heading"] = page.locator("h1").inner_text()
        check("choose a template", page, context)
        page.get_by_label("Risk matrix (likelihood × impact)").check()
        page.get_by_role("button", name="Continue").click()
        check("the questions", page, context)
        page.get_by_role("button", name="Work out the risk").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        # Likelihood with the keyboard: focus the first radio, arrow down three times (1 -> 4).
        page.locator("#answer-likelihood").focus()
        for _ in range(3):
            page.keyboard.press("ArrowDown")
        page.get_by_label("5 – Severe").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Work out the risk").click()
        seen["result_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["result_tags"] = page.locator("h1 + p").inner_text()
        seen["factors"] = page.locator("#factors").inner_text()
        seen["practitioner_may_sign"] = page.get_by_role("button", name="Sign off this assessment").count()
        assessment_url = page.url.split("?")[0]
        page.screenshot(path=f"{shots}/risk-result.png", full_page=True)
        check("the result", page, context)
        context.close()

        context, page = signed_in(supervisor)
        page.goto(assessment_url)
        page.get_by_role("button", name="Sign off this assessment").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen["signed_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        check("signed off", page, context)
        page.get_by_role("link", name="All risk assessments on this case").click()
        seen["history_rows"] = page.locator("tr[data-assessment]").count()
        check("history", page, context)
        page.goto(f"{url}/cases/{case_id}")
        seen["risk_after"] = page.locator("#risk + p").inner_text()
        check("case", page, context)
        page.goto(f"{url}/cases")
        seen["list_tag"] = page.locator(f'tr[data-case="{case_id}"] [data-risk]').all_inner_texts()
        page.screenshot(path=f"{shots}/risk-cases.png", full_page=True)
        check("case list", page, context)
        context.close()

        if axe_path:
            for name, info in seen["pages"].items():
                checker = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
                checker.add_cookies(info.pop("cookies"))
                audit = checker.new_page()
                audit.goto(info["url"])
                audit.add_script_tag(path=axe_path)
                info["axe"] = audit.evaluate(AXE_RUN)
                checker.close()
        for info in seen["pages"].values():
            info.pop("cookies", None)
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:8])
