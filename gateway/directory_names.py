"""Organisation and team names for pages, kept for a while in each gateway process.

Nearly every record page names the lead team and the organisations it is shared with: asked of the permissions
service on every page, that was two or more RPC calls a page, and the directory's work for them was a tenth of a
page's CPU (docs/capacity.md). Every signed-in person may see every organisation and every team's name and
organisation (permissions `list_organisations`, `get_team`), so one cache serves every caller of a process; a team's
members, which only its own organisation may see, are never kept. The directory only creates organisations and teams
(never renames or removes them), so a name kept for ORGANISATIONS_SECONDS / TEAMS_SECONDS is never wrong, only
possibly missing a newcomer: a page asking for an organisation not in the list has it read again at once. An id
still missing from a list read after a page named it (so after it was made) is not asked about again for
ORGANISATIONS_SECONDS: records name only organisations that exist, so that is bad data, and it must not cost every
page a call. Only signed-in pages use it (a name kept is shown only to someone the directory would show it to); a
miss is asked as the page's caller.
"""
import time

from concord_common.errors import NotFound

ORGANISATIONS_SECONDS = 60.0
TEAMS_SECONDS = 300.0
TEAMS_KEPT = 10_000
TEAM_FIELDS = ("id", "name", "organisation_id", "kind")


class DirectoryNames:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._organisations: tuple[float, dict] | None = None       # (read at, {id: name})
        self._teams: dict[str, tuple[float, dict]] = {}
        self._missing: dict[str, float] = {}                          # id -> when a re-read still lacked it

    def organisation_names(self, remote) -> "OrganisationNames":
        """{organisation id: name}, read again when older than ORGANISATIONS_SECONDS, or once more for a page that
        asks for one it does not hold (one created since)."""
        kept = self._organisations
        if kept is None or self._clock() - kept[0] > ORGANISATIONS_SECONDS:
            kept = self._read_organisations(remote)
        return OrganisationNames(kept[1], lambda: self._read_organisations(remote)[1], self)

    def known_missing(self, organisation_id) -> bool:
        """No use reading the list again for it: not an id, or missing from a read made since a page named it."""
        if not organisation_id or not isinstance(organisation_id, str):
            return True
        since = self._missing.get(organisation_id)
        return since is not None and self._clock() - since <= ORGANISATIONS_SECONDS

    def note_missing(self, organisation_id) -> None:
        if len(self._missing) >= TEAMS_KEPT:
            self._missing.clear()
        self._missing[organisation_id] = self._clock()

    def _read_organisations(self, remote) -> tuple[float, dict]:
        items = remote.call("permissions", "list_organisations")["items"]
        self._organisations = (self._clock(), {org["id"]: org["name"] for org in items})
        return self._organisations

    def team(self, remote, team_id) -> dict | None:
        """The team's id, name, organisation and kind (no members); None if there is no such team."""
        kept = self._teams.get(team_id)
        if kept is not None and self._clock() - kept[0] <= TEAMS_SECONDS:
            return kept[1]
        try:
            body = remote.call("permissions", "get_team", team_id)
        except NotFound:
            return None
        summary = {field: body.get(field) for field in TEAM_FIELDS}
        if len(self._teams) >= TEAMS_KEPT:
            self._teams.clear()                 # rare; a cold cache only costs calls
        self._teams[team_id] = (self._clock(), summary)
        return summary

    def team_name(self, remote, team_id, unknown=None):
        team = self.team(remote, team_id)
        return team["name"] if team else unknown


class OrganisationNames(dict):
    """A page's {organisation id: name}: asked for one it does not hold, it reads the directory again, once."""

    def __init__(self, names: dict, read_again, kept: "DirectoryNames"):
        super().__init__(names)
        self._read_again, self._kept = read_again, kept

    def _refresh(self, key) -> None:
        if self._kept.known_missing(key):
            return
        if self._read_again is not None:            # once a page, after the page has named the organisation
            read_again, self._read_again = self._read_again, None
            self.update(read_again())
        if not dict.__contains__(self, key):
            self._kept.note_missing(key)

    def __missing__(self, key):
        self._refresh(key)
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key, default=None):
        if not dict.__contains__(self, key):
            self._refresh(key)
        return dict.get(self, key, default)


# One per gateway process: its green threads share it (no awaits between reading and writing an entry).
NAMES = DirectoryNames()
