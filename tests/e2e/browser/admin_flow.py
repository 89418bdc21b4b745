"""Drives Debian's chromium through Playwright over administration and the audit pages: an organisation
administrator follows the header's "Administration" link, adds a person (the error summary first, then the
one-time password), adds them to a second team, and opens the usage chart; a supervisor goes from their account
to their teams and opens a member's activity. Every page is checked (the DOM checks and, when AXE_JS is given,
axe-core's WCAG 2.x A/AA rules) at 1280 and at 320 pixels wide.

A system administrator then opens the organisations, registers a partner system (the secret page) and meets the
sharing agreement form's errors and the register; the supervisor opens "Who has looked at this" on a profile.

Run as its own process: `python admin_flow.py URL ORG_ADMIN SUPERVISOR SYSTEM_ADMIN PASSWORD ORGANISATION_ID
TEAM_ID MEMBER_ID PROFILE_ID NEW_USERNAME SCREENSHOT_DIR [AXE_JS]`. TEAM_ID is the team the new person is added
to afterwards; MEMBER_ID a member of the supervisor's team who has done something; PROFILE_ID a profile that
team leads. Prints one JSON object.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from both_widths import NARROW, WIDE, check_both_widths, signed_in
from profile_flow import CHROMIUM_ARGS



def main(url, org_admin, supervisor, system_admin, password, organisation_id, team_id, member_id, profile_id,
         new_username, shots, axe_path=None):
    seen = {"pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

        def person(username):
            return signed_in(browser, url, username, password, axe_path)

        def check(page, name):
            check_both_widths(page, name, seen["pages"], shots, axe_path)

        admin = person(org_admin)
        admin.get_by_role("link", name="Administration").click()
        seen["admin_heading"] = admin.locator("h1").inner_text()
        check(admin, "administration")
        admin.locator(f'a[href="/admin/organisations/{organisation_id}"]').first.click()
        check(admin, "organisation")
        admin.locator(f'a[href="/admin/organisations/{organisation_id}/users/new"]').first.click()
        admin.get_by_role("button", name="Add the person").click()
        seen["new_user_errors"] = admin.locator(".govuk-error-summary__list a").all_inner_texts()
        check(admin, "add a person with errors")
        admin.fill("#display_name", "Nia Patel")
        admin.fill("#username", new_username)
        admin.fill("#email", f"{new_username}@example.org")
        admin.select_option("#team_id", label="Safeguarding Hub")
        admin.check("#role")
        admin.get_by_role("button", name="Add the person").click()
        seen["password_title"] = admin.locator("h1").inner_text()
        seen["password"] = admin.locator("#one-time-password").inner_text()
        check(admin, "one-time password")
        admin.get_by_role("link", name="Go to Nia Patel's page").click()
        new_user_url = admin.url
        check(admin, "a person")

        admin.goto(f"{url}/admin/teams/{team_id}")
        admin.select_option("#user_id", label=f"Nia Patel ({new_username})")
        admin.check("#role")
        admin.get_by_role("button", name="Add to Neighbourhood Team").click()
        seen["member_banner"] = admin.locator(".govuk-notification-banner").inner_text()
        seen["team_members"] = admin.locator("#members").inner_text()
        check(admin, "team")
        admin.goto(new_user_url)
        seen["new_user_teams"] = admin.locator("#person").inner_text()

        admin.goto(f"{url}/admin/usage")
        seen["chart_role"] = admin.locator("svg.concord-chart").get_attribute("role")
        seen["chart_title"] = admin.locator("svg.concord-chart title").text_content()
        seen["usage_rows"] = admin.locator("#usage-table tbody tr").count()
        check(admin, "usage")
        admin.set_viewport_size(NARROW)
        seen["chart_width_320"] = admin.locator("svg.concord-chart").bounding_box()["width"]
        admin.set_viewport_size(WIDE)

        boss = person(supervisor)
        seen["supervisor_nav_admin"] = boss.get_by_role("link", name="Administration").count()
        boss.goto(f"{url}/account")
        boss.locator("#your-teams").click()
        check(boss, "your teams")
        boss.locator(f'a[href="/users/{member_id}/activity"]').first.click()
        seen["activity_heading"] = boss.locator("h1").inner_text()
        seen["activity"] = boss.locator("#activity-entries").inner_text()
        check(boss, "activity")
        boss.goto(f"{url}/profiles/{profile_id}")
        boss.locator("#audit-link").click()
        seen["record_audit"] = boss.locator("#audit-entries").inner_text()
        check(boss, "who has looked")

        operator = person(system_admin)
        operator.goto(f"{url}/admin")
        operator.get_by_role("link", name="Organisations").click()
        check(operator, "organisations")
        operator.goto(f"{url}/admin/api-clients")
        operator.get_by_role("button", name="Register it").click()
        seen["client_errors"] = operator.locator(".govuk-error-summary__list a").all_inner_texts()
        check(operator, "register a partner system with errors")
        operator.fill("#name", "Force records")
        operator.select_option("#organisation_id", organisation_id)
        operator.check("#scopes")
        operator.get_by_role("button", name="Register it").click()
        seen["client_secret"] = operator.locator("#client-secret").inner_text()
        check(operator, "partner system secret")
        operator.goto(f"{url}/admin/sharing-agreements/new")
        operator.get_by_role("button", name="Add the agreement").click()
        seen["agreement_errors"] = operator.locator(".govuk-error-summary__list a").all_inner_texts()
        check(operator, "sharing agreement with errors")
        operator.goto(f"{url}/admin/sharing-agreements")
        check(operator, "sharing agreements")
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
