"""Every notification Concord makes, in one table: which event, who is told, what they read in the app, and
what the e-mail says (docs/notifications.md). No nameko here.

A rule's in-app words may carry what the recipient may see anyway (an action's title, a meeting's title, a case
reference). Its e-mail words never carry record content — no names of people, no case, action or meeting titles,
no references, no reasons — only what kind of thing happened and a link to it: an e-mail leaves Concord's
access control, is forwarded, sits on phones. The e-mail subject is the in-app title, which is fixed words for
every rule (tests/logic/test_email.py seeds names everywhere and finds none in any e-mail).
"""
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Callable

from concord_common.record_types import api_path

Notice = tuple[str, str, str, str]      # (recipient type, recipient id, title, in-app body)

# Kinds of notification a person chooses e-mail for (immediately, daily digest, off), in the order shown.
KINDS = {
    "actions": "Actions set for you or your team, due soon and overdue",
    "access": "Access requests, decisions and transfers",
    "sharing": "Cases shared with your team",
    "meetings": "Cases put on a meeting's agenda",
    "mash": "MASH referrals, research requests and outcomes",
    "cases": "Case reviews, risk assessments, ASB powers and the Community Trigger",
    "security": "Emergency (break-glass) access and changes to your team",
}


@dataclass(frozen=True)
class Rule:
    event: str                                  # an event type, or a pattern (`*.break_glass`)
    kind: str                                   # a key of KINDS
    notices: Callable[[str, dict], list]        # (event type, data) -> [Notice]
    email: str                                  # the e-mail's words: what happened, never what the record says

    def matches(self, event_type: str) -> bool:
        return fnmatchcase(event_type, self.event)


def _owner_team(data: dict) -> str | None:
    return (data.get("owner") or {}).get("team_id")


def _record(data: dict) -> dict:
    return data.get("record") or {}


# -- the in-app notices, per rule -------------------------------------------------------------------------------
def _access_requested(event_type, data):
    return [("team", _owner_team(data), "Access requested",
             f"Someone has asked for access to a record your team leads: {data.get('reason', '')}")]


def _access_decided(event_type, data):
    outcome = "approved" if event_type.endswith("approved") else "denied"
    detail = f" ({data.get('level')} access)" if outcome == "approved" else ""
    return [("user", data.get("requester_id"), f"Access request {outcome}",
             f"Your request for access to {api_path(_record(data))} was {outcome}{detail}.")]


def _transfer_requested(event_type, data):
    return [("team", data.get("to_team_id"), "A record is being transferred to your team",
             f"Accept or reject the transfer of {api_path(_record(data))}.")]


def _transfer_decided(event_type, data):
    outcome = "accepted" if event_type == "record.transferred" else "rejected"
    return [("team", data.get("from_team_id"), f"Transfer {outcome}",
             f"The transfer of {api_path(_record(data))} was {outcome}.")]


def _agenda_added(event_type, data):
    """Each team the meeting shows its agenda to (chair and attendees, not the case's own lead team) hears
    that a case is on it: the meeting's title and date and where the case is, never the case's content."""
    meeting = data.get("meeting") or {}
    day = (meeting.get("starts_at") or "")[:10]
    body = (f"A case was put on the agenda of “{meeting.get('title', 'a meeting')}” on {day}: "
            f"{api_path(_record(data))}. Your team may view it until {(data.get('access_until') or '')[:10]}.")
    return [("team", team_id, "A case was added to a meeting's agenda", body)
            for team_id in data.get("attendee_team_ids") or ()]


def _case_shared(event_type, data):
    grant = data.get("grant") or {}
    if grant.get("grantee_type") != "team" or grant.get("source") == "meeting":   # told as case.agenda_added
        return []
    return [("team", grant.get("grantee_id"), "Your team was given access to a case",
             f"Your team may now {'view and change' if grant.get('level') == 'edit' else 'view'} "
             f"{api_path(_record(data))}.")]


def _owner_changed(event_type, data):
    return [("team", _owner_team(data), "Your team now leads a case",
             f"A case was transferred to your team: {api_path(_record(data))}.")]


def _review_due(event_type, data):
    return [("team", _owner_team(data), "A case review is due",
             f"The review of case {data.get('reference') or api_path(_record(data))} is due "
             f"({data.get('review_due')}).")]


def _risk_assessed(event_type, data):
    # To the lead team (the cases service does not know who its supervisors are): they sign it off.
    assessment = data.get("assessment") or {}
    return [("team", _owner_team(data), "A risk assessment awaits sign-off",
             f"A {assessment.get('level', '')} risk assessment on {api_path(_record(data))} needs a supervisor of "
             f"your team to sign it off.")]


def _power_breached(event_type, data):
    power = data.get("power") or {}
    return [("team", _owner_team(data), "A power was breached",
             f"A breach of a {power.get('power', 'power').replace('_', ' ')} was recorded on case "
             f"{data.get('reference') or api_path(_record(data))}.")]


def _community_trigger(event_type, data):
    if not data.get("notify_team"):
        return []
    activation = data.get("activation") or {}
    return [("team", _owner_team(data), "Community Trigger activated",
             f"A complainant on case {data.get('reference') or api_path(_record(data))} has met the Community "
             f"Trigger threshold; the case review is due by {activation.get('review_due')}.")]


def _assignee(action: dict) -> tuple[str, str | None]:
    """The person an action was set for, else their team."""
    assignee = action.get("assignee") or {}
    return ("user", assignee["user_id"]) if assignee.get("user_id") else ("team", assignee.get("team_id"))


def _action_notice(event_type, data):
    """To the person an action was set for, else their team. Only what the assignee may see anyway (they can
    view the case): the action's title, its due date and the case reference; never its detail."""
    action = data.get("action") or {}
    to = _assignee(action)
    reference = data.get("reference") or "a case"
    if event_type == "case.action_set":
        title = "An action was set for you" if to[0] == "user" else "An action was set for your team"
        body = f"On case {reference}: {action.get('title')} (due {action.get('due')})."
    elif data.get("reminder") == "overdue":
        title, body = "An action is overdue", f"On case {reference}: {action.get('title')} was due {action.get('due')}."
    else:
        title, body = "An action is due soon", f"On case {reference}: {action.get('title')} is due {action.get('due')}."
    return [(*to, title, body)]


def _team_oversight(event_type, data):
    """A team's overseers (its supervisors; its SPOCs if it has none), named by the permissions service in
    `overseer_ids`, hear of an administrator joining the team (they can then open its restricted records)
    and of anyone trying to change their own place in it."""
    who, team = data.get("display_name") or "Someone", data.get("team_name") or "your team"
    if event_type == "team.member_added":
        if not data.get("administrator"):
            return []
        title = "An administrator joined your team"
        body = (f"{who}, an administrator, was made {data.get('role')} of {team}: they can now open "
                f"the team's restricted records.")
    else:
        title = "Someone tried to change their own place in your team"
        body = f"{who} tried to change their own membership of {team} ({data.get('change')}). It was refused."
    return [("user", overseer, title, body) for overseer in data.get("overseer_ids") or ()]


# MASH referrals (docs/mash.md): the MASH team hears of a new referral; the asked team of a research request
# (the reference and due time only: the question is on the request); the MASH team of an answer; the referring
# practitioner's teams (for a partner system: nobody in Concord; its webhooks carry mash.decided) of the
# outcome's category, never the rationale.
def _referral_received(event_type, data):
    return [("team", _owner_team(data), "New MASH referral", f"Referral {data.get('reference') or ''} has arrived: "
                                                             f"triage it.")]


def _research_requested(event_type, data):
    request = data.get("request") or {}
    return [("team", request.get("team_id"), "The MASH asks what your team knows",
             f"The MASH asks your team about the subject of referral {data.get('reference') or ''}; answer by "
             f"{request.get('due')}. It is on your actions.")]


def _research_reminder(event_type, data):
    request = data.get("request") or {}
    overdue = data.get("reminder") == "overdue"
    return [("team", request.get("team_id"), "A MASH research request is overdue" if overdue
             else "A MASH research request is due soon",
             f"The MASH's question about the subject of referral {data.get('reference') or ''} "
             f"{'was' if overdue else 'is'} due {request.get('due')}. It is on your actions.")]


def _research_answered(event_type, data):
    return [("team", _owner_team(data), "A research request was answered",
             f"An agency answered the research request on referral {data.get('reference') or ''}.")]


def _mash_decided(event_type, data):
    """The referrer's teams hear the outcome's category; a team whose research request closed unanswered hears
    that it is no longer needed (services/cases/mash.py decide)."""
    words, reference = data.get("outcome_words") or data.get("outcome"), data.get("reference") or ""
    return [("team", team_id, "Outcome of your MASH referral", f"The MASH decided referral {reference}: {words}.")
            for team_id in data.get("referrer_team_ids") or []] + \
        [("team", team_id, "A MASH research request is no longer needed",
          f"The MASH decided referral {reference} before your team answered: no answer is needed now.")
         for team_id in data.get("research_closed_team_ids") or []]


def _action_cancelled(event_type, data):
    """Only when the case closed (the assignee did not cancel it themselves): the assignee, as for a new action."""
    if not data.get("case_closed"):
        return []
    action = data.get("action") or {}
    to = _assignee(action)
    return [(*to, "An action was cancelled: its case closed",
             f"Case {data.get('reference') or ''} was closed, so {action.get('title')} is no longer needed.")]


def _break_glass(event_type, data):
    return [("team", _owner_team(data), "Emergency access used",
             f"Someone used emergency (break-glass) access to "
             f"{data.get('display_name') or api_path(_record(data))}: {data.get('reason', '')}")]


# -- the table -------------------------------------------------------------------------------------------------
RULES: tuple[Rule, ...] = (
    Rule("case.action_set", "actions", _action_notice,
         "An action on a case was set for you or your team. Open it in Concord to see what it is and when it is due."),
    Rule("case.action_reminder_sent", "actions", _action_notice,
         "An action on a case set for you or your team is due soon or overdue. Open it in Concord to see it."),
    Rule("access_request.requested", "access", _access_requested,
         "Someone has asked for access to a record your team leads. Open Concord to approve or deny the request."),
    Rule("access_request.approved", "access", _access_decided,
         "Your request for access to a record was approved. Open it in Concord."),
    Rule("access_request.denied", "access", _access_decided,
         "Your request for access to a record was denied. Open Concord to see the decision."),
    Rule("record.transfer_requested", "access", _transfer_requested,
         "A record is being transferred to your team. Open Concord to accept or reject the transfer."),
    Rule("record.transferred", "access", _transfer_decided,
         "A transfer of a record from your team was accepted. Open Concord to see it."),
    Rule("record.transfer_rejected", "access", _transfer_decided,
         "A transfer of a record from your team was rejected. Open Concord to see it."),
    Rule("case.owner_changed", "access", _owner_changed,
         "A case was transferred to your team: your team now leads it. Open it in Concord."),
    Rule("case.shared", "sharing", _case_shared,
         "Your team was given access to a case. Open it in Concord."),
    Rule("case.agenda_added", "meetings", _agenda_added,
         "A case was put on the agenda of a meeting your team attends. Open it in Concord before the meeting."),
    Rule("mash.referral_received", "mash", _referral_received,
         "A new referral has arrived at the MASH. Open Concord to triage it."),
    Rule("mash.research_requested", "mash", _research_requested,
         "The MASH asks your team what it knows about the subject of a referral. Open Concord to answer."),
    Rule("mash.research_reminder_sent", "mash", _research_reminder,
         "A MASH research request for your team is due soon or overdue. Open it in Concord to answer."),
    Rule("mash.research_answered", "mash", _research_answered,
         "An agency answered a research request on a MASH referral. Open it in Concord."),
    Rule("mash.decided", "mash", _mash_decided,
         "The MASH decided a referral your team made or was asked about. Open Concord to see what it means for "
         "your team."),
    Rule("case.action_cancelled", "actions", _action_cancelled,
         "A case with an action for you or your team was closed, so the action was cancelled. Open it in Concord."),
    Rule("case.review_due", "cases", _review_due,
         "A review of a case your team leads is due. Open it in Concord."),
    Rule("case.risk_assessed", "cases", _risk_assessed,
         "A risk assessment on a case your team leads needs a supervisor's sign-off. Open it in Concord."),
    Rule("case.power_breached", "cases", _power_breached,
         "A breach of an ASB power was recorded on a case your team leads. Open it in Concord."),
    Rule("case.community_trigger_activated", "cases", _community_trigger,
         "The Community Trigger threshold was met on a case your team leads: a case review is due. "
         "Open it in Concord."),
    Rule("*.break_glass", "security", _break_glass,
         "Someone used emergency (break-glass) access to a record your team leads. Open Concord to see who and why."),
    Rule("team.member_added", "security", _team_oversight,
         "An administrator joined a team you oversee: they can now open the team's restricted records."),
    Rule("team.own_membership_refused", "security", _team_oversight,
         "Someone tried to change their own place in a team you oversee. It was refused."),
)
assert all(rule.kind in KINDS for rule in RULES)


def rule_for(event_type: str) -> Rule | None:
    return next((rule for rule in RULES if rule.matches(event_type)), None)


def notices_for(event_type: str, data: dict) -> list[Notice]:
    """(recipient type, recipient id, title, body) for each notification an event causes."""
    rule = rule_for(event_type)
    return rule.notices(event_type, data) if rule else []


# Where a record's page is in the web app (a type with no page of its own links to the notifications page).
RECORD_PAGES = {"profile": "/profiles/{}", "case": "/cases/{}", "family": "/families/{}"}


def link_for(record: dict) -> str:
    """A path under the gateway's PUBLIC_URL: the record's page (its id, never its content)."""
    pattern = RECORD_PAGES.get((record or {}).get("type"))
    record_id = str((record or {}).get("id") or "")
    if pattern and record_id and all(c.isalnum() or c == "-" for c in record_id):
        return pattern.format(record_id)
    return "/notifications"
