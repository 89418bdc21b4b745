"""The gateway's organisation and team names (gateway/directory_names.py): read once, kept a while, never
members, read again for a newcomer."""
import pytest

from concord_common.errors import Forbidden, NotFound
from gateway import directory_names
from gateway.directory_names import DirectoryNames


class Directory:
    """The permissions service as the gateway's remote sees it; counts the calls."""

    def __init__(self):
        self.organisations = [{"id": "o-1", "name": "West Yorkshire Police", "require_mfa": True}]
        self.teams = {"t-1": {"id": "t-1", "name": "Leeds ASB", "organisation_id": "o-1", "kind": "general",
                              "members": [{"user_id": "u-1", "role": "spoc"}]}}
        self.calls = []
        self.refuse = False

    def call(self, service, method, *args):
        assert service == "permissions"
        self.calls.append(method)
        if self.refuse:
            raise Forbidden("Sign in first.")
        if method == "list_organisations":
            return {"items": list(self.organisations), "next_cursor": None}
        if args[0] not in self.teams:
            raise NotFound()
        return self.teams[args[0]]


@pytest.fixture
def world():
    now = [1000.0]
    return Directory(), DirectoryNames(clock=lambda: now[0]), now


def test_organisation_names_are_read_once_then_again_when_old(world):
    remote, names, now = world
    assert names.organisation_names(remote) == {"o-1": "West Yorkshire Police"}
    assert names.organisation_names(remote) == {"o-1": "West Yorkshire Police"}
    assert remote.calls == ["list_organisations"]
    remote.organisations.append({"id": "o-2", "name": "Leeds City Council"})
    now[0] += directory_names.ORGANISATIONS_SECONDS + 1
    assert names.organisation_names(remote)["o-2"] == "Leeds City Council"
    assert remote.calls == ["list_organisations"] * 2


def test_a_page_asking_for_an_organisation_not_yet_kept_reads_them_again_once(world):
    remote, names, _ = world
    names.organisation_names(remote)
    remote.organisations.append({"id": "o-3", "name": "Bradford Council"})
    page = names.organisation_names(remote)
    assert page["o-1"] == "West Yorkshire Police" and remote.calls == ["list_organisations"]     # kept: no call
    assert page.get("o-3") == "Bradford Council" and page["o-3"] == "Bradford Council"
    assert page.get("o-404", "another organisation") == "another organisation" and "o-404" not in page
    with pytest.raises(KeyError):
        page["o-404"]
    assert remote.calls == ["list_organisations"] * 2          # once a page, however many it lacks
    assert names.organisation_names(remote)["o-3"] == "Bradford Council"     # and kept for the next page
    assert remote.calls == ["list_organisations"] * 2


def test_an_organisation_no_list_has_is_not_asked_about_on_every_page(world):
    remote, names, now = world
    for _ in range(3):                               # bad data: a record naming an organisation that never was
        assert names.organisation_names(remote).get("o-never", "an organisation") == "an organisation"
        assert names.organisation_names(remote).get(None, "an organisation") == "an organisation"   # no id at all
    assert remote.calls == ["list_organisations"] * 2          # the first read, and one more for the unknown id
    now[0] += directory_names.ORGANISATIONS_SECONDS + 1
    names.organisation_names(remote).get("o-never")
    assert remote.calls == ["list_organisations"] * 4          # old: read again, then once more for it


def test_a_team_is_kept_without_its_members_and_a_missing_one_is_none(world):
    remote, names, now = world
    summary = {"id": "t-1", "name": "Leeds ASB", "organisation_id": "o-1", "kind": "general"}
    assert names.team(remote, "t-1") == summary                 # members are for its own organisation only
    assert names.team(remote, "t-1") == summary and names.team_name(remote, "t-1") == "Leeds ASB"
    assert remote.calls == ["get_team"]
    assert names.team(remote, "t-9") is None and names.team_name(remote, "t-9", "A team") == "A team"
    assert remote.calls == ["get_team"] * 3                     # a missing team is asked again, not kept
    now[0] += directory_names.TEAMS_SECONDS + 1
    names.team(remote, "t-1")
    assert remote.calls[-1] == "get_team" and len(remote.calls) == 4


def test_a_caller_the_directory_refuses_is_refused_and_nothing_is_kept(world):
    remote, names, _ = world
    remote.refuse = True
    with pytest.raises(Forbidden):
        names.organisation_names(remote)
    with pytest.raises(Forbidden):
        names.team(remote, "t-1")
    remote.refuse = False
    assert names.team(remote, "t-1")["name"] == "Leeds ASB"
