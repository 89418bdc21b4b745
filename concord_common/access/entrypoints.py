"""The RPCs every record-owning service exposes for its records' access lists.

A service mixes `RecordAccessRpc` in, declares `record_kinds` (record type ->
RecordKind) and has `db` (Database), `remote` (ServiceRpc) and `context`.
The gateway calls these as the signed-in caller; `apply_*` are for the
permissions service, acting as the system once an owner has approved.
"""
from concord_common.access import records
from concord_common.errors import NotFound, ValidationFailed
from concord_common.service import rpc


class RpcDirectory:
    """The permissions service's answers, as records.py asks for them."""

    def __init__(self, client):
        self.client = client

    def team_organisation(self, team_id: str) -> str:
        try:
            return self.client.call("permissions", "get_team", team_id)["organisation_id"]
        except NotFound:
            raise ValidationFailed("One or more fields are invalid.", {"grantee_id": ["There is no such team."]})

    def organisation_exists(self, organisation_id: str) -> bool:
        try:
            self.client.call("permissions", "get_organisation", organisation_id)
            return True
        except NotFound:
            raise ValidationFailed("One or more fields are invalid.",
                                   {"grantee_id": ["There is no such organisation."]})

    def agreement_between(self, organisation_a: str, organisation_b: str) -> dict | None:
        return self.client.call("permissions", "active_agreement_between", organisation_a, organisation_b)

    def register_access_request(self, record: dict, reason: str) -> dict:
        return self.client.call("permissions", "register_access_request", record, reason)

    def register_transfer(self, record: dict, payload: dict) -> dict:
        return self.client.call("permissions", "register_transfer", record, payload)


class RecordAccessRpc:
    record_kinds: dict = {}

    def _kind(self, record_type) -> records.RecordKind:
        kind = self.record_kinds.get(record_type)
        if kind is None:
            raise NotFound()
        return kind

    def _consent_update(self, consent: dict) -> dict:
        """How a transfer's re-confirmed consent is stored; services with consent override this."""
        return {}

    @rpc
    def get_access(self, record_type, record_id):
        with self.db.read() as session:
            return records.access_list(session, self._kind(record_type), record_id, self.context.caller)

    @rpc
    def why(self, record_type, record_id):
        with self.db.read() as session:
            return records.why(session, self._kind(record_type), record_id, self.context.caller)

    @rpc
    def check_access(self, record_type, record_id, action):
        with self.db.read() as session:
            return records.check_access(session, self._kind(record_type), record_id, self.context.caller, action)

    @rpc
    def add_grant(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.add_grant(uow, self._kind(record_type), record_id, payload, RpcDirectory(self.remote))

    @rpc
    def revoke_grant(self, record_type, record_id, grant_id):
        with self.db.unit_of_work() as uow:
            records.revoke_grant(uow, self._kind(record_type), record_id, grant_id)

    @rpc
    def set_restricted(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.set_restricted(uow, self._kind(record_type), record_id, payload)

    @rpc
    def break_glass(self, record_type, record_id, payload):
        minutes = int(self.config_value("BREAK_GLASS_MINUTES", 60))
        with self.db.unit_of_work() as uow:
            return records.break_glass(uow, self._kind(record_type), record_id, payload, minutes)

    @rpc
    def request_access(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.request_access(uow, self._kind(record_type), record_id, payload, RpcDirectory(self.remote))

    @rpc
    def request_transfer(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.request_transfer(uow, self._kind(record_type), record_id, payload,
                                            RpcDirectory(self.remote))

    @rpc
    def apply_access_grant(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.apply_access_grant(uow, self._kind(record_type), record_id, payload)

    @rpc
    def apply_transfer(self, record_type, record_id, payload):
        with self.db.unit_of_work() as uow:
            return records.apply_transfer(uow, self._kind(record_type), record_id, payload, self._consent_update)

    def config_value(self, key, default):
        return self.remote.config.get(key, default)
