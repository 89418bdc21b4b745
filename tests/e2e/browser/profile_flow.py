"""Drives Debian's chromium through Playwright over the profile pages: sign in, create a person, see the
duplicate warning for a second similar person, search, open the profile, ask for access to a signpost with
JavaScript off, and check each page's accessibility.

Run as its own process (Playwright's sync API and eventlet's monkey-patching do not mix):
`python profile_flow.py URL USERNAME PASSWORD SURNAME NHS_NUMBER SCREENSHOT_DIR [AXE_JS]`.
SURNAME is a family name another organisation already holds a profile under (a signpost to this user).
AXE_JS is axe-core's axe.min.js (pinned, from the npm registry): when given, every page is also checked
against axe's WCAG 2.x A/AA rules. Prints one JSON object with what it saw.
"""
import json
import sys

from playwright.sync_api import Error, sync_playwright

import settle  # noqa: F401  (beside this file: reads that do not auto-wait wait for load)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Simple checks that need no library: labels, headings in order, names for links and buttons, unique ids.
DOM_CHECKS = """() => {
  const problems = [];
  const named = el => (el.textContent || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!(label && label.textContent.trim()) && !el.closest('label') && !el.getAttribute('aria-label')
        && !el.getAttribute('aria-labelledby')) problems.push('input without a label: ' + (el.name || el.id));
  }
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => Number(h.tagName[1]));
  if (levels.filter(level => level === 1).length !== 1) problems.push('not exactly one h1: ' + levels.join(','));
  let previous = 1;
  for (const level of levels) {
    if (level > previous + 1) problems.push(`heading h${level} after h${previous}`);
    previous = level;
  }
  for (const el of document.querySelectorAll('a[href], button, summary')) {
    if (!named(el)) problems.push('a link or button without a name: ' + el.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt');
  const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
  for (const id of new Set(ids)) if (ids.filter(other => other === id).length > 1) problems.push('duplicate id ' + id);
  if (!document.documentElement.lang) problems.push('no lang on html');
  if (!document.title.trim()) problems.push('no title');
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) problems.push('aria-describedby names a missing id ' + id);
    }
  }
  return problems;
}"""
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
}"""


def dom_problems(page) -> list:
    """DOM_CHECKS on the page once it has loaded. A click that navigates returns when the new document is
    committed, not parsed: evaluating then can meet an empty document (no <html> yet), or the context can be
    replaced under the script. So wait for "load", and on such an error wait again and retry."""
    for attempt in range(3):
        page.wait_for_load_state("load")
        try:
            return page.evaluate(DOM_CHECKS)
        except Error:
            if attempt == 2:
                raise
            page.wait_for_timeout(200)


def main(url, username, password, surname, nhs_number, shots, axe_path=None):
    seen = {"pages": {}, "console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text
                and seen["console_errors"].append(message.text))

        def check(name):
            """DOM checks now; the URL is kept for axe, run later in a context allowed to inject it."""
            seen["pages"][name] = {"url": page.url, "problems": dom_problems(page)}

        page.goto(url + "/profiles")
        seen["sent_to_sign_in"] = page.url.endswith("/sign-in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

        # Create a person through the form, from the header navigation.
        page.get_by_role("link", name="New profile", exact=True).click()
        seen["new_heading"] = page.locator("h1").inner_text()
        page.get_by_role("button", name="Create profile").click()            # nothing filled in
        seen["empty_errors"] = page.locator(".govuk-error-summary__list a").all_inner_texts()
        seen["error_summary_focused"] = page.evaluate(
            "() => !!document.activeElement && !!document.activeElement.closest('.govuk-error-summary')")
        page.screenshot(path=f"{shots}/create-errors.png", full_page=True)
        check("create with errors")
        page.get_by_label("Given name").fill("Maya")
        page.get_by_label("Family name").fill(surname)
        page.get_by_label("Day").fill("14")
        page.get_by_label("Month").fill("2")
        page.get_by_label("Year").fill("2011")
        page.get_by_label("Female", exact=True).check()
        page.get_by_label("NHS number (optional)").fill(nhs_number)
        page.get_by_label("Address line 1").fill("12 Chapel Street")
        page.get_by_label("Town or city").fill("Leeds")
        page.get_by_label("Postcode").fill("ls9 8aa")
        page.get_by_role("button", name="Create profile").click()
        seen["created_heading"] = page.locator("h1").inner_text()
        seen["created_banner"] = page.locator(".govuk-notification-banner").first.inner_text()
        first_url = page.url.split("?")[0]

        # A second, similar person: the new profile's page warns of the first.
        page.get_by_role("link", name="New profile", exact=True).click()
        page.get_by_label("Given name").fill("Maya")
        page.get_by_label("Family name").fill(surname)
        page.get_by_label("Day").fill("14")
        page.get_by_label("Month").fill("2")
        page.get_by_label("Year").fill("2011")
        page.get_by_role("button", name="Create profile").click()
        seen["matches_heading"] = page.locator("h1").inner_text()     # the check before saving
        check("likely matches before saving")
        page.get_by_role("button", name="Create anyway").click()
        seen["duplicate_banner"] = page.locator("#duplicate-warning").inner_text()
        seen["duplicate_link_to_first"] = page.locator("#duplicate-warning a", has_text=f"Maya {surname}") \
            .first.get_attribute("href") == first_url.replace(url, "")
        page.screenshot(path=f"{shots}/duplicate-warning.png", full_page=True)
        check("profile with duplicate warning")
        second_url = page.url.split("?")[0]

        # Search finds both (and the other organisation's signpost), then open the first.
        page.get_by_role("link", name="Search profiles", exact=True).click()
        page.get_by_label("Name").fill(surname)
        page.get_by_role("button", name="Search", exact=True).click()
        seen["search_rows"] = page.locator("tr[data-profile]").count()
        seen["search_access"] = page.locator("tr[data-profile]").evaluate_all(
            "rows => rows.map(row => row.dataset.access)")
        page.screenshot(path=f"{shots}/search.png", full_page=True)
        check("search results")
        page.locator(f'tr[data-access=full] a[href="{first_url.replace(url, "")}"]').click()
        seen["opened"] = page.locator("h1").inner_text()
        seen["profile_text"] = page.locator("main").inner_text()
        page.screenshot(path=f"{shots}/profile.png", full_page=True)
        check("profile")

        page.get_by_role("link", name="Merge into this profile").first.click()
        seen["merge_heading"] = page.locator("h1").inner_text()
        page.screenshot(path=f"{shots}/merge-confirm.png", full_page=True)
        check("merge confirmation")
        page.goto(page.url.split("/merge")[0] + "/history")
        check("history")

        # Without JavaScript: search, open the signpost's "Request access" (a native disclosure), ask.
        cookies = context.cookies()
        plain = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
        plain.add_cookies(cookies)
        nojs = plain.new_page()
        nojs.goto(url + "/profiles")
        nojs.get_by_label("Name").fill(surname)
        nojs.get_by_role("button", name="Search", exact=True).click()
        signpost = nojs.locator("tr[data-access=signpost]").first
        signpost.locator("summary").click()
        signpost.get_by_label("Why do you need access").fill("Strategy meeting on Maya's school attendance")
        signpost.get_by_role("button", name="Request access").click()
        seen["no_js_request_banner"] = nojs.locator(".govuk-notification-banner").inner_text()
        nojs.screenshot(path=f"{shots}/request-access-no-js.png", full_page=True)
        plain.close()

        if axe_path:
            # axe is injected as a script, which the pages' CSP forbids: a second context may bypass it.
            checker = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
            checker.add_cookies(cookies)
            audit = checker.new_page()
            for name, info in seen["pages"].items():
                if name == "create with errors":
                    continue        # a POST's answer: checked by the DOM checks above
                audit.goto(info["url"])
                audit.add_script_tag(path=axe_path)
                info["axe"] = audit.evaluate(AXE_RUN)
            checker.close()
        seen["first"], seen["second"] = first_url, second_url
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:8])
