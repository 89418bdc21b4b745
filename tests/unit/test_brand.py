"""Concord's own brand (not GOV.UK's), its words for codes, and error pages for browsers (issue 16)."""
import json
import re
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.http import problem, problem_from_exception
from gateway.web import error_pages, words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "gateway" / "web" / "templates"
STATIC = ROOT / "gateway" / "static"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def request(path, accept):
    return Request(EnvironBuilder(path=path, headers={"Accept": accept}).get_environ())


@pytest.mark.skipif(not (STATIC / "concord.css").exists(), reason="make install builds concord.css (needs npm)")
def test_the_built_stylesheet_has_no_gds_transport_and_no_crown_or_crest():
    css = (STATIC / "concord.css").read_text()
    assert "GDS Transport" not in css and "@font-face" not in css
    assert not re.search(r"crown|crest|govuk-logo", css, re.I)
    assert "system-ui" in css and ".concord-header" in css and ".concord-table-scroll" in css
    assert not (STATIC / "fonts").exists() and not (STATIC / "images").exists(), "GOV.UK's own fonts and images"


def test_no_template_has_the_crown_the_govuk_logotype_or_govuk_frontend_css():
    for template in TEMPLATES.glob("*.html"):
        text = re.sub(r"{#.*?#}", "", template.read_text(), flags=re.S)     # comments may name GOV.UK Frontend
        for banned in ("govuk-header__logotype", "govuk-logo", "crown", "GOV.UK", "govuk-frontend.min.css",
                       "govuk-footer__copyright-logo", "GDS Transport"):
            assert banned.lower() not in text.lower(), (template.name, banned)


def test_the_favicon_is_there_as_svg_png_and_ico():
    assert (STATIC / "favicon.svg").read_text().startswith("<svg")
    assert (STATIC / "favicon.png").read_bytes().startswith(b"\x89PNG")
    assert (STATIC / "favicon.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_codes_read_as_words():
    assert words.words("org_admin") == "Organisation administrator"
    assert words.words("spoc") == "Single point of contact (SPOC)"
    assert words.words("youth_offending") == "Youth offending"
    assert words.words("some_new_code") == "Some new code"            # never a code, even undescribed
    assert words.words("case.review_due") == "Case review due"
    assert words.words_list(["org_admin", "system_admin"]) == "Organisation administrator, System administrator"
    assert words.words_list([]) == "None"
    assert words.readable("Accept or reject the transfer of /api/v1/cases/8d3f8f5e-5c1e-4f0e-9a43-2d6f0b7c1a10.") \
        == "Accept or reject the transfer of this case."


def test_no_template_prints_a_stored_code_without_its_words():
    """`{{ x.role }}`, `{{ x.status }}` … in text (not in an attribute) must go through a words filter."""
    code_like = re.compile(r"{{\s*[\w.]+\.(role|roles|status|kind|level|source|type|grantee_type|lawful_basis_code|"
                           r"organisation_type|team_kind|priority|case_type)\s*}}")
    for template in TEMPLATES.glob("*.html"):
        text = re.sub(r'="[^"]*"', '=""', template.read_text())        # attribute values are not read
        assert not code_like.findall(text), (template.name, code_like.findall(text))


def test_a_browser_is_told_what_went_wrong_in_a_page_and_an_api_client_in_a_problem():
    assert error_pages.wants_html(request("/no/such/page", BROWSER))
    assert not error_pages.wants_html(request("/no/such/page", "*/*"))                       # curl
    assert not error_pages.wants_html(request("/no/such/page", "application/json"))
    assert not error_pages.wants_html(request("/api/v1/nothing", BROWSER))                   # the API, always
    assert not error_pages.wants_html(request("/readyz", BROWSER))

    failed = problem_from_exception(RuntimeError("boom"))                                     # an unexpected 500
    page = error_pages.for_browser(request("/profiles", BROWSER), failed, "req-12345678")
    assert page.status_code == 500 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in html and "req-12345678" in html
    assert "boom" not in html and 'class="concord-header"' in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")

    unavailable = problem(503, "service-unavailable", "Unavailable", "The cases service is not running.",
                          headers={"Retry-After": "5"})
    page = error_pages.for_browser(request("/cases", BROWSER), unavailable)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "Sorry, the service is unavailable" in page.get_data(as_text=True)
    assert "cases service" not in page.get_data(as_text=True)                            # no internals

    api = error_pages.for_browser(request("/api/v1/cases", BROWSER), unavailable)
    assert api is unavailable and json.loads(api.get_data())["status"] == 503


# -- the sweep over every page (issue 16): words, table scroll boxes, the home page's "My actions" --------------
CODE_FIELDS = ("role|roles|status|kind|level|computed_level|source|type|grantee_type|lawful_basis|lawful_basis_code|"
               "organisation_type|team_kind|priority|case_type|power|outcome|preferred|scheme|gender|premises_type|"
               "family_role|field|reminder|view")


def template_texts():
    """Every template with its comments out and attribute values emptied (an attribute value is not read)."""
    for template in sorted(TEMPLATES.glob("*.html")):
        text = re.sub(r"{#.*?#}", "", template.read_text(), flags=re.S)
        yield template.name, re.sub(r'="[^"]*"', '=""', text)


def page_templates():
    """The pages' template environment with every page module's filters (each module adds its own)."""
    import importlib
    for module in ("action_pages", "asb_pages", "case_pages", "risk_pages", "home_pages"):
        importlib.import_module(f"gateway.web.{module}")
    from gateway.web.profile_views import templates
    return templates


def test_no_template_prints_a_code_field_or_falls_back_to_the_code_itself():
    printed = re.compile(r"{{\s*[\w.]+\.(" + CODE_FIELDS + r")\s*}}")
    fallback = re.compile(r"\.get\(\s*([\w.]+)\s*,\s*\1\s*\)")             # labels.get(x.code, x.code)
    underscores = re.compile(r"\|\s*replace\(\s*['\"]_['\"]")               # a code with its _ taken out
    for name, text in template_texts():
        for pattern in (printed, fallback, underscores):
            assert not pattern.search(text), (name, pattern.search(text).group(0))
    assert len(list(TEMPLATES.glob("*.html"))) >= 45, "the new pages' templates are all in the one folder"


def test_every_label_filter_reads_an_unknown_code_as_words_and_leaves_free_text_alone():
    templates = page_templates()
    labels = [name for name in templates.filters if name.endswith("_label")]
    assert {"priority_label", "risk_label", "power_label", "power_status_label", "action_status_label",
            "outcome_label", "case_role_label", "flag_label", "consent_label"} <= set(labels)
    for name in labels:
        assert templates.filters[name]("some_new_code") == "Some new code", name
    assert words.words("UK GDPR Art. 6(1)(e) public task") == "UK GDPR Art. 6(1)(e) public task"
    assert words.words("public_task").startswith("Public task") and words.words("email") == "Email"
    from gateway.web.access_pages import with_links                   # requests' and transfers' statuses
    assert with_links({"status": "some_new_code", "record": {"type": "case", "id": "x"}})["status_text"] \
        == "Some new code"


def test_every_table_is_in_a_focusable_labelled_scroll_box():
    box = re.compile(r'<div class="concord-table-scroll" tabindex="0" role="region" aria-label(ledby)?="[^"]+">\s*$')
    tables = 0
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        for found in re.finditer(r"<table\b", text):
            tables += 1
            assert box.search(text[:found.start()]), (template.name, text[:found.start()].splitlines()[-1])
        assert text.count("<table") == text.count("</table>"), template.name
    assert tables >= 20


def test_the_home_page_shows_my_actions_due_and_overdue_with_a_link_to_all():
    from gateway.web import home_pages
    templates = page_templates()
    action = {"id": "a1", "case_id": "c1", "case_reference": "CON-2026-000123", "title": "Visit the family",
              "due": "2026-12-01", "priority": "high", "status": "open", "overdue": True,
              "assignee": {"display_name": "Leeds ASB Hub"}}
    values = {"principal": {"display_name": "Nadia"}, "teams": [], "team_cases": [], "waiting": {},
              "notifications": {"unread": 0, "items": []}, "recent": [], "unavailable": home_pages.UNAVAILABLE,
              "signed_in": True, "nav": "home", "title": "Home"}
    html = templates.get_template("home.html").render(
        **values, my_actions={"items": [action], "counts": {"active": 7, "overdue": 2, "due_this_week": 3}})
    section = html[html.index('id="my-actions"'):html.index('id="team-cases"')]
    assert '<a class="govuk-link" href="/actions?view=overdue"><strong>2</strong> overdue</a>' in section
    assert "<strong>3</strong> due this week" in section and "<strong>7</strong> open or in progress" in section
    assert "Visit the family" in section and "High" in section and "1 December 2026" in section
    assert 'href="/cases/c1#actions">CON-2026-000123' in section and 'href="/actions">All your actions' in section
    assert "Overdue" in section and "high</" not in section
    none = templates.get_template("home.html").render(
        **values, my_actions={"items": [], "counts": {"active": 0, "overdue": 0, "due_this_week": 0}})
    assert "None overdue" in none and "None due this week" in none and "data-home-actions" not in none
    failed = templates.get_template("home.html").render(**values, my_actions=home_pages.UNAVAILABLE)
    assert 'data-unavailable="actions"' in failed
