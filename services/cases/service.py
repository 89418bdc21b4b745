"""The cases nameko service: a thin adapter from RPC to services.cases (logic, notes, listing, case_types)."""
from pathlib import Path

from concord_common import contract, schedule, trust
from concord_common.access.entrypoints import RecordAccessRpc, RpcDirectory
from concord_common.db import Database
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from concord_common.errors import NotFound
from services.cases import actions, attachments, case_page, case_types, listing, logic, notes, reviews, risk
from services.cases import community_trigger, complaints, mash, mash_reminders, meetings, powers
from services.cases import schemas


class RpcProfiles:
    """Profiles and families as the caller sees them, asked of the profiles service as the caller
    (a profile they may not see is NotFound, exactly as one that does not exist)."""

    def __init__(self, client):
        self.client = client

    def profile(self, profile_id: str) -> dict:
        return self.client.call("profiles", "get_profile", profile_id)

    def family(self, family_id: str) -> dict:
        return self.client.call("profiles", "get_family", family_id)


class RpcAssignees:
    """Teams and people an action may be set for, asked of the permissions service as the cases service itself
    (an assignee may be in another organisation, whose people the caller may not browse); None if absent."""

    def __init__(self, client):
        self.client = client

    def _get(self, method, record_id):
        try:
            return self.client.call_as_system("permissions", method, record_id)
        except NotFound:
            return None

    def team(self, team_id: str) -> dict | None:
        return self._get("get_team", team_id)

    def user(self, user_id: str) -> dict | None:
        return self._get("get_user", user_id)


class MashProfiles(RpcProfiles):
    """A referral's subject: a profile the referrer may see (asked as them), or person details matched or made
    into a profile by the profiles service (asked as the cases service: a partner system may not search)."""

    def match_or_create(self, person, team_id, organisation_id, threshold):
        return self.client.call_as_system("profiles", "mash_subject", person, team_id, organisation_id, threshold)


class MashDirectory(RpcDirectory):
    """The MASH team(s) and the teams research is asked of, from the permissions service (as the cases service)."""

    def mash_teams(self) -> list[dict]:
        return self.client.call_as_system("permissions", "teams_of_kind", "mash")

    def team(self, team_id: str) -> dict | None:
        return RpcAssignees(self.client).team(team_id)


class CasesService(RecordAccessRpc):
    name = "cases"
    record_kinds = {"case": logic.CASE}

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    remote = ServiceRpc()   # calls to other services (not named rpc: that is the decorator)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- case types ------------------------------------------------------------------------------------------
    @rpc
    def list_case_types(self):
        return self.read(case_types.list_types)

    @rpc
    def create_case_type(self, payload):
        return self.write(case_types.create_type, payload)

    @rpc
    def update_case_type(self, code, payload):
        return self.write(case_types.update_type, code, payload)

    # -- cases -----------------------------------------------------------------------------------------------
    @rpc
    def create_case(self, payload):
        return self.write(logic.create_case, payload, RpcProfiles(self.remote), RpcDirectory(self.remote))

    @rpc
    def get_case(self, case_id):
        return self.write(logic.get_case, case_id)

    @rpc
    def update_case(self, case_id, payload, if_match=None):
        return self.write(logic.update_case, case_id, payload, if_match)

    @rpc
    def close_case(self, case_id, payload, if_match=None):
        return self.write(logic.close_case, case_id, payload, if_match)

    @rpc
    def reopen_case(self, case_id, payload, if_match=None):
        return self.write(logic.reopen_case, case_id, payload, if_match)

    @rpc
    def list_cases(self, params=None):
        return self.write(listing.list_cases, params or {})

    @rpc
    def add_participant(self, case_id, payload):
        return self.write(logic.add_participant, case_id, payload, RpcProfiles(self.remote))

    @rpc
    def end_participant(self, case_id, participant_id):
        self.write(logic.end_participant, case_id, participant_id)

    @rpc
    def link_cases(self, case_id, payload):
        return self.write(logic.link_cases, case_id, payload)

    # -- notes and the timeline --------------------------------------------------------------------------------
    @rpc
    def add_note(self, case_id, payload):
        return self.write(notes.add_note, case_id, payload)

    @rpc
    def correct_note(self, case_id, note_id, payload):
        return self.write(notes.correct_note, case_id, note_id, payload)

    @rpc
    def case_page(self, case_id, timeline_params=None):
        return self.write(case_page.case_page, case_id, timeline_params)   # records the view

    @rpc
    def list_notes(self, case_id, params=None):
        return self.write(notes.list_notes, case_id, params or {})

    @rpc
    def case_timeline(self, case_id, params=None):
        return self.write(notes.timeline, case_id, params or {})

    # -- documents (attachments.py): one call per file, so all of it or none -------------------------------
    @rpc
    def add_attachment(self, case_id, upload):
        max_bytes = int(self.config_value("ATTACHMENT_MAX_BYTES", attachments.DEFAULT_MAX_BYTES))
        return self.write(attachments.add_attachment, case_id, upload, max_bytes)

    @rpc
    def list_attachments(self, case_id, params=None):
        return self.write(attachments.list_attachments, case_id, params or {})       # records the read

    @rpc
    def download_attachment(self, case_id, attachment_id):
        return self.write(attachments.download_attachment, case_id, attachment_id)   # records the download

    # -- risk assessments (risk.py): part of the case's file ---------------------------------------------------
    @rpc
    def list_risk_templates(self):
        return self.read(risk.list_templates)

    @rpc
    def assess_risk(self, case_id, payload):
        return self.write(risk.assess, case_id, payload)

    @rpc
    def list_risk_assessments(self, case_id):
        return self.write(risk.list_assessments, case_id)                    # records the read

    @rpc
    def get_risk_assessment(self, assessment_id):
        return self.write(risk.get_assessment, assessment_id)                # records the read

    @rpc
    def sign_off_risk_assessment(self, assessment_id):
        return self.write(risk.sign_off, assessment_id)

    # -- actions (actions.py) ------------------------------------------------------------------------------------
    @rpc
    def create_action(self, case_id, payload):
        return self.write(actions.create_action, case_id, payload, RpcAssignees(self.remote))

    @rpc
    def update_action(self, action_id, payload):
        return self.write(actions.update_action, action_id, payload)

    @rpc
    def case_action(self, case_id, action_id):
        return self.write(actions.case_action, case_id, action_id)             # records the view

    @rpc
    def case_actions(self, case_id, params=None):
        return self.write(actions.case_actions, case_id, params or {})         # records the read

    @rpc
    def my_actions(self, params=None):
        return self.write(actions.my_actions, params or {})                    # records the read

    @rpc(system_callers=(trust.OPERATOR,))          # `concord seed`: the demo's overdue action
    def seed_demo_action(self, case_id, payload, days_late=0):
        return self.write(actions.seed_demo_action, case_id, payload, RpcAssignees(self.remote), int(days_late))

    @schedule.scheduled(actions.ACTION_REMINDERS.name, actions.ACTION_REMINDERS.seconds)
    def action_reminders(self, job):
        self.write(schedule.run_once, job, actions.send_reminders)

    @schedule.scheduled(mash_reminders.RESEARCH_REMINDERS.name, mash_reminders.RESEARCH_REMINDERS.seconds)
    def research_reminders(self, job):
        self.write(schedule.run_once, job, mash_reminders.send_reminders)

    # -- scheduled ---------------------------------------------------------------------------------------------
    @schedule.scheduled(reviews.REVIEW_DUE.name, reviews.REVIEW_DUE.seconds)
    def review_due(self, job):
        self.write(schedule.run_once, job, reviews.notify_due)

    # -- the ASB toolkit: powers and breaches (powers.py), complaints and the Community Trigger -----------------
    def _trigger_settings(self):
        return community_trigger.Settings.from_config(self.config_value)

    @rpc
    def add_power(self, case_id, payload):
        return self.write(powers.add_power, case_id, payload)

    @rpc
    def list_case_powers(self, case_id):
        return self.write(powers.list_case_powers, case_id)            # records the read

    @rpc
    def update_power(self, power_id, payload):
        return self.write(powers.update_power, power_id, payload)

    @rpc
    def add_breach(self, power_id, payload):
        return self.write(powers.add_breach, power_id, payload)

    @rpc
    def expiring_powers(self, params=None):
        return self.write(powers.expiring, params or {})

    @rpc
    def add_complaint(self, case_id, payload):
        return self.write(complaints.add_complaint, case_id, payload, self._trigger_settings())

    @rpc
    def withdraw_complaint(self, complaint_id, payload):
        return self.write(complaints.withdraw_complaint, complaint_id, payload)

    @rpc
    def list_complaints(self, case_id):
        return self.write(complaints.list_complaints, case_id)

    @rpc
    def trigger_activations(self, params=None):
        return self.write(community_trigger.list_activations, params or {})

    @rpc
    def trigger_threshold(self, organisation_id):
        return self.read(community_trigger.get_threshold, organisation_id, self._trigger_settings())

    @rpc
    def set_trigger_threshold(self, organisation_id, payload):
        return self.write(community_trigger.set_threshold, organisation_id, payload, self._trigger_settings())

    @schedule.scheduled(powers.EXPIRE.name, powers.EXPIRE.seconds)
    def powers_expire(self, job):
        self.write(schedule.run_once, job, powers.expire_due)

    # -- meetings and panels (meetings.py) -------------------------------------------------------------------------
    @rpc
    def create_meeting(self, payload):
        return self.write(meetings.create_meeting, payload, RpcDirectory(self.remote))

    @rpc
    def list_meetings(self, params=None):
        return self.write(meetings.list_meetings, params or {})          # records the search

    @rpc
    def get_meeting(self, meeting_id):
        return self.write(meetings.get_meeting, meeting_id)              # records the view

    @rpc
    def cancel_meeting(self, meeting_id):
        return self.write(meetings.cancel_meeting, meeting_id)

    @rpc
    def add_agenda_item(self, meeting_id, payload):
        return self.write(meetings.add_agenda_item, meeting_id, payload)

    @rpc
    def remove_agenda_item(self, meeting_id, item_id):
        self.write(meetings.remove_agenda_item, meeting_id, item_id)

    @rpc
    def record_minutes(self, meeting_id, item_id, payload):
        return self.write(meetings.record_minutes, meeting_id, item_id, payload, RpcAssignees(self.remote))

    # -- MASH referrals (mash.py, docs/mash.md) ----------------------------------------------------------------
    def _mash_settings(self):
        return mash.Settings.from_config(self.config_value)

    @rpc
    def create_referral(self, payload):
        return self.write(mash.create_referral, payload, MashProfiles(self.remote), MashDirectory(self.remote),
                          self._mash_settings())

    @rpc
    def get_referral(self, referral_id):
        return self.write(mash.get_referral, referral_id)                     # records the read

    @rpc
    def list_referrals(self, params=None):
        return self.write(mash.list_referrals, params or {}, MashDirectory(self.remote))

    @rpc
    def triage_referral(self, referral_id, payload):
        return self.write(mash.triage, referral_id, payload, self._mash_settings())

    @rpc
    def request_research(self, referral_id, payload):
        return self.write(mash.request_research, referral_id, payload, MashDirectory(self.remote),
                          self._mash_settings())

    @rpc
    def get_research_request(self, request_id):
        return self.write(mash.get_research_request, request_id)

    @rpc
    def answer_research(self, request_id, payload):
        return self.write(mash.answer_research, request_id, payload)

    @rpc
    def decide_referral(self, referral_id, payload):
        return self.write(mash.decide, referral_id, payload, MashDirectory(self.remote))

    @rpc
    def mash_dashboard(self, params=None):
        return self.write(mash.dashboard, params or {}, MashDirectory(self.remote))

    @rpc
    def outstanding_research(self):
        return self.read(mash.outstanding_requests)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
