"""What the profile pages share: labels, Jinja filters, rendering, the one 404 page, and `web_page`
(sign-in, CSRF and errors for a signed-in page)."""
import functools
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from concord_common.errors import ConcordError, Forbidden, NotFound, Unauthenticated
from concord_common.sizes import human_size
from gateway.http import api
from gateway.web import error_pages, header, words
from gateway.web.pages import PAGE_HEADERS

LONDON = ZoneInfo("Europe/London")
SEARCH_PAGE_SIZE = 20
LIKELY_DUPLICATE = 0.5          # what the profiles service calls likely on create (ON_CREATE)
MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], start=1) for name in names}

FLAG_LABELS = {"vulnerable_adult": "Vulnerable adult", "dementia": "Dementia",
               "hate_crime_victim": "Hate crime victim", "domestic_abuse": "Domestic abuse",
               "gang_associated": "Gang associated", "cse_risk": "Risk of child sexual exploitation",
               "parent_in_prison": "Parent in prison", "mental_health": "Mental health",
               "risk_to_staff": "Risk to staff"}
FLAG_COLOURS = {"risk_to_staff": "govuk-tag--red", "cse_risk": "govuk-tag--orange",
                "domestic_abuse": "govuk-tag--orange", "gang_associated": "govuk-tag--orange",
                "hate_crime_victim": "govuk-tag--purple", "vulnerable_adult": "govuk-tag--yellow",
                "dementia": "govuk-tag--yellow", "mental_health": "govuk-tag--yellow"}
GENDERS = [("female", "Female"), ("male", "Male"), ("non_binary", "Non-binary"), ("other", "Other"),
           ("not_known", "Not known"), ("not_stated", "Not stated")]
ROLE_LABELS = {"victim": "Victim", "perpetrator": "Perpetrator", "witness": "Witness", "subject": "Subject"}
SCHEME_LABELS = {"nhs_number": "NHS number", "ni_number": "National Insurance number", "pnc_id": "PNC ID",
                 "upn": "Unique pupil number (UPN)"}
CONSENT_LABELS = {"given": "Given", "refused": "Refused", "not_sought": "Not sought", "overridden": "Overridden"}
PREMISES_LABELS = {"residential": "Residential", "licensed_premises": "Licensed premises", "business": "Business",
                   "public_space": "Public space", "other": "Other"}
FAMILY_ROLE_LABELS = {"parent": "Parent", "child": "Child", "sibling": "Sibling", "partner": "Partner",
                      "carer": "Carer", "grandparent": "Grandparent", "other": "Other"}
FIELD_LABELS = {"created": "Profile created", "given_name": "Given name", "family_name": "Family name",
                "name": "Name", "date_of_birth": "Date of birth", "gender": "Gender", "roles": "Roles",
                "contact": "Contact details", "premises_type": "Type of premises", "aliases": "Other names",
                "identifiers": "Identifiers", "addresses": "Addresses", "address": "Address", "flags": "Flags",
                "linked_people": "Linked people", "merged": "Another profile merged in",
                "merged_into": "Merged into another profile", "unmerged": "Merge undone",
                "consent_status": "Consent", "consent_detail": "Consent detail", "restricted": "Restricted",
                "external_ref": "Reference in a partner system", "photo": "Photo"}
NOT_FOUND = {"title": "Page not found",
             "detail": "If you typed the web address, check it is correct. If you followed a link or pasted "
                       "the address, the profile may not exist, or you may not have access to it.",
             "back_href": "/profiles", "back_text": "Search for a profile"}


# -- formatting (Jinja filters) ----------------------------------------------------------------------
def as_date(value) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def long_date(value) -> str:
    found = as_date(value)
    return f"{found.day} {found.strftime('%B %Y')}" if found else ""


def when(value) -> str:
    """An ISO timestamp as people in England read it: 4 March 2025 at 2:05pm."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value)).astimezone(LONDON)
    except ValueError:
        return str(value)
    hour = moment.hour % 12 or 12
    return f"{moment.day} {moment.strftime('%B %Y')} at {hour}:{moment.minute:02d}{'am' if moment.hour < 12 else 'pm'}"


def age(value) -> int | None:
    born = as_date(value)
    if born is None:
        return None
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def identifier_text(ident: dict) -> str:
    value = ident.get("value") or ""
    if ident.get("scheme") == "nhs_number" and re.fullmatch(r"\d{10}", value):
        return f"{value[:3]} {value[3:6]} {value[6:]}"
    return value


def address_text(address: dict | None) -> str:
    if not address:
        return ""
    return ", ".join(part for part in (address.get("line1"), address.get("line2"), address.get("town"),
                                       address.get("postcode")) if part)


def current_address(profile: dict) -> dict | None:
    if profile.get("kind") == "premises":
        return profile.get("address")
    addresses = profile.get("addresses") or []
    return next((a for a in addresses if not a.get("to")), addresses[0] if addresses else None)


def percent(score) -> str:
    return f"{round(float(score or 0) * 100)}%"


def history_value(value, field: str) -> str:
    """A before/after value of a history row in words."""
    if value is None or value == [] or value == {}:
        return ""
    if field == "photo":
        return "A photo"
    if field in ("date_of_birth",):
        return long_date(value) or str(value)
    if field == "gender":
        return dict(GENDERS).get(value, str(value))
    if field == "roles" and isinstance(value, list):
        return ", ".join(ROLE_LABELS.get(role, role) for role in value)
    if field == "consent_status":
        return CONSENT_LABELS.get(value, str(value))
    if field == "premises_type":
        return PREMISES_LABELS.get(value, str(value))
    if field == "aliases" and isinstance(value, list):
        return "; ".join(" ".join(filter(None, [a.get("given_name"), a.get("family_name")])) for a in value)
    if field == "identifiers" and isinstance(value, list):
        return "; ".join(f"{SCHEME_LABELS.get(i.get('scheme'), i.get('scheme'))} {identifier_text(i)}"
                         for i in value)
    if field in ("addresses", "address"):
        items = value if isinstance(value, list) else [value]
        return "; ".join(address_text(a) + (f" (from {long_date(a.get('from'))})" if a.get("from") else "")
                         for a in items if isinstance(a, dict))
    if field == "flags" and isinstance(value, list):
        return ", ".join(FLAG_LABELS.get(f.get("flag") if isinstance(f, dict) else f, str(f)) for f in value)
    if field == "contact" and isinstance(value, dict):
        return "; ".join(f"{key.title()}: {item}" for key, item in value.items() if item)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(history_value(item, "") for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {history_value(item, key)}" for key, item in value.items()
                         if item not in (None, "", [], {}))
    return str(value)


templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]))
templates.filters.update(
    long_date=long_date, when=when, age=age, identifier_text=identifier_text, address_text=address_text,
    percent=percent, history_value=history_value, file_size=human_size,
    flag_label=lambda name: FLAG_LABELS.get(name) or words.words(name),
    flag_colour=lambda name: FLAG_COLOURS.get(name, ""),
    gender_label=lambda value: dict(GENDERS).get(value) or words.words(value),
    role_label=lambda value: ROLE_LABELS.get(value) or words.words(value),
    family_role_label=lambda value: FAMILY_ROLE_LABELS.get(value) or words.words(value),
    scheme_label=lambda value: SCHEME_LABELS.get(value) or words.words(value),
    consent_label=lambda value: CONSENT_LABELS.get(value) or words.words(value),
    premises_label=lambda value: PREMISES_LABELS.get(value) or words.words(value),
    field_label=lambda value: FIELD_LABELS.get(value) or words.words(value))
templates.globals.update(current_address=current_address, GENDERS=GENDERS)
words.install(templates)


def render(template: str, status: int = 200, **values) -> Response:
    """A signed-in page (the header shows the service navigation), with pages.py's security headers."""
    html = templates.get_template(template).render(**{"signed_in": True, **header.values(), **values})
    return Response(html, status=status, mimetype="text/html", headers=dict(PAGE_HEADERS))


def not_found() -> Response:
    """One page for "no such profile" and "not yours to see": nothing in it depends on which."""
    return render("error.html", 404, **NOT_FOUND)


def problem_page(status: int, title: str, detail: str) -> Response:
    return render("error.html", status, title=title, detail=detail, back_href="/profiles",
                  back_text="Search for a profile")


def service_problem_page(exc: ConcordError) -> Response:
    """A service that failed or did not answer (503 with Retry-After, as the API says it)."""
    response = error_pages.page_for(exc.status, exc.detail, signed_in=True)
    if exc.status == 503:
        response.headers["Retry-After"] = "5"
    return response


def web_page(method: str, url: str, max_body=None):
    """A signed-in page: sign-in or MFA set-up first when there is no usable session; POSTs must carry
    the session's CSRF token (checked by auth.require). The service's NotFound is the one 404 page.
    `max_body(service)`: an upload form's cap, set before the CSRF check reads the form."""
    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, **values):
            try:
                principal = self.auth.require(request)
            except RequestEntityTooLarge:
                return problem_page(413, "The file is too large", "Choose a smaller file and try again.")
            except Unauthenticated:
                return redirect("/sign-in", code=303)
            except Forbidden as exc:
                if request.method == "GET":     # MFA still to set up, or not a person: home decides where
                    return redirect("/", code=303)
                return problem_page(403, "That did not work", exc.detail)
            except ConcordError as exc:
                return service_problem_page(exc)
            header.begin(self, principal, eager=request.method == "GET")    # the unread count, beside the page
            try:
                return fn(self, request, principal, **values)
            except NotFound:
                return not_found()
            except Unauthenticated:
                return redirect("/sign-in", code=303)
            except Forbidden as exc:
                return problem_page(403, "You cannot do this", exc.detail)
            except ConcordError as exc:
                return service_problem_page(exc)
            finally:
                header.end()
        return api(method, url, public=True, max_body=max_body)(handler)
    return decorate
