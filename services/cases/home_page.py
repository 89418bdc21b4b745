"""The cases service's part of a person's home page in one call and one transaction: their actions (My actions'
counts and the soonest due) and each of their teams' newest open cases. It was one call for the actions and one for
each team. Each part is read, and recorded, exactly as its own call reads and records it."""
from concord_common.errors import ValidationFailed
from services.cases import actions, listing

MOST_TEAMS = 20


def home_page(uow, team_ids, cases_per_team: int, actions_shown: int) -> dict:
    if not isinstance(team_ids, list) or len(team_ids) > MOST_TEAMS or not all(isinstance(t, str) for t in team_ids):
        raise ValidationFailed("One or more fields are invalid.",
                               {"team_ids": [f"A list of at most {MOST_TEAMS} team ids."]})
    return {"actions": actions.my_actions(uow, {"limit": str(actions_shown)}),
            "team_cases": [listing.list_cases(uow, {"team_id": team_id, "status": "open", "limit": str(cases_per_team),
                                                    "sort": "-opened_at"}) for team_id in team_ids]}
