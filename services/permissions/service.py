"""The permissions nameko service: a thin adapter from RPC to the directory and sign-in logic.

The caller comes from the RPC context (`self.context.caller`); every logic
function decides for itself what that caller may do.
"""
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from concord_common.db import Database
from concord_common.service import CallContext, ping, rpc
from services.permissions import auth, clients, logic, operators
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

    # -- operators (caller kind "system" only) ---------------------------------------
    @rpc
    def admin_create(self, username, password):
        return self._write(operators.admin_create, self.settings, username, password)

    @rpc
    def seed_demo(self):
        return self._write(operators.seed_demo)

    @timer(interval=3600)
    def housekeeping(self):
        self._write(auth.purge_stale, self.settings)
