"""The permissions nameko service: a thin adapter from RPC to the directory, sign-in and sharing logic.

The caller comes from the RPC context (`self.context.caller`); every logic
function decides for itself what that caller may do.
"""
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from concord_common import contract
from concord_common.db import Database
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from services.permissions import access_requests, agreements, auth, clients, logic, operators, transfers
from services.permissions import schemas
from services.permissions.owners import RecordOwnersProvider
from services.permissions.principals import PRINCIPAL_INVALIDATED
from services.permissions.settings import Settings


class PolicySettings(DependencyProvider):
    """The service's Settings, read from its config once per container."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class PermissionsService:
    name = "permissions"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    settings = PolicySettings()
    service_rpc = ServiceRpc()         # calls to other services (`rpc` is the entrypoint decorator here)
    owners = RecordOwnersProvider()    # the services that own records: apply_access_grant, apply_transfer

    def _write(self, fn, *args):
        """Run `fn(uow, *args)` in one transaction. If it changed someone's principal, the
        gateways are told (published, confirmed) before the caller gets the answer."""
        with self.db.unit_of_work() as uow:
            result = fn(uow, *args)
        if any(event["type"] == PRINCIPAL_INVALIDATED for event in uow.committed_events):
            self.db.publish_now(uow.committed_events)
        return result

    def _read(self, fn, *args):
        with self.db.read() as session:
            return fn(session, self.context.caller, *args)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- sign-in and sessions ------------------------------------------------------
    @rpc
    def authenticate(self, username, password, otp=None, source_ip=None, kind="api"):
        with self.db.unit_of_work() as uow:
            outcome = auth.authenticate(uow, self.settings, username, password, otp, source_ip, kind)
        return outcome.result()   # a refusal is raised only now, after its failure record committed

    @rpc
    def resolve_token(self, token):
        return self._write(auth.resolve_token, self.settings, token)

    @rpc
    def end_session(self, token):
        return self._write(auth.end_session, token)

    @rpc
    def me(self):
        return self._read(auth.me)

    @rpc
    def enrol_mfa(self):
        return self._write(auth.enrol_mfa)

    @rpc
    def confirm_mfa(self, payload):
        return self._write(auth.confirm_mfa, payload)

    @rpc
    def client_token(self, client_id, client_secret, scope=None):
        return self._write(clients.client_token, self.settings, client_id, client_secret, scope)

    # -- directory -------------------------------------------------------------------
    @rpc
    def create_organisation(self, payload):
        return self._write(logic.create_organisation, payload)

    @rpc
    def list_organisations(self):
        return self._read(logic.list_organisations)

    @rpc
    def get_organisation(self, organisation_id):
        return self._read(logic.get_organisation, organisation_id)

    @rpc
    def create_team(self, organisation_id, payload):
        return self._write(logic.create_team, organisation_id, payload)

    @rpc
    def get_team(self, team_id):
        return self._read(logic.get_team, team_id)

    @rpc
    def add_member(self, team_id, payload):
        return self._write(logic.add_member, team_id, payload)

    @rpc
    def remove_member(self, team_id, user_id):
        return self._write(logic.remove_member, team_id, user_id)

    @rpc
    def create_user(self, payload):
        return self._write(logic.create_user, self.settings, payload)

    @rpc
    def get_user(self, user_id):
        return self._read(logic.get_user, user_id)

    @rpc
    def disable_user(self, user_id):
        return self._write(logic.disable_user, user_id)

    @rpc
    def change_password(self, user_id, payload):
        return self._write(logic.change_password, self.settings, user_id, payload)

    @rpc
    def create_api_client(self, payload):
        return self._write(clients.create_api_client, payload)

    # -- sharing agreements ------------------------------------------------------------
    @rpc
    def create_sharing_agreement(self, payload):
        return self._write(agreements.create_sharing_agreement, payload)

    @rpc
    def list_sharing_agreements(self, organisation_id=None):
        return self._read(agreements.list_sharing_agreements, organisation_id)

    @rpc
    def get_sharing_agreement(self, agreement_id):
        return self._read(agreements.get_sharing_agreement, agreement_id)

    @rpc
    def end_sharing_agreement(self, agreement_id):
        return self._write(agreements.end_sharing_agreement, agreement_id)

    @rpc
    def active_agreement_between(self, organisation_a, organisation_b):
        return self._read(agreements.active_agreement_between, organisation_a, organisation_b)

    # -- access requests (registered by the owning service, decided by the owner team) ---
    @rpc
    def register_access_request(self, record, reason):
        return self._write(access_requests.register_access_request, record, reason)

    @rpc
    def approve_access_request(self, request_id, payload):
        return self._write(access_requests.approve_access_request, self.owners, request_id, payload)

    @rpc
    def deny_access_request(self, request_id, payload=None):
        return self._write(access_requests.deny_access_request, request_id, payload)

    @rpc
    def withdraw_access_request(self, request_id, payload=None):
        return self._write(access_requests.withdraw_access_request, request_id, payload)

    @rpc
    def list_access_requests(self, status=None, direction=None, limit=None, cursor=None):
        return self._read(access_requests.list_access_requests, status, direction, limit, cursor)

    @rpc
    def get_access_request(self, request_id):
        return self._read(access_requests.get_access_request, request_id)

    # -- transfers of ownership (registered by the owning service, decided by the receiving team)
    @rpc
    def register_transfer(self, record, payload):
        return self._write(transfers.register_transfer, record, payload)

    @rpc
    def accept_transfer(self, transfer_id, payload=None):
        return self._write(transfers.accept_transfer, self.owners, transfer_id, payload)

    @rpc
    def reject_transfer(self, transfer_id, payload=None):
        return self._write(transfers.reject_transfer, transfer_id, payload)

    @rpc
    def cancel_transfer(self, transfer_id, payload=None):
        return self._write(transfers.cancel_transfer, transfer_id, payload)

    @rpc
    def list_transfers(self, status=None, direction=None, limit=None, cursor=None):
        return self._read(transfers.list_transfers, status, direction, limit, cursor)

    @rpc
    def get_transfer(self, transfer_id):
        return self._read(transfers.get_transfer, transfer_id)

    # -- operators (caller kind "system" only) ---------------------------------------
    @rpc
    def admin_create(self, username, password):
        return self._write(operators.admin_create, self.settings, username, password)

    @rpc
    def seed_demo(self):
        return self._write(operators.seed_demo)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document

    @timer(interval=3600)
    def housekeeping(self):
        self._write(auth.purge_stale, self.settings)
