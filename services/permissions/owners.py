"""Calls into the service that owns a record, made as the system (the nameko edge of sharing).

When an owner team approves an access request or accepts a transfer, this
service has already decided the person may; the owning service is then asked,
as the system, to add the grant or move the record. Who acted travels in the
payload (`granted_by`, `accepted_by`); the request id stays the same, so the
logs and audit of both services line up.
"""
from contextlib import contextmanager

from nameko.extensions import DependencyProvider

from concord_common.context import CALLER_KEY, SYSTEM
from concord_common.rpc import RpcClient, ServiceRpc
from services.permissions.records import owning_service


@contextmanager
def as_system(worker_ctx):
    """RPC calls made by this worker inside the block carry the system as caller."""
    data = worker_ctx.data
    had_caller, saved = CALLER_KEY in data, data.get(CALLER_KEY)
    data[CALLER_KEY] = SYSTEM.to_json()
    try:
        yield
    finally:
        if had_caller:
            data[CALLER_KEY] = saved
        else:
            data.pop(CALLER_KEY, None)


class SystemCalls:
    """What a worker sees as `self.owners` (implements records.RecordOwners)."""

    def __init__(self, rpc: RpcClient, worker_ctx):
        self._rpc = rpc
        self._worker_ctx = worker_ctx

    def call(self, service: str, method: str, *args):
        with as_system(self._worker_ctx):
            return self._rpc.call(service, method, *args)

    def apply_access_grant(self, record_type: str, record_id: str, grant: dict) -> dict:
        return self.call(owning_service(record_type), "apply_access_grant", record_type, record_id, grant)

    def apply_transfer(self, record_type: str, record_id: str, transfer: dict) -> dict:
        return self.call(owning_service(record_type), "apply_transfer", record_type, record_id, transfer)


class RecordOwnersProvider(DependencyProvider):
    """Needs a ServiceRpc dependency on the same service (it reuses its reply queue and deadline)."""

    def setup(self):
        self.rpc_provider = next(dep for dep in self.container.dependencies if isinstance(dep, ServiceRpc))

    def get_dependency(self, worker_ctx):
        return SystemCalls(RpcClient(self.rpc_provider, worker_ctx), worker_ctx)
