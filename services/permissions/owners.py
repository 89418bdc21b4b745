"""Calls into the service that owns a record, made as the system (the nameko edge of sharing).

When an owner team approves an access request or accepts a transfer, this
service has already decided the person may; the owning service is then asked,
as the system, to add the grant or move the record. Who acted travels in the
payload (`granted_by`, `accepted_by`); the request id stays the same, so the
logs and audit of both services line up.
"""
from nameko.extensions import DependencyProvider

from concord_common.rpc import RpcClient, ServiceRpc
from services.permissions.records import owning_service


class SystemCalls:
    """What a worker sees as `self.owners` (implements records.RecordOwners)."""

    def __init__(self, rpc: RpcClient):
        self._rpc = rpc

    def call(self, service: str, method: str, *args):
        return self._rpc.call_as_system(service, method, *args)

    def apply_access_grant(self, record_type: str, record_id: str, grant: dict) -> dict:
        return self.call(owning_service(record_type), "apply_access_grant", record_type, record_id, grant)

    def apply_transfer(self, record_type: str, record_id: str, transfer: dict) -> dict:
        return self.call(owning_service(record_type), "apply_transfer", record_type, record_id, transfer)


class RecordOwnersProvider(DependencyProvider):
    remote = ServiceRpc()      # its own client (same reply queue and deadline as the service's)

    def get_dependency(self, worker_ctx):
        return SystemCalls(RpcClient(self.remote, worker_ctx))
