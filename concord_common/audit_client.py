"""What the gateway and the operators' CLI share about reading the audit log.

No audit logic lives here (the audit service decides who may read what); only
how a page of entries is written as CSV. (URL words of record types:
concord_common.record_types.)
"""
import csv
import io
import json

CSV_COLUMNS = ("seq", "at", "actor_kind", "actor_id", "actor_organisation_id", "actor_teams", "action",
               "event_type", "record_type", "record_id", "record_owner_organisation_id", "fields", "reason",
               "request_id", "source_ip", "outcome", "details", "recorded_at", "source", "hash")


def _json_cell(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _formula_safe(value: str) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula: such text is quoted with '."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(item: dict) -> list[str]:
    actor = item.get("actor") or {}
    record = item.get("record") or {}
    cells = {
        **{key: item.get(key) for key in ("seq", "at", "action", "event_type", "record_owner_organisation_id",
                                          "reason", "request_id", "source_ip", "outcome", "recorded_at",
                                          "source", "hash")},
        "actor_kind": actor.get("kind"), "actor_id": actor.get("id"),
        "actor_organisation_id": actor.get("organisation_id"),
        "actor_teams": " ".join(team for team in actor.get("teams") or () if team),
        "record_type": record.get("type"), "record_id": record.get("id"),
        "fields": _json_cell(item.get("fields")), "details": _json_cell(item.get("details") or None),
    }
    return [_formula_safe("" if cells[column] is None else str(cells[column])) for column in CSV_COLUMNS]


def to_csv(items: list[dict], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow(csv_row(item))
    return out.getvalue()


def export_pages(call, organisation_id: str, query: dict):
    """Every page of an organisation's export: `call(organisation_id, query)` is the RPC."""
    query = dict(query)
    while True:
        page = call(organisation_id, query)
        yield page
        if not page.get("next_cursor"):
            return
        query["cursor"] = page["next_cursor"]
