"""Drives Debian's chromium through Playwright over the editing pages (issue 16): create a person through the
duplicate check, change details, identifiers, addresses and flags (with the Herbert Protocol), create a
premises and link the person, create a family and add a member — by clicks, as a practitioner would. Every
page met on the way (error pages and the likely-matches page included, which are answers to a POST) is checked
where it is, at 1280 px and at 320 px wide: no sideways scrolling, the DOM checks and axe-core's WCAG A/AA rules.

Run as its own process (Playwright's sync API and eventlet's monkey-patching do not mix):
`python edit_flow.py URL USERNAME PASSWORD SURNAME NHS_NUMBER OTHER_SURNAME SCREENSHOT_DIR [AXE_JS]`.
SURNAME: a person "Maya SURNAME", born 14 February 2011, already exists (the duplicate check finds her);
OTHER_SURNAME: "Dele OTHER_SURNAME" exists, to be added to the family. Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from brand_flow import SIDEWAYS, STICKING_OUT, WIDTHS, sign_in      # beside this file
from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems


def main(url, username, password, surname, nhs_number, other_surname, shots, axe_path=None):
    seen = {"pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(bypass_csp=True, viewport=WIDTHS["wide"])     # to inject axe
        page = context.new_page()

        def check(name):
            """This page as it is (it may be the answer to a POST) at both widths, then back to wide."""
            for width, viewport in (("narrow", WIDTHS["narrow"]), ("wide", WIDTHS["wide"])):
                page.set_viewport_size(viewport)
                info = {"url": page.url, "scroll_width": page.evaluate(SIDEWAYS),
                        "problems": dom_problems(page)}
                if info["scroll_width"] > viewport["width"]:
                    info["sticking_out"] = page.evaluate(STICKING_OUT, viewport["width"])
                if axe_path:
                    page.add_script_tag(path=axe_path)
                    info["axe"] = page.evaluate(AXE_RUN)
                page.screenshot(path=f"{shots}/edit-{name}-{width}.png", full_page=True)
                seen["pages"][f"{name} {width}"] = info

        def summary():
            return page.locator(".govuk-error-summary__list a").all_inner_texts()

        sign_in(page, url, username, password)

        # A new person: the likely match is shown before anything is saved; create anyway.
        page.get_by_role("link", name="New profile", exact=True).click()
        page.get_by_label("Given name").fill("Maya")
        page.get_by_label("Family name").fill(surname)
        page.get_by_label("Day").fill("14")
        page.get_by_label("Month").fill("2")
        page.get_by_label("Year").fill("2011")
        page.get_by_role("button", name="Create profile").click()
        seen["matches_heading"] = page.locator("h1").inner_text()
        seen["match_cards"] = page.locator("[data-match]").count()
        check("likely-matches")
        page.get_by_role("button", name="Create anyway").click()
        seen["created_heading"] = page.locator("h1").inner_text()
        profile_url = page.url.split("?")[0]
        check("profile")

        # Details.
        page.get_by_role("link", name="Change details").click()
        check("details-form")
        page.get_by_label("Email (optional)").fill("not an email")
        page.get_by_role("button", name="Save changes").click()
        seen["details_errors"] = summary()
        check("details-errors")
        page.get_by_label("Email (optional)").fill("maya@example.org")
        page.get_by_label("Victim").check()
        page.get_by_label("Given", exact=True).check()
        page.get_by_role("button", name="Save changes").click()
        seen["details_banner"] = page.locator(".govuk-notification-banner").first.inner_text()

        # Identifiers: a wrong NHS number first.
        page.get_by_role("link", name="Add or remove identifiers").click()
        page.get_by_label("Type of identifier").select_option("nhs_number")
        page.get_by_label("Number", exact=True).fill("943 476 5910")
        page.get_by_role("button", name="Add", exact=True).click()
        seen["identifier_errors"] = summary()
        check("identifier-errors")
        page.get_by_label("Number", exact=True).fill(nhs_number)
        page.get_by_role("button", name="Add", exact=True).click()
        seen["identifiers_listed"] = page.locator(".govuk-summary-list__row").count()
        check("identifiers")

        # An address with from and to.
        page.goto(profile_url)
        page.get_by_role("link", name="Add or remove addresses").click()
        page.get_by_label("Address line 1").fill("12 Chapel Street")
        page.get_by_label("Town or city (optional)").fill("Leeds")
        page.get_by_label("Postcode").fill("ls9 8aa")
        page.locator("#address_from-day").fill("1")
        page.locator("#address_from-month").fill("3")
        page.locator("#address_from-year").fill("2020")
        page.get_by_role("button", name="Add", exact=True).click()
        seen["address_listed"] = page.locator(".govuk-summary-list__key").first.inner_text()
        check("addresses")

        # Flags: dementia leads to the Herbert Protocol form.
        page.goto(profile_url)
        page.get_by_role("link", name="Add or remove flags").click()
        check("flags")
        page.get_by_label("Flag", exact=True).select_option("dementia")
        page.get_by_role("button", name="Add", exact=True).click()
        seen["herbert_heading"] = page.locator("h1").inner_text()
        check("herbert-protocol")
        page.get_by_label("Description").fill("Tall, grey coat")
        page.get_by_label("Places they may go").fill("Roundhay Park\nThe old pit")
        page.get_by_role("button", name="Save Herbert Protocol details").click()
        seen["herbert_saved"] = page.locator("main").inner_text()

        # Premises, and the person linked to it.
        page.get_by_role("link", name="New profile", exact=True).click()
        page.get_by_role("link", name="create a premises profile").click()
        check("premises-form")
        page.get_by_label("Name", exact=True).fill(f"The Red Lion {surname}")
        page.get_by_label("Licensed premises").check()
        page.get_by_label("Address line 1").fill("1 Canal Wharf")
        page.get_by_label("Postcode").fill("LS1 4AP")
        page.get_by_role("button", name="Create premises").click()
        premises_url = page.url.split("?")[0]
        page.get_by_role("link", name="Link or unlink people").click()
        page.get_by_label("Name or identifier of the person").fill(f"Maya {surname}")
        page.get_by_role("button", name="Find people").click()
        check("link-people")
        page.locator(f"tr[data-person='{profile_url.rsplit('/', 1)[1]}']").get_by_role("button").click()
        seen["linked"] = page.locator(".govuk-summary-list__key").all_inner_texts()
        page.goto(premises_url)
        check("premises")
        page.goto(profile_url)
        seen["person_premises"] = page.locator("#premises + ul").inner_text()

        # A family: Maya as a child, then Dele as a parent.
        page.get_by_role("link", name="Add to a new family").click()
        check("family-form")
        page.get_by_label("Name of the family or household").fill(f"The {surname} family")
        page.get_by_label("Child", exact=True).check()
        page.get_by_role("button", name="Create family").click()
        seen["family_heading"] = page.locator("h1").inner_text()
        page.get_by_label("Name or identifier of the person").fill(f"Dele {other_surname}")
        page.get_by_role("button", name="Find people").click()
        check("family-find")
        page.get_by_label("Parent", exact=True).check()
        page.get_by_role("button", name="Add to the family").click()
        seen["family_members"] = page.locator("tr[data-member]").all_inner_texts()
        seen["sharing_link"] = page.get_by_role("link", name="Who can see this").get_attribute("href")
        check("family")
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:9])
