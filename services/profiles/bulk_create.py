"""Many new profiles in one go (a bulk import's batch): create_profile's checks, rows, history and events, written
set-based — one COPY per table for the whole batch, the views read back in two queries, the events in one —
and the duplicate check for all of them at once (matching.find_many).

Per profile, create_profile costs about eighteen statements, each with its round trip and SQLAlchemy's work
around it; here a batch of hundreds costs about a dozen. What each profile gets is the same: the same
validation (profiles.load_new / new_row), the same history entries, the same `profile.created` event with the
same body, and `profile.matches_checked` where it has likely duplicates.
"""
from sqlalchemy import select

from concord_common import clock
from concord_common.bulk_insert import copy_rows
from services.profiles import matching, profiles
from services.profiles.duplicates import ON_CREATE
from services.profiles.models import Address, Alias, Flag, History, Identifier, Profile
from services.profiles.profile_views import address_view, as_json, child_lists, profile_view
from services.profiles.profile_writes import aliases_after, flags_wanted, identifiers_after

# Columns every new row states (one COPY takes one shape of row); created_at, updated_at and search_name default.
ROW_COLUMNS = ("id", "kind", "given_name", "family_name", "name", "date_of_birth", "created_by", "version",
               "consent_status", "consent_detail", "gender", "roles", "contact", "premises_type", "external_system",
               "external_id", "owner_team_id", "owner_organisation_id", "restricted")
ADDRESS_FIELDS = ("line1", "line2", "town", "postcode", "uprn", "from_date", "to_date")


class OneAtATime(Exception):
    """This body goes through create_profile instead (premises with linked people: each link is an access check)."""


class Prepared:
    """One checked new profile: its row, its child rows and its history entries, not yet written."""

    def __init__(self, caller, row: dict, lists: dict):
        self.row = {column: row.get(column) for column in ROW_COLUMNS}
        self.row["restricted"] = bool(row.get("restricted"))
        pid, now = row["id"], clock.now()
        kind = row["kind"]
        self.aliases = aliases_after(lists.get("aliases") or [])
        self.identifiers = identifiers_after(lists.get("identifiers") or [])
        addresses = lists.get("addresses") or ([lists["address"]] if lists.get("address") else [])
        self.addresses = [{"profile_id": pid, **{key: a.get(key) for key in ADDRESS_FIELDS}} for a in addresses]
        self.flags = [{"profile_id": pid, "flag": flag, "detail": detail, "set_by": caller.id, "set_at": now}
                      for flag, detail in flags_wanted(lists.get("flags") or []).items()]
        changes = {"created": {"before": None, "after": None}, **profiles.scalar_changes(row)}
        if self.aliases:
            changes["aliases"] = {"before": [], "after": self.aliases}
        if self.identifiers:
            changes["identifiers"] = {"before": [], "after": self.identifiers}
        if self.addresses:
            views = [address_view(Address(**a)) for a in self.addresses]
            changes.update({"address": {"before": None, "after": views[0]}} if kind == "premises"
                           else {"addresses": {"before": [], "after": views}})
        if self.flags:
            changes["flags"] = {"before": [], "after": [{"flag": f["flag"], "detail": f["detail"]}
                                                        for f in self.flags]}
        self.history = [{"profile_id": pid, "changed_by": caller.id, "changed_at": now, "field": field,
                         "before": as_json(change["before"]), "after": as_json(change["after"])}
                        for field, change in changes.items()]


def prepare(caller, payload: dict, external_ref: dict, directory) -> Prepared:
    """A new profile's body checked as create_profile checks it (ValidationFailed / Forbidden as it would raise).
    OneAtATime for premises with linked people."""
    data, requested, external = profiles.load_new(payload, external_ref)
    if data.get("linked_people"):
        raise OneAtATime()
    row, lists = profiles.new_row(caller, data, requested, external, directory)
    return Prepared(caller, row, lists)


def create_many(uow, batch: list[Prepared]) -> list[dict]:
    """Write the batch's profiles, their lists, history and `profile.created` events; their views, in order."""
    if not batch:
        return []
    session = uow.session
    copy_rows(session, Profile.__table__, [item.row for item in batch])
    for table, rows in ((Alias.__table__, [{"profile_id": item.row["id"], **a}
                                           for item in batch for a in item.aliases]),
                        (Identifier.__table__, [{"profile_id": item.row["id"], **i}
                                                for item in batch for i in item.identifiers]),
                        (Address.__table__, [a for item in batch for a in item.addresses]),
                        (Flag.__table__, [f for item in batch for f in item.flags]),
                        (History.__table__, [h for item in batch for h in item.history])):
        copy_rows(session, table, rows)
    ids = [item.row["id"] for item in batch]
    found = {row.id: row for row in session.execute(select(Profile).where(Profile.id.in_(ids))).scalars()}
    children = child_lists(session, ids)
    views = [profile_view(found[pid], children[pid]) for pid in ids]
    uow.add_events([("profile.created", profiles.created_event(view)) for view in views])
    return views


def likely_duplicates(uow, views: list[dict]) -> list[list[tuple[str, float]]]:
    """The likely duplicates of each new profile (create_profile_with_duplicates' check, for the batch):
    (id, score) lists in order; each profile with any gets its `profile.matches_checked` event."""
    people = [n for n, view in enumerate(views) if view.get("kind") == "person"]
    found = matching.find_many(uow.session, [matching.subject_of(views[n]) for n in people],
                               ON_CREATE["limit"], ON_CREATE["min_score"])
    answer = [[] for _ in views]
    for n, matches in zip(people, found):
        answer[n] = matches
    uow.add_events([("profile.matches_checked", {
        "record": {"type": "profile", "id": views[n]["id"]},
        "candidates": [{"id": pid, "score": score} for pid, score in answer[n]]}) for n in people if answer[n]])
    return answer
