"""The RPCs every record-owning service exposes for its records' access lists.

A service mixes `RecordAccessRpc` in (a ServiceBase), declares `record_kinds`
(record type -> RecordKind, for the types concord_common.record_types says it
owns) and has `db` (Database), `remote` (ServiceRpc) and `context`.
The gateway calls these as the signed-in caller; `apply_*` are for the
permissions service, acting as the system once an owner has approved.
"""
from concord_common.access import records
from concord_common.errors import NotFound, ValidationFailed
from concord_common.service import ServiceBase, rpc


class RpcDirectory:
    """The permissions service's answers, as records.py asks for them."""

    def __init__(self, client):
        self.client = client

    # A partner system (API client) may not browse the directory, but may name a team of its own
    # organisation to lead a record: the owning service asks as itself which organisation a team is in.
    def team_organisation(self, team_id: str) -> str:
        try:
            return self.client.call_as_system("permissions", "get_team", team_id)["organisation_id"]
        except NotFound:
            raise ValidationFailed("One or more fields are invalid.", {"grantee_id": ["There is no such team."]})

    def organisation_exists(self, organisation_id: str) -> bool:
        try:
            self.client.call_as_system("permissions", "get_organisation", organisation_id)
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


class RecordAccessRpc(ServiceBase):
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
        return self.write(records.access_list, self._kind(record_type), record_id)      # records the read

    @rpc
    def why(self, record_type, record_id):
        return self.write(records.why, self._kind(record_type), record_id)              # records the read

    @rpc
    def check_access(self, record_type, record_id, action):
        return self.read(records.check_access, self._kind(record_type), record_id, action)

    @rpc
    def visible_names(self, record_type, record_ids):
        return self.read(records.visible_names, self._kind(record_type), record_ids)

    @rpc
    def add_grant(self, record_type, record_id, payload):
        return self.write(records.add_grant, self._kind(record_type), record_id, payload, RpcDirectory(self.remote))

    @rpc
    def revoke_grant(self, record_type, record_id, grant_id):
        self.write(records.revoke_grant, self._kind(record_type), record_id, grant_id)

    @rpc
    def set_restricted(self, record_type, record_id, payload):
        return self.write(records.set_restricted, self._kind(record_type), record_id, payload)

    @rpc
    def break_glass(self, record_type, record_id, payload):
        minutes = int(self.config_value("BREAK_GLASS_MINUTES", 60))
        return self.write(records.break_glass, self._kind(record_type), record_id, payload, minutes)

    @rpc
    def request_access(self, record_type, record_id, payload):
        return self.write(records.request_access, self._kind(record_type), record_id, payload,
                          RpcDirectory(self.remote))

    @rpc
    def request_transfer(self, record_type, record_id, payload):
        return self.write(records.request_transfer, self._kind(record_type), record_id, payload,
                          RpcDirectory(self.remote))

    # Only the permissions service, once an owner team approved, applies grants and transfers.
    @rpc(system_callers=("permissions",))
    def apply_access_grant(self, record_type, record_id, payload):
        return self.write(records.apply_access_grant, self._kind(record_type), record_id, payload)

    @rpc(system_callers=("permissions",))
    def apply_transfer(self, record_type, record_id, payload):
        return self.write(records.apply_transfer, self._kind(record_type), record_id, payload, self._consent_update)

    def config_value(self, key, default):
        return self.remote.config.get(key, default)

    # Only the notifications service, as itself, asks which records an organisation may view now (webhooks are
    # delivered only for those: docs/webhooks.md).
    @rpc(system_callers=("notifications",))
    def visible_to_organisation(self, organisation_id, refs):
        return self.read(records.visible_to_organisation, self.record_kinds, organisation_id, refs)
