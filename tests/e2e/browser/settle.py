"""Reads that Playwright does not auto-wait for wait for the page to load first.

A click that navigates returns once the new document is committed, not parsed. Locator actions and
`inner_text` wait for their element, but `count()`, `all_inner_texts()`, `is_visible()` and `page.evaluate`
answer at once: in that short window they see an empty document (no rows, no <html>). Every flow imports this
(through profile_flow or sign_in_flow), so each such read first waits for "load" — a no-op once loaded.
"""
from playwright.sync_api import Locator, Page


def _after_load(read, page_of):
    def settled(self, *args, **kwargs):
        page_of(self).wait_for_load_state("load")
        return read(self, *args, **kwargs)
    settled.__doc__ = read.__doc__
    return settled


for _name in ("count", "all", "all_inner_texts", "all_text_contents", "is_visible", "is_hidden"):
    setattr(Locator, _name, _after_load(getattr(Locator, _name), lambda locator: locator.page))
Page.evaluate = _after_load(Page.evaluate, lambda page: page)
