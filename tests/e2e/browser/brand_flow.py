"""Drives Debian's chromium through Playwright over Concord's pages for issue 16's brand checks: each page at
1280 px and at 320 px wide (400% zoom of a 1280 px screen) must not scroll sideways, pass the DOM checks and
axe-core's WCAG A/AA rules; the notifications page's mark-as-read flow changes the header's count; the search
results start above the fold of a 1366×768 screen; an unknown address is a styled page; signing in and searching
work with the keyboard alone (Tab, typing, Enter: no clicks, no focusing by script); the emergency access form's
error and its result are checked like the pages. (Sharing and approving an access request keyboard-only:
case_flow.py and access_flow.py.)

Run as its own process (Playwright's sync API and eventlet's monkey-patching do not mix):
`python brand_flow.py URL USERNAME PASSWORD PAGES_JSON SCREENSHOT_DIR [AXE_JS]`, PAGES_JSON being
{"name": "/path", …} (its key "_break_glass", if there, is a record's access-request page whose emergency form is
used). Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from profile_flow import AXE_RUN, CHROMIUM_ARGS, dom_problems      # beside this file

WIDTHS = {"wide": {"width": 1280, "height": 900}, "narrow": {"width": 320, "height": 800}}
SIDEWAYS = "() => document.documentElement.scrollWidth"
# What sticks out past the right edge, to say why a page scrolls sideways.
STICKING_OUT = """width => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > width + 1 && !el.closest('.concord-table-scroll'))
  .slice(0, 8).map(el => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)"""
COUNT = "() => (document.querySelector('#header-notifications .concord-count') || {}).textContent || ''"


FOCUSED = "() => { const el = document.activeElement; return el ? (el.id || el.getAttribute('href') || el.textContent.trim()) : ''; }"


def tab_to(page, matches, limit=80) -> int:
    """Presses Tab until the focused element matches (a CSS selector); how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("selector => !!document.activeElement && document.activeElement.matches(selector)", matches):
            return presses
    raise AssertionError(f"Tab never reached {matches}; last focused: {page.evaluate(FOCUSED)}")


def keyboard_only(browser, url, username, password, surname, seen):
    """Sign in and search with the keyboard alone, as someone who uses no mouse does."""
    page = browser.new_context(viewport=WIDTHS["wide"]).new_page()
    page.goto(url + "/sign-in")
    tab_to(page, "#username")
    page.keyboard.type(username)
    tab_to(page, "#password")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    seen["keyboard_sign_in"] = page.locator("h1").inner_text()
    tab_to(page, "a[href='/profiles']")                  # the service navigation's "Search profiles"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "#q")
    page.keyboard.type(surname)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    seen["keyboard_results"] = page.locator("tr[data-profile]").count()
    tab_to(page, "tr[data-profile] a[href^='/profiles/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    seen["keyboard_profile"] = {"url": page.url, "heading": page.locator("h1").inner_text()}
    page.context.close()


def check_page(audit, name, width, viewport, axe_path, shots, seen, status):
    info = {"status": status, "url": audit.url, "scroll_width": audit.evaluate(SIDEWAYS),
            "problems": dom_problems(audit)}
    if info["scroll_width"] > viewport["width"]:
        info["sticking_out"] = audit.evaluate(STICKING_OUT, viewport["width"])
    if axe_path:
        audit.add_script_tag(path=axe_path)
        info["axe"] = audit.evaluate(AXE_RUN)
    audit.screenshot(path=f"{shots}/{name}-{width}.png", full_page=True)
    seen["pages"][f"{name} {width}"] = info


def break_glass(audit, url, path, axe_path, shots, seen):
    """The emergency access form sent empty (its error) and then with a reason (the record, opened), each
    checked at both widths."""
    for width, viewport in WIDTHS.items():
        audit.set_viewport_size(viewport)
        audit.goto(url + path)
        with audit.expect_navigation():
            audit.get_by_role("button", name="Use emergency access").click()
        check_page(audit, "break-glass-error", width, viewport, axe_path, shots, seen, 422)
    audit.get_by_label("Why do you need emergency access now?").fill("A child is missing and was last seen here.")
    with audit.expect_navigation():
        audit.get_by_role("button", name="Use emergency access").click()
    seen["emergency_banner"] = audit.locator(".govuk-notification-banner").first.inner_text()
    for width, viewport in WIDTHS.items():
        audit.set_viewport_size(viewport)
        check_page(audit, "break-glass-granted", width, viewport, axe_path, shots, seen, 200)


def sign_in(page, url, username, password):
    page.goto(url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def main(url, username, password, pages_json, shots, axe_path=None):
    pages = json.loads(open(pages_json).read())
    glass, surname = pages.pop("_break_glass", None), pages.pop("_surname", "")
    seen = {"pages": {}, "console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=WIDTHS["wide"])
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text
                and seen["console_errors"].append(message.text))
        sign_in(page, url, username, password)
        seen["favicon"] = page.evaluate("() => [...document.querySelectorAll('link[rel=icon]')].map(l => l.href)")
        seen["font"] = page.evaluate("() => getComputedStyle(document.querySelector('h1')).fontFamily")

        # Notifications: the header's count, mark one, then all.
        page.locator("header a[href='/notifications']").click()     # the header's (home has its own link too)
        seen["notifications_heading"] = page.locator("h1").inner_text()
        seen["count_before"] = page.evaluate(COUNT)
        seen["unread_cards"] = page.locator("[data-notification][data-read=false]").count()
        seen["record_links"] = page.locator("[data-notification] a[href^='/profiles/']").count()
        page.screenshot(path=f"{shots}/notifications.png", full_page=True)
        page.locator("[data-notification][data-read=false]").first.get_by_role("button").click()
        seen["after_one_banner"] = page.locator(".govuk-notification-banner").inner_text()
        seen["count_after_one"] = page.evaluate(COUNT)
        seen["unread_after_one"] = page.locator("[data-notification][data-read=false]").count()
        page.get_by_role("button", name="Mark all as read").click()
        seen["after_all_banner"] = page.locator(".govuk-notification-banner").inner_text()
        seen["count_after_all"] = page.evaluate(COUNT)
        seen["summary_after_all"] = page.locator("#unread-summary").inner_text()
        page.goto(url + "/")
        seen["home_count_after_all"] = page.evaluate(COUNT)

        # An unknown address, as a browser asks for it.
        answer = page.goto(url + "/no/such/page")
        seen["unknown"] = {"status": answer.status, "type": answer.headers.get("content-type"),
                           "heading": page.locator("h1").inner_text()}

        # The search results above the fold of a 1366×768 screen.
        fold = browser.new_context(viewport={"width": 1366, "height": 768})
        fold.add_cookies(context.cookies())
        search = fold.new_page()
        search.goto(url + pages["search"])
        seen["search_title"] = search.title()
        seen["results_top"] = search.evaluate("() => document.querySelector('#results').getBoundingClientRect().top")
        seen["first_row_bottom"] = search.evaluate(
            "() => document.querySelector('tr[data-profile]').getBoundingClientRect().bottom")
        search.screenshot(path=f"{shots}/search-1366x768.png")
        fold.close()

        # Every page at both widths: no sideways scrolling, DOM checks, axe (CSP bypassed to inject it).
        checker = browser.new_context(bypass_csp=True, viewport=WIDTHS["wide"])
        checker.add_cookies(context.cookies())
        audit = checker.new_page()
        for name, path in pages.items():
            for width, viewport in WIDTHS.items():
                audit.set_viewport_size(viewport)
                answer = audit.goto(url + path)
                check_page(audit, name, width, viewport, axe_path, shots, seen, answer.status)
        if glass:
            break_glass(audit, url, glass, axe_path, shots, seen)
        checker.close()
        keyboard_only(browser, url, username, password, surname, seen)
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:7])
