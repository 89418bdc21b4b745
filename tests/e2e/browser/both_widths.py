"""What browser flows that walk several people through many pages share: a person signed in in a context of their
own, and a page checked at 1280 and 320 px (DOM checks, axe-core, sideways scroll, screenshots)."""
from profile_flow import AXE_RUN, dom_problems

WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 320, "height": 800}


def signed_in(browser, url, username, password, axe_path=None):
    # bypass_csp only so that axe-core can be added to each page as it is (the other browser tests hold the
    # pages to their Content-Security-Policy)
    page = browser.new_context(viewport=WIDE, bypass_csp=bool(axe_path)).new_page()
    page.goto(url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    return page


def check_both_widths(page, name, pages, shots, axe_path=None):
    """The page as it is now (an error or a confirmation too), at both widths, into `pages[name]`."""
    info = pages[name] = {"url": page.url, "problems": dom_problems(page)}
    if axe_path:
        page.add_script_tag(path=axe_path)
        info["axe"] = page.evaluate(AXE_RUN)
    page.screenshot(path=f"{shots}/{name.replace(' ', '-')}-1280.png", full_page=True)
    page.set_viewport_size(NARROW)
    info["problems_320"] = dom_problems(page)
    if axe_path:
        info["axe_320"] = page.evaluate(AXE_RUN)
    info["overflows_320"] = page.evaluate("() => document.documentElement.scrollWidth > 320")
    page.screenshot(path=f"{shots}/{name.replace(' ', '-')}-320.png", full_page=True)
    page.set_viewport_size(WIDE)
