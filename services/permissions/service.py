"""The permissions nameko service: a thin adapter from RPC to the directory, sign-in and sharing logic.

The caller comes from the RPC context (`self.context.caller`); every logic
function decides for itself what that caller may do.
"""
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from concord_common import contract, record_types, trust
from concord_common.db import Database
from concord_common.service import CallContext, ServiceBase, ping, rpc
from services.permissions import access_requests, agreements, auth, clients, email_directory, logic, operators, transfers
from services.permissions import schemas
from services.permissions.owners import RecordOwnersProvider
from services.permissions.principals import PRINCIPAL_INVALIDATED
from services.permissions.settings import Settings


# The services that own records ask, as themselves, which organisation a team is in (a partner system names
# its own team to lead a record it creates, but may not browse the directory).
RECORD_OWNERS_AND_OPERATORS = (trust.OPERATOR, *record_types.owning_services())

class PolicySettings(DependencyProvider):
    """The service's Settings, read from its config once per container."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class PermissionsService(ServiceBase):
    name = "permissions"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    settings = PolicySettings()
    owners = RecordOwnersProvider()    # calls, as the system, to the services that own records

    def write(self, fn, *args, **kwargs):
        """Run `fn(uow, *args)` in one transaction. If it changed someone's principal, the
        gateways are told (published, confirmed) before the caller gets the answer."""
        with self.db.unit_of_work() as uow:
            result = fn(uow, *args, **kwargs)
        if any(event["type"] == PRINCIPAL_INVALIDATED for event in uow.committed_events):
            self.db.publish_now(uow.committed_events)
        return result

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- sign-in and sessions ------------------------------------------------------
    @rpc
    def authenticate(self, username, password, otp=None, source_ip=None, kind="api"):
        outcome = self.write(auth.authenticate, self.settings, username, password, otp, source_ip, kind)
        return outcome.result()   # a refusal is raised only now, after its failure record committed

    @rpc
    def resolve_token(self, token):
        return self.write(auth.resolve_token, self.settings, token)

    @rpc
    def end_session(self, token):
        return self.write(auth.end_session, token)

    @rpc
    def me(self):
        return self.read(auth.me)

    @rpc
    def enrol_mfa(self):
        return self.write(auth.enrol_mfa)

    @rpc
    def pending_mfa(self):
        return self.read(auth.pending_mfa)

    @rpc
    def confirm_mfa(self, payload, token=None):
        return self.write(auth.confirm_mfa, payload, token)    # token: the session that stays open

    @rpc
    def client_token(self, client_id, client_secret, scope=None):
        return self.write(clients.client_token, self.settings, client_id, client_secret, scope)

    # -- directory -------------------------------------------------------------------
    @rpc
    def create_organisation(self, payload):
        return self.write(logic.create_organisation, payload)

    @rpc
    def list_organisations(self):
        return self.read(logic.list_organisations)

    @rpc(system_callers=RECORD_OWNERS_AND_OPERATORS)
    def get_organisation(self, organisation_id):
        return self.read(logic.get_organisation, organisation_id)

    @rpc
    def create_team(self, organisation_id, payload):
        return self.write(logic.create_team, organisation_id, payload)

    @rpc(system_callers=RECORD_OWNERS_AND_OPERATORS)
    def get_team(self, team_id):
        return self.read(logic.get_team, team_id)

    @rpc(system_callers=RECORD_OWNERS_AND_OPERATORS)      # cases: the MASH team(s) that lead referrals
    def teams_of_kind(self, kind):
        return self.read(logic.teams_of_kind, kind)

    @rpc
    def add_member(self, team_id, payload):
        return self.write(logic.add_member, team_id, payload).result()   # a refusal recorded, then raised

    @rpc
    def remove_member(self, team_id, user_id):
        return self.write(logic.remove_member, team_id, user_id).result()

    @rpc
    def create_user(self, payload):
        return self.write(logic.create_user, self.settings, payload)

    @rpc(system_callers=RECORD_OWNERS_AND_OPERATORS)      # cases: the person an action is set for
    def get_user(self, user_id):
        return self.read(logic.get_user, user_id)

    @rpc
    def disable_user(self, user_id):
        return self.write(logic.disable_user, user_id)

    @rpc
    def change_password(self, user_id, payload):
        return self.write(logic.change_password, self.settings, user_id, payload).result()

    @rpc
    def create_api_client(self, payload):
        return self.write(clients.create_api_client, payload)

    # -- sharing agreements ------------------------------------------------------------
    @rpc
    def create_sharing_agreement(self, payload):
        return self.write(agreements.create_sharing_agreement, payload)

    @rpc
    def list_sharing_agreements(self, organisation_id=None):
        return self.read(agreements.list_sharing_agreements, organisation_id)

    @rpc
    def get_sharing_agreement(self, agreement_id):
        return self.read(agreements.get_sharing_agreement, agreement_id)

    @rpc
    def end_sharing_agreement(self, agreement_id):
        return self.write(agreements.end_sharing_agreement, agreement_id)

    @rpc
    def active_agreement_between(self, organisation_a, organisation_b):
        return self.read(agreements.active_agreement_between, organisation_a, organisation_b)

    # -- access requests (registered by the owning service, decided by the owner team) ---
    @rpc
    def register_access_request(self, record, reason):
        return self.write(access_requests.register_access_request, record, reason)

    @rpc
    def approve_access_request(self, request_id, payload):
        return self.write(access_requests.approve_access_request, self.owners, request_id, payload)

    @rpc
    def deny_access_request(self, request_id, payload=None):
        return self.write(access_requests.deny_access_request, request_id, payload)

    @rpc
    def withdraw_access_request(self, request_id, payload=None):
        return self.write(access_requests.withdraw_access_request, request_id, payload)

    @rpc
    def list_access_requests(self, status=None, direction=None, limit=None, cursor=None):
        return self.read(access_requests.list_access_requests, status, direction, limit, cursor)

    @rpc
    def get_access_request(self, request_id):
        return self.read(access_requests.get_access_request, request_id)

    # -- transfers of ownership (registered by the owning service, decided by the receiving team)
    @rpc
    def register_transfer(self, record, payload):
        return self.write(transfers.register_transfer, record, payload)

    @rpc
    def accept_transfer(self, transfer_id, payload=None):
        return self.write(transfers.accept_transfer, self.owners, transfer_id, payload)

    @rpc
    def reject_transfer(self, transfer_id, payload=None):
        return self.write(transfers.reject_transfer, transfer_id, payload)

    @rpc
    def cancel_transfer(self, transfer_id, payload=None):
        return self.write(transfers.cancel_transfer, transfer_id, payload)

    @rpc
    def list_transfers(self, status=None, direction=None, limit=None, cursor=None):
        return self.read(transfers.list_transfers, status, direction, limit, cursor)

    @rpc
    def get_transfer(self, transfer_id):
        return self.read(transfers.get_transfer, transfer_id)

    # -- operators (caller kind "system" only) ---------------------------------------
    @rpc
    def admin_create(self, username, password):
        return self.write(operators.admin_create, self.settings, username, password)

    @rpc
    def seed_demo(self):
        return self.write(operators.seed_demo)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document

    @timer(interval=3600)
    def housekeeping(self):
        self.write(auth.purge_stale, self.settings)

    # E-mail for notifications (issue 17): the active members' addresses, asked by the notifications service only.
    @rpc(system_callers=("notifications",))
    def email_recipients(self, user_ids, team_ids):
        return self.read(email_directory.email_recipients, user_ids, team_ids)
