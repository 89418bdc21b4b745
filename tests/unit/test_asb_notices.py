"""Who is told of ASB events (services/notifications/logic.py): the lead team of a breached power's case, and
each lead team once of a Community Trigger activation — with no record content in the words."""
from services.notifications.logic import notices_for

OWNER = {"organisation_id": "org-1", "team_id": "team-1"}
CASE = {"type": "case", "id": "c-1"}


def test_a_breach_tells_the_lead_team():
    [(kind, team, title, body)] = notices_for("case.power_breached", {
        "record": CASE, "owner": OWNER, "reference": "ASB-2026-000042",
        "power": {"power": "civil_injunction"}, "breach": {"occurred_on": "2026-12-01"}})
    assert (kind, team, title) == ("team", "team-1", "A power was breached")
    assert "civil injunction" in body and "ASB-2026-000042" in body


def test_an_activation_tells_each_lead_team_once():
    data = {"record": CASE, "owner": OWNER, "reference": "ASB-2026-000042",
            "activation": {"review_due": "2026-12-18"}}
    [(kind, team, title, body)] = notices_for("case.community_trigger_activated", {**data, "notify_team": True})
    assert (kind, team, title) == ("team", "team-1", "Community Trigger activated") and "2026-12-18" in body
    assert notices_for("case.community_trigger_activated", {**data, "notify_team": False}) == []
    assert notices_for("case.power_recorded", data) == []
