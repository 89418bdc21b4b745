"""Reading the profile pages' forms: GOV.UK date inputs, field errors in words, safe return addresses."""
import re
import uuid
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit

from gateway.web.profile_views import MONTHS

# -- forms: values, dates, errors --------------------------------------------------------------------
def date_from_parts(day: str, month: str, year: str, label: str = "Date of birth"):
    """A GOV.UK date input's three boxes -> (ISO date or None, error or None, the box to point at)."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    if not any(parts.values()):
        return None, None, None
    if parts["month"].lower() in MONTHS:
        parts["month"] = str(MONTHS[parts["month"].lower()])
    missing = [name for name, value in parts.items() if not value]
    if missing:
        return None, f"{label} must include a {' and a '.join(missing)}", missing[0]
    wrong = [name for name, value in parts.items() if not value.isdigit()]
    if wrong:
        return None, f"{label} must be a real date", wrong[0]
    if len(parts["year"]) != 4:
        return None, "Year must include 4 numbers", "year"
    try:
        found = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, f"{label} must be a real date", "day" if 1 <= int(parts["month"]) <= 12 else "month"
    return found.isoformat(), None, None


def friendly(message: str, label: str, missing: str | None = None, value: str | None = None) -> str:
    """A service's validation message as a GOV.UK error message (no full stop, names the field)."""
    text = str(message).strip()
    if (found := re.fullmatch(r"Length must be between (\d+) and (\d+)\.", text)):
        shortest, longest = int(found.group(1)), int(found.group(2))
        if not value and shortest:
            return missing or f"Enter {label[0].lower() + label[1:]}"
        if value is not None and len(value) > longest:
            return f"{label} must be {longest} characters or fewer"
        return f"{label} must be {shortest} characters or more"
    if text in ("Missing data for required field.", "Field may not be null.", "Shorter than minimum length 1."):
        return missing or f"Enter {label[0].lower() + label[1:]}"
    if (found := re.fullmatch(r"Shorter than minimum length (\d+)\.", text)):
        return f"{label} must be {found.group(1)} characters or more"
    if (found := re.fullmatch(r"Longer than maximum length (\d+)\.", text)):
        return f"{label} must be {found.group(1)} characters or fewer"
    if text in ("Not a valid date.", "Not a valid datetime."):
        return f"{label} must be a real date"
    if text.startswith("Must be one of:") or text == "Not a valid UUID.":
        return f"Select {label[0].lower() + label[1:]}"
    if text == "Date of birth cannot be in the future.":
        return "Date of birth must be in the past"
    return text.rstrip(".")


class Errors:
    """Field errors in the order the form shows its fields: the summary links to each input."""

    def __init__(self, order: list[str]):
        self.order = order
        self.by_field: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, message)

    def __bool__(self):
        return bool(self.by_field)

    def summary(self) -> list[dict]:
        rank = {field: position for position, field in enumerate(self.order)}
        fields = sorted(self.by_field, key=lambda field: rank.get(field, len(rank)))
        return [{"href": f"#{field}", "text": self.by_field[field]} for field in fields]


def first_message(messages) -> str:
    if isinstance(messages, (list, tuple)) and messages:
        return str(messages[0])
    return str(messages)


def safe_return(target: str | None, default: str = "/profiles") -> str:
    """Only back to a profiles page of this site (never an open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not re.fullmatch(r"/profiles(/[0-9a-fA-F-]{36})?", parts.path):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_params(target: str, **params) -> str:
    parts = urlsplit(target)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in params]
    query += [(key, value) for key, value in params.items() if value is not None]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def valid_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


SEARCH_ORDER = ["q", "date_of_birth-day", "date_of_birth-month", "date_of_birth-year", "postcode", "identifier"]
SEARCH_LABELS = {"postcode": "Postcode", "identifier": "Identifier"}
CREATE_ORDER = ["given_name", "family_name", "date_of_birth-day", "date_of_birth-month", "date_of_birth-year",
                "gender", "nhs_number", "address_line1", "address_town", "address_postcode", "owner_team_id"]
CREATE_FIELDS = {  # the service's field path -> (form input id, label, message when missing)
    "given_name": ("given_name", "Given name", "Enter a given name"),
    "family_name": ("family_name", "Family name", "Enter a family name"),
    "date_of_birth": ("date_of_birth-day", "Date of birth", None),
    "gender": ("gender", "Gender", "Select a gender"),
    "identifiers": ("nhs_number", "NHS number", "Enter an NHS number"),
    "addresses.0.line1": ("address_line1", "Address line 1", "Enter address line 1, typically the building "
                                                               "and street"),
    "addresses.0.town": ("address_town", "Town or city", None),
    "addresses.0.postcode": ("address_postcode", "Postcode", "Enter a postcode"),
    "addresses": ("address_line1", "Address", None),
    "owner_team_id": ("owner_team_id", "Lead team", "Select the team that leads this profile"),
}


def create_field(path: str):
    if path in CREATE_FIELDS:
        return CREATE_FIELDS[path]
    if path.startswith("identifiers."):
        return CREATE_FIELDS["identifiers"]
    if path.startswith("addresses.0.") or path.startswith("addresses."):
        return CREATE_FIELDS["addresses.0.line1"][0], "Address", None
    return "given_name", "Profile", None
