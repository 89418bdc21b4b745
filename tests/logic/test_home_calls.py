"""The home page's one call to each service, on real databases without the broker: the permissions service's
`waiting_for_me` (services/permissions/waiting.py) and the cases service's `home_page` (services/cases/home_page.py)
answer what their three and 1 + teams single calls answer, and record what they record."""
import uuid

import pytest

from concord_common.context import new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import ValidationFailed
from services.cases import actions, home_page, listing
from services.permissions import access_requests, transfers, waiting
from tests.logic.permissions_world import permissions, permissions_engine  # noqa: F401
from tests.logic.test_actions import LEAD, db, open_case, set_action  # noqa: F401


def described(team: dict) -> dict:
    return {"type": "profile", "id": str(uuid.uuid4()), "display_name": "Ann LEE (b. 2012)",
            "owner_team_id": team["id"], "owner_organisation_id": team["organisation_id"]}


def test_waiting_for_me_is_the_three_lists_and_only_mine_without_a_team(permissions):
    organisation = permissions.organisation()
    mine, theirs = permissions.team(organisation), permissions.team(organisation)
    lead = permissions.user(organisation, teams=[(mine, "practitioner")])
    asker = permissions.user(organisation, teams=[(theirs, "practitioner")])
    loner = permissions.user(organisation)
    _, asking = permissions.signed_in(asker["username"])
    permissions.run(asking, access_requests.register_access_request, described(mine), "Safeguarding visit today.")
    _, leading = permissions.signed_in(lead["username"])
    found = permissions.read(leading, waiting.waiting_for_me, "100")
    assert found == {
        "my_requests": permissions.read(leading, access_requests.list_access_requests, "pending", "outgoing", "100"),
        "requests": permissions.read(leading, access_requests.list_access_requests, "pending", "incoming", "100"),
        "transfers": permissions.read(leading, transfers.list_transfers, "pending", "incoming", "100")}
    assert len(found["requests"]["items"]) == 1 and found["my_requests"]["items"] == []
    assert len(permissions.read(asking, waiting.waiting_for_me, "100")["my_requests"]["items"]) == 1
    _, alone = permissions.signed_in(loner["username"])
    assert list(permissions.read(alone, waiting.waiting_for_me, "100")) == ["my_requests"]


def test_the_cases_home_page_is_my_actions_and_each_teams_open_cases(db):
    case = open_case(db)
    set_action(db, case, assignee={"user_id": LEAD.id})
    team_ids = [LEAD.teams[0]["id"], str(uuid.uuid4())]             # my team, and one that leads nothing
    with unit_of_work(db, "cases", LEAD, new_request_id()) as uow:
        page = home_page.home_page(uow, team_ids, 10, 5)
    in_one = [(event["type"], event["data"]) for event in uow.committed_events]
    with unit_of_work(db, "cases", LEAD, new_request_id()) as uow:
        one_by_one = {"actions": actions.my_actions(uow, {"limit": "5"}), "team_cases": [
            listing.list_cases(uow, {"team_id": team_id, "status": "open", "limit": "10", "sort": "-opened_at"})
            for team_id in team_ids]}
    assert page == one_by_one
    assert in_one == [(event["type"], event["data"]) for event in uow.committed_events]
    assert page["actions"]["items"] and [len(listed["items"]) for listed in page["team_cases"]][1] == 0
    assert case["id"] in [item["id"] for item in page["team_cases"][0]["items"]]


@pytest.mark.parametrize("team_ids", ["not-a-list", [1, 2], ["t"] * 21])
def test_the_cases_home_page_refuses_what_is_not_a_short_list_of_team_ids(db, team_ids):
    with pytest.raises(ValidationFailed), unit_of_work(db, "cases", LEAD, new_request_id()) as uow:
        home_page.home_page(uow, team_ids, 10, 5)
