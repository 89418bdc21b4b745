"""Drives Debian's chromium through Playwright over getting access and handing over the lead: a practitioner of
another agency finds a case as "No access" and asks for access; a SPOC of the lead team approves it from their
home page and inbox with the keyboard only; the requester then opens the case. The SPOC offers a person's
profile to the other agency's team, which accepts with consent confirmed; the SPOC restricts a case and the
other practitioner breaks the glass to open it. Every page is checked (the DOM checks and, when AXE_JS is given,
axe-core's WCAG 2.x A/AA rules) at 1280 and at 320 pixels wide, where it is.

Run as its own process: `python access_flow.py URL REQUESTER SPOC PASSWORD CASE_ID CASE_REFERENCE
RESTRICTED_CASE_ID PROFILE_ID TEAM_LABEL SCREENSHOT_DIR [AXE_JS]`. The SPOC's team leads both cases and the
profile; TEAM_LABEL is the requester's team as the transfer's list of teams names it. Prints one JSON object.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from both_widths import check_both_widths, signed_in
from profile_flow import CHROMIUM_ARGS



def main(url, requester, spoc, password, case_id, reference, restricted_id, profile_id, team_label, shots,
         axe_path=None):
    seen = {"pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

        def person(username):
            return signed_in(browser, url, username, password, axe_path)

        def check(page, name):
            check_both_widths(page, name, seen["pages"], shots, axe_path)

        # The other agency's practitioner finds the case as "No access" and asks.
        asker = person(requester)
        check(asker, "requester home")
        asker.goto(f"{url}/cases?q={reference}")
        seen["signpost"] = asker.locator(f'tr[data-case="{case_id}"]').inner_text()
        check(asker, "cases with a signpost")
        asker.locator(f'a[href="/cases/{case_id}/access-request"]').click()
        seen["request_heading"] = asker.locator("h1").inner_text()
        check(asker, "get access")
        asker.get_by_role("button", name="Request access").click()
        seen["request_errors"] = asker.locator(".govuk-error-summary__list a").all_inner_texts()
        check(asker, "get access errors")
        asker.get_by_label("Why do you need access?").fill("Joint work on the ASB referral from housing.")
        asker.get_by_role("button", name="Request access").click()
        seen["requested"] = asker.locator("h1").inner_text()
        check(asker, "access requested")
        asker.goto(url + "/access-requests")
        seen["my_requests"] = asker.locator("#mine").inner_text()
        check(asker, "my requests")

        # The lead team's SPOC decides, keyboard only: from the home page to the inbox, to the request, approve.
        lead = person(spoc)
        seen["spoc_waiting"] = lead.locator("#waiting").inner_text()
        check(lead, "spoc home")
        lead.locator('#waiting a[href="/access-requests"]').focus()
        with lead.expect_navigation():
            lead.keyboard.press("Enter")
        check(lead, "inbox")
        lead.locator('#incoming a[href^="/access-requests/"]').first.focus()
        with lead.expect_navigation():
            lead.keyboard.press("Enter")
        check(lead, "decide")
        lead.locator("#level").focus()                 # "View it", then the arrow key to "View and change it" and back
        lead.keyboard.press("ArrowDown")
        lead.keyboard.press("ArrowUp")
        lead.locator("#expires-day").focus()
        lead.keyboard.type("1")
        lead.keyboard.press("Tab")
        lead.keyboard.type("1")
        lead.keyboard.press("Tab")
        lead.keyboard.type("2099")
        lead.locator("button", has_text="Approve access").focus()
        with lead.expect_navigation():
            lead.keyboard.press("Enter")
        seen["approved_banner"] = lead.locator(".govuk-notification-banner").inner_text()
        check(lead, "approved")

        # The requester opens the case.
        asker.goto(f"{url}/cases/{case_id}")
        seen["opened"] = asker.locator("h1").inner_text()
        asker.goto(url + "/access-requests")
        seen["my_requests_after"] = asker.locator("#mine").inner_text()

        # A person's profile offered to the requester's team, accepted with consent confirmed.
        lead.goto(f"{url}/profiles/{profile_id}/sharing")
        check(lead, "who can see")
        lead.get_by_role("button", name="Ask them to take the lead").click()
        seen["transfer_errors"] = lead.locator(".govuk-error-summary__list a").all_inner_texts()
        check(lead, "who can see errors")
        lead.get_by_label("Which team should lead it?").select_option(label=team_label)
        lead.get_by_label("Why should the lead move?").fill("She has moved to council housing.")
        lead.get_by_role("button", name="Ask them to take the lead").click()
        seen["transfer_banner"] = lead.locator(".govuk-notification-banner").first.inner_text()
        check(lead, "transfer asked")
        asker.goto(url + "/")
        seen["requester_waiting"] = asker.locator("#waiting").inner_text()
        asker.locator('#waiting a[href="/transfers"]').click()
        check(asker, "transfers inbox")
        asker.locator('#incoming a[href^="/transfers/"]').first.click()
        check(asker, "take the lead")
        asker.get_by_role("button", name="Accept the lead").click()
        seen["accept_errors"] = asker.locator(".govuk-error-summary__list a").all_inner_texts()
        check(asker, "take the lead errors")
        asker.get_by_label("They gave consent").check()
        asker.get_by_label("I have checked consent").check()
        asker.get_by_role("button", name="Accept the lead").click()
        seen["accepted_banner"] = asker.locator(".govuk-notification-banner").inner_text()
        check(asker, "transfer accepted")

        # Restrict a case; the other practitioner breaks the glass to open it.
        lead.goto(f"{url}/cases/{restricted_id}/sharing")
        lead.get_by_role("button", name="Restrict this case").click()
        seen["restricted_banner"] = lead.locator(".govuk-notification-banner").first.inner_text()
        check(lead, "restricted")
        asker.goto(f"{url}/cases/{restricted_id}/access-request")
        asker.get_by_label("Why do you need emergency access now?").fill("Child reported missing tonight.")
        asker.get_by_role("button", name="Use emergency access").click()
        seen["glass_url"] = asker.url
        seen["glass_heading"] = asker.locator("h1").inner_text()
        asker.goto(f"{url}/cases/{restricted_id}/sharing")
        check(asker, "who can see, emergency")
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:12])
