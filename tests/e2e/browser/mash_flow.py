"""Drives Debian's chromium through Playwright over the MASH journey: a school practitioner refers (an empty form's
errors first), the MASH worker triages it red and asks the police team, the police practitioner answers from My
actions, the MASH worker decides and opens a case, and the dashboard counts it. Each page is checked at 1280 and
320 px (DOM checks, no sideways scroll at 320) and, when AXE_JS is given, with axe-core's WCAG 2.x A/AA rules.

Run as its own process: `python mash_flow.py URL PASSWORD REFERRER MASH_WORKER ASKED TEAM_LABEL MASH_LABEL
SCREENSHOT_DIR [AXE_JS]` (MASH_LABEL: the MASH to choose on the referral form, where there is more than one).
Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems

WIDTHS = {"wide": {"width": 1280, "height": 900}, "narrow": {"width": 320, "height": 800}}
SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


def main(url, password, referrer, worker, asked, team_label, mash_label, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        sessions = {}

        def as_user(username):
            context = browser.new_context(viewport=WIDTHS["wide"])
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
                    and seen["console_errors"].append(m.text))
            page.goto(url + "/sign-in")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            sessions[username] = context
            return page

        def check(page, name, who):
            seen["pages"][name] = {"url": page.url, "who": who, "problems": dom_problems(page)}

        # The referrer: an empty form, then a referral about a new person.
        page = as_user(referrer)
        page.get_by_role("link", name="MASH", exact=True).click()
        page.get_by_role("link", name="Make a referral").click()
        check(page, "make a referral", referrer)
        page.get_by_role("button", name="Send referral").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        page.get_by_label("First name").fill("Maisie")
        page.get_by_label("Last name").fill("Thornton")
        page.locator("#date_of_birth-day").fill("3")
        page.locator("#date_of_birth-month").fill("9")
        page.locator("#date_of_birth-year").fill("2017")
        page.get_by_label("Child", exact=True).check()
        seen["mash_choices"] = page.locator("input[name=mash_team_id]").count()
        if seen["mash_choices"]:
            page.get_by_label(mash_label, exact=True).check()
        page.get_by_label("What are your concerns?").fill("Came to school with a burn on her arm; would not say how.")
        page.get_by_label("Your name").fill("Joanne Pearson")
        page.get_by_label("Your organisation").fill("Park View Academy")
        page.get_by_label("Phone number or email address").fill("0113 496 0000")
        page.get_by_role("button", name="Send referral").click()
        seen["sent_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        seen["reference"] = page.locator("h1").inner_text()
        check(page, "referral as the referrer", referrer)

        # The MASH worker: the dashboard, then triage, research and (after the answer) the decision.
        mash = as_user(worker)
        mash.goto(url + "/mash")
        seen["awaiting"] = mash.locator("[data-count=awaiting_triage]").inner_text()
        seen["refresh_by_default"] = mash.locator("meta[http-equiv=refresh]").count()
        check(mash, "dashboard", worker)
        mash.get_by_role("link", name="Keep this page up to date").click()
        seen["refresh"] = mash.locator("meta[http-equiv=refresh]").get_attribute("content")
        check(mash, "dashboard reloading", worker)
        mash.get_by_role("link", name="Stop reloading").click()
        mash.get_by_role("link", name=seen["reference"]).first.click()
        check(mash, "referral", worker)
        mash.get_by_role("button", name="Save triage").click()
        seen["triage_errors"] = mash.locator(".govuk-error-summary__list a").all_inner_texts()
        mash.get_by_label("Red").check()
        mash.get_by_label("Why this rating").fill("Unexplained burn to a child.")
        mash.get_by_role("button", name="Save triage").click()
        seen["rag"] = mash.locator("[data-rag]").inner_text()
        mash.get_by_label("Team to ask").select_option(label=team_label)
        mash.get_by_label("Question").fill("Any call-outs to the home in the last year?")
        mash.get_by_role("button", name="Send request").click()
        seen["asked_banner"] = mash.locator(".govuk-notification-banner").first.inner_text()

        # The asked team: My actions, the request (subject's name and question only), an answer.
        police = as_user(asked)
        police.get_by_role("link", name="My actions").click()
        seen["research_rows"] = police.locator("table[data-research-requests] tbody tr").all_inner_texts()
        check(police, "my actions with research", asked)
        police.get_by_role("link", name="Maisie Thornton").first.click()
        seen["asked_heading"] = police.locator("h1").inner_text()
        seen["asked_text"] = police.locator("main").inner_text()
        check(police, "research request", asked)
        police.get_by_label("Yes, we hold information").check()
        police.get_by_label("What your team knows").fill("Two domestic incidents at the address in 2026.")
        police.get_by_role("button", name="Send answer").click()
        seen["answered"] = police.locator("[data-answer]").inner_text()

        mash.reload()
        seen["research_table"] = mash.locator("table[data-research]").inner_text()
        mash.get_by_label("Section 47 enquiry").check()
        mash.get_by_label("Why", exact=True).fill("Threshold met: strategy discussion held.")
        mash.get_by_label("Open a case (optional)").select_option("exploitation")
        mash.get_by_role("button", name="Record decision").click()
        seen["decided_status"] = mash.locator("[data-status]").inner_text()
        seen["case_link"] = mash.locator("[data-case-link]").count()
        check(mash, "decided referral", worker)
        mash.screenshot(path=f"{shots}/mash-referral.png", full_page=True)
        mash.goto(url + "/mash")
        seen["decided_today"] = mash.locator("[data-count=decided_today]").inner_text()
        mash.screenshot(path=f"{shots}/mash-dashboard.png", full_page=True)

        # Every page again at 320 px (no sideways scroll) and through axe-core at both widths.
        for name, info in seen["pages"].items():
            for width, size in WIDTHS.items():
                checker = browser.new_context(bypass_csp=True, viewport=size)
                checker.add_cookies(sessions[info["who"]].cookies())
                audit = checker.new_page()
                audit.goto(info["url"])
                if width == "narrow":
                    info["sideways"] = audit.evaluate(SIDEWAYS)
                    info["problems_narrow"] = dom_problems(audit)
                if axe_path:
                    audit.add_script_tag(path=axe_path)
                    info[f"axe_{width}"] = audit.evaluate(AXE_RUN)
                checker.close()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:10])
