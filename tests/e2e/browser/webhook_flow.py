"""Drives Debian's chromium through Playwright over the webhook pages: an organisation administrator goes from
Administration to Webhooks, opens one, sees a dead-lettered delivery and sends it again; each page at 1280 and
320 px (DOM checks and, when AXE_JS is given, axe-core).

Run as its own process: `python webhook_flow.py URL USERNAME PASSWORD WEBHOOK_ID SCREENSHOT_DIR [AXE_JS]`.
Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from both_widths import check_both_widths, signed_in
from profile_flow import CHROMIUM_ARGS


def main(url, username, password, webhook_id, shots, axe_path=None):
    seen = {"pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = signed_in(browser, url, username, password, axe_path)
        page.goto(url + "/admin")
        page.get_by_role("link", name="Webhooks").click()
        seen["list_heading"] = page.locator("h1").inner_text()
        seen["list_rows"] = page.locator("#webhooks-table tbody tr").all_inner_texts()
        check_both_widths(page, "webhooks", seen["pages"], shots, axe_path)
        page.locator(f"tr[data-webhook='{webhook_id}'] a").click()
        seen["failed_rows"] = page.locator("tr[data-status='failed']").count()
        seen["first_row"] = page.locator("#deliveries-table tbody tr").first.inner_text()
        check_both_widths(page, "webhook deliveries", seen["pages"], shots, axe_path)
        page.locator("tr[data-status='failed'] button", has_text="Send again").first.click()
        seen["banner"] = page.locator(".govuk-notification-banner").inner_text()
        seen["after_url"] = page.url
        check_both_widths(page, "redelivered", seen["pages"], shots, axe_path)
        page.goto(f"{url}/admin/webhooks/{webhook_id}?status=failed")
        seen["failed_filter_rows"] = page.locator("tr[data-status='failed']").count()
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
