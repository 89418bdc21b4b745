"""Reading an import file: which format it is (CSV or JSON lines), and each data row as the body the API's
profile create takes plus its external reference — or the row's own error. Plain functions, no database.

CSV (docs/imports.md has the table): a header row, then one person (or premises) per row. Column families:
`external_system`, `external_id` (required); `kind`; `given_name`, `family_name`, `date_of_birth`,
`gender`, `roles`; an identifier per scheme (`nhs_number`, `ni_number`, `pnc_id`, `upn`); addresses as
`address_line1` … `address_to`, then `address2_…` up to `address5_…`; aliases as `alias_given_name`,
`alias_family_name`, then `alias2_…` up to `alias5_…`; `flags`; `phone`, `mobile`, `email`; `name`,
`premises_type` (premises); `owner_team_id`. A family present in the header states that field in full for
every row (a blank cell is "none", and an update clears it); a family absent from the header is left as it
is. Lists within a cell (`roles`, `flags`) are separated by `;`.

JSON lines: one JSON object per line, the API's profile create body plus `"external_ref": {"system", "id"}`;
its fields are stated where present, left as they are where absent.

Rows are numbered from 1: the first data row (CSV: after the header; JSON lines: blank lines not counted).
An error names the row and the field as the file spells it (a CSV column, a JSON path such as
`identifiers.0.value`).
"""
import csv
import io
import json
from dataclasses import dataclass, field

from concord_common.errors import ValidationFailed
from services.profiles.identifiers import IDENTIFIER_SCHEMES

FORMATS = ("csv", "jsonl")
MAX_ADDRESSES = MAX_ALIASES = 5
LIST_SEPARATOR = ";"
ADDRESS_PARTS = {"line1": "line1", "line2": "line2", "town": "town", "postcode": "postcode", "uprn": "uprn",
                 "from": "from", "to": "to"}
ALIAS_PARTS = ("given_name", "family_name")
SCALARS = ("kind", "given_name", "family_name", "date_of_birth", "gender", "name", "premises_type")
CLEARABLE = ("date_of_birth", "gender", "premises_type")        # blank on an update: cleared
CONTACT = ("phone", "mobile", "email")
REQUIRED = ("external_system", "external_id")


def _numbered(prefix: str, count: int) -> list[str]:
    """address_, address2_, … address5_"""
    return [f"{prefix}_"] + [f"{prefix}{n}_" for n in range(2, count + 1)]


ADDRESS_PREFIXES = _numbered("address", MAX_ADDRESSES)
ALIAS_PREFIXES = _numbered("alias", MAX_ALIASES)
COLUMNS = (REQUIRED + SCALARS + ("roles", "flags", "owner_team_id") + tuple(sorted(IDENTIFIER_SCHEMES)) + CONTACT
           + tuple(p + part for p in ADDRESS_PREFIXES for part in ADDRESS_PARTS)
           + tuple(p + part for p in ALIAS_PREFIXES for part in ALIAS_PARTS))


@dataclass
class Row:
    """One data row: `number` (1-based), and either `body` (+ `ref`) or an `error` (field, message)."""
    number: int
    ref: dict | None = None                      # {"system", "id"}
    body: dict | None = None                     # the API's create body, without external_ref
    error: tuple | None = None                   # (field, message)
    columns: dict = field(default_factory=dict)  # API path prefix -> the file's name for it (CSV)

    def field_name(self, path: str) -> str:
        """The file's own name for an API field path (`identifiers.0.value` -> `nhs_number` in a CSV)."""
        if not self.columns:
            return path
        parts = path.split(".")
        for length in (3, 2, 1):
            key = ".".join(parts[:length])
            if key in self.columns:
                return self.columns[key]
        return path


def refused(message: str) -> ValidationFailed:
    return ValidationFailed("One or more fields are invalid.", {"file": [message]})


# -- the file as a whole -------------------------------------------------------------------------------------
def decode(content: bytes) -> str:
    """UTF-8 text (a byte order mark allowed), or 422 naming `file`."""
    if not content or not content.strip():
        raise refused("The file is empty.")
    if b"\x00" in content[:65536]:
        raise refused("This is not a CSV or JSON lines file (it holds binary data).")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refused("This is not a CSV or JSON lines file: it is not UTF-8 text.")
    return text


def detect(text: str) -> str:
    """"jsonl" when the first non-blank line is a JSON object, else "csv" (checked by its header)."""
    for line in text.splitlines():
        if line.strip():
            return "jsonl" if line.lstrip().startswith("{") else "csv"
    raise refused("The file is empty.")


def csv_header(text: str) -> list[str]:
    """The CSV's columns, checked: the required ones there, none unknown, none twice."""
    try:
        header = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        raise refused(f"This is not a CSV file ({exc}).")
    names = [(name or "").strip().lower() for name in header or []]
    if not names or not any(names):
        raise refused("The CSV file has no header row.")
    missing = [name for name in REQUIRED if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    if missing and (unknown or len(names) < 2):
        raise refused("This is not a CSV or JSON lines file of profiles: the first line should be a header row "
                      "naming external_system, external_id and the other columns (docs/imports.md).")
    if missing:
        raise refused(f"The header row has no {' or '.join(missing)} column: every row needs its external reference.")
    if unknown:
        raise refused(f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                      "(the columns are listed in docs/imports.md).")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise refused(f"Column{'s' if len(twice) > 1 else ''} named twice: {', '.join(twice)}.")
    return names


def inspect(content: bytes) -> tuple[str, int]:
    """(format, number of data rows) of an uploaded file, or 422 naming `file` for what is not a CSV or JSON
    lines file of profiles. Rows are not validated here: each row's errors are the job's report."""
    text = decode(content)
    form = detect(text)
    if form == "csv":
        csv_header(text)
        try:
            total = sum(1 for _ in csv_records(text))
        except csv.Error as exc:
            raise refused(f"This is not a CSV file ({exc}).")
    else:
        total = sum(1 for line in text.splitlines() if line.strip())
    if total == 0:
        raise refused("The file has no rows to import (only a header).")
    return form, total


# -- rows ------------------------------------------------------------------------------------------------------
def csv_records(text: str):
    """(columns, values) of each data row; blank lines skipped."""
    reader = csv.reader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in next(reader)]
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        yield header, values


def rows(content: bytes, form: str, skip: int = 0):
    """Every data row after the first `skip` (a resumed job skips what it committed), as Row."""
    text = decode(content)
    if form == "csv":
        records = csv_records(text)
        for number, (header, values) in enumerate(records, start=1):
            if number > skip:
                yield csv_row(number, header, values)
    else:
        lines = (line for line in text.splitlines() if line.strip())
        for number, line in enumerate(lines, start=1):
            if number > skip:
                yield json_row(number, line)


def _cell(record: dict, name: str) -> str | None:
    value = (record.get(name) or "").strip()
    return value or None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def csv_row(number: int, header: list[str], values: list[str]) -> Row:
    if len(values) > len(header):
        return Row(number, error=(None, f"The row has {len(values)} cells; the header names {len(header)} columns."))
    record = dict(zip(header, values))
    present = set(header)
    columns = {"external_ref.system": "external_system", "external_ref.id": "external_id"}
    ref = {"system": _cell(record, "external_system"), "id": _cell(record, "external_id")}
    for key, column in (("system", "external_system"), ("id", "external_id")):
        if ref[key] is None:
            return Row(number, error=(column, "Missing data for required field."), columns=columns)
    body = {"kind": _cell(record, "kind") or "person"}
    for name in SCALARS[1:]:
        if name in present:
            body[name] = _cell(record, name)
            columns[name] = name
    if "owner_team_id" in present and _cell(record, "owner_team_id"):
        body["owner_team_id"] = _cell(record, "owner_team_id")
        columns["owner_team_id"] = "owner_team_id"
    for name in ("roles", "flags"):
        if name in present:
            body[name] = _split(record.get(name))
            columns[name] = name
    schemes = [scheme for scheme in sorted(IDENTIFIER_SCHEMES) if scheme in present]
    if schemes:
        body["identifiers"] = []
        for scheme in schemes:
            if _cell(record, scheme):
                columns[f"identifiers.{len(body['identifiers'])}"] = scheme
                body["identifiers"].append({"scheme": scheme, "value": _cell(record, scheme)})
    address_columns = [prefix for prefix in ADDRESS_PREFIXES if any(prefix + part in present for part in ADDRESS_PARTS)]
    if address_columns:
        addresses = []
        for prefix in address_columns:
            address = {key: _cell(record, prefix + part) for part, key in ADDRESS_PARTS.items()
                       if prefix + part in present}
            if any(value is not None for value in address.values()):
                for part, key in ADDRESS_PARTS.items():
                    columns[f"{'addresses' if body['kind'] != 'premises' else 'address'}"
                            f"{'.' + str(len(addresses)) if body['kind'] != 'premises' else ''}.{key}"] = prefix + part
                columns[f"addresses.{len(addresses)}"] = prefix + "line1"
                addresses.append({key: value for key, value in address.items() if value is not None})
        if body["kind"] == "premises":
            if addresses:
                body["address"] = addresses[0]
                columns["address"] = "address_line1"
        else:
            body["addresses"] = addresses
            columns["addresses"] = "address_line1"
    alias_columns = [prefix for prefix in ALIAS_PREFIXES if any(prefix + part in present for part in ALIAS_PARTS)]
    if alias_columns:
        aliases = []
        for prefix in alias_columns:
            alias = {part: _cell(record, prefix + part) for part in ALIAS_PARTS}
            if any(alias.values()):
                for part in ALIAS_PARTS:
                    columns[f"aliases.{len(aliases)}.{part}"] = prefix + part
                columns[f"aliases.{len(aliases)}"] = prefix + "given_name"
                aliases.append(alias)
        body["aliases"] = aliases
    if any(name in present for name in CONTACT):
        contact = {name: _cell(record, name) for name in CONTACT}
        body["contact"] = contact if any(contact.values()) else None
        columns.update({f"contact.{name}": name for name in CONTACT if name in present})
        columns["contact"] = next(name for name in CONTACT if name in present)
    if body["kind"] == "premises":      # a person's fields in the header are blank for premises: not stated
        body = {key: value for key, value in body.items()
                if key in ("kind", "name", "premises_type", "address", "owner_team_id", "contact")}
        if body.get("contact") is None:
            body.pop("contact", None)
    else:
        for key in ("name", "premises_type"):
            if body.get(key) is None:
                body.pop(key, None)
    return Row(number, ref=ref, body=body, columns=columns)


def json_row(number: int, line: str) -> Row:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return Row(number, error=(None, f"This line is not JSON ({exc})."))
    if not isinstance(data, dict):
        return Row(number, error=(None, "Each line must be a JSON object."))
    ref = data.get("external_ref")
    if not isinstance(ref, dict) or not ref.get("system") or not ref.get("id"):
        return Row(number, error=("external_ref", "Give the row's external_ref: {\"system\", \"id\"}."))
    body = {key: value for key, value in data.items() if key != "external_ref"}
    return Row(number, ref={"system": ref.get("system"), "id": ref.get("id")}, body=body)


def for_create(body: dict) -> dict:
    """The body for a new profile: a blank (None) stated field is simply not given."""
    return {key: value for key, value in body.items() if value is not None}


def for_update(body: dict) -> dict:
    """The body for an existing profile: blank clearable fields clear it; blank names are refused by the schema."""
    return dict(body)
