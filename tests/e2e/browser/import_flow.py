"""Drives Debian's chromium through Playwright over the bulk import pages: an organisation administrator (who is in
a team) follows Administration → "Import profiles from a file", submits the form without a file (the error summary),
uploads a CSV with one bad row, and watches the status page refresh itself until the import has finished: the
<progress> full, the counts, and the error table naming the row and column. Every page is checked (the DOM checks
and, when AXE_JS is given, axe-core's WCAG 2.x A/AA rules) at 1280 and at 320 pixels wide.

Run as its own process: `python import_flow.py URL ORG_ADMIN PASSWORD SCREENSHOT_DIR [AXE_JS]`. Prints one JSON object.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from both_widths import check_both_widths, signed_in
from profile_flow import CHROMIUM_ARGS

HEADER = "external_system,external_id,given_name,family_name,date_of_birth,nhs_number,address_line1,address_postcode"


def csv_file() -> bytes:
    rows = [f"browser,B{n},Ines{n},Upload,1985-03-{n % 28 + 1:02d},,{n} Kirk Gate,WF1 2DA" for n in range(1, 41)]
    rows[9] = "browser,B10,Ines10,Upload,1985-03-11,,10 Kirk Gate,NOT A POSTCODE"
    return ("\n".join([HEADER] + rows) + "\n").encode()


def main(url, org_admin, password, shots, axe_path=None):
    seen = {"pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = signed_in(browser, url, org_admin, password, axe_path)

        def check(name):
            check_both_widths(page, name, seen["pages"], shots, axe_path)

        page.get_by_role("link", name="Administration").click()
        page.get_by_role("link", name="Import profiles from a file").click()
        seen["form_heading"] = page.locator("h1").inner_text()
        check("import form")
        page.get_by_role("button", name="Upload and import").click()
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        check("import form with errors")
        page.set_input_files("#file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": csv_file()}])
        page.get_by_role("button", name="Upload and import").click()
        page.wait_for_selector("#import-progress")
        seen["first_status"] = page.locator("#import-status").inner_text()
        seen["first_refresh"] = page.locator('meta[http-equiv="refresh"]').count()
        page.wait_for_selector("#import-status:has-text('Finished')", timeout=90_000)   # it refreshes itself
        seen["status"] = page.locator("#import-status").inner_text()
        seen["refresh_when_done"] = page.locator('meta[http-equiv="refresh"]').count()
        progress = page.locator("#import-progress")
        seen["progress"] = [progress.get_attribute("value"), progress.get_attribute("max")]
        seen["progress_text"] = page.locator("#import-progress-text").inner_text()
        seen["counts"] = page.locator("#import-counts").inner_text()
        seen["error_rows"] = page.locator("#import-errors tbody tr").all_inner_texts()
        check("import finished")
        page.get_by_role("link", name="Back to imports").click()
        seen["recent"] = page.locator("table tbody tr").all_inner_texts()
        check("imports list")
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
