"""Rules for what closing tells people (services/notifications/rules.py): a case closed with open actions, and a
MASH referral decided before every agency answered its research request."""
from services.notifications import rules

ACTION = {"title": "Visit the flat", "assignee": {"user_id": "u-1", "team_id": "t-1"}}


def test_an_action_cancelled_because_its_case_closed_tells_the_assignee():
    told = rules.notices_for("case.action_cancelled", {"action": ACTION, "reference": "ASB-1", "case_closed": True})
    assert [(kind, who, title) for kind, who, title, _ in told] == [
        ("user", "u-1", "An action was cancelled: its case closed")]
    team_action = {**ACTION, "assignee": {"user_id": None, "team_id": "t-1"}}
    assert rules.notices_for("case.action_cancelled", {"action": team_action, "case_closed": True})[0][:2] == \
        ("team", "t-1")


def test_an_action_someone_cancelled_themselves_tells_nobody():
    assert rules.notices_for("case.action_cancelled", {"action": ACTION, "reference": "ASB-1"}) == []


def test_a_decided_referral_tells_the_referrers_and_the_teams_whose_research_closed():
    told = rules.notices_for("mash.decided", {"reference": "MASH-1", "outcome_words": "Early help",
                                              "referrer_team_ids": ["t-ref"], "research_closed_team_ids": ["t-a"]})
    assert [(who, title) for _, who, title, _ in told] == [
        ("t-ref", "Outcome of your MASH referral"), ("t-a", "A MASH research request is no longer needed")]
    assert rules.notices_for("mash.decided", {"reference": "MASH-1", "referrer_team_ids": []}) == []
