"""The cases nameko service.

Cases are not built yet; the access-list RPCs are already here (no record
kinds, so every record answers 404), so the gateway routes for
/api/v1/cases/{id}/access… behave like those of profiles from the start.
"""
from pathlib import Path

from concord_common import contract
from concord_common.access.entrypoints import RecordAccessRpc
from concord_common.db import Database
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from services.cases import schemas


class CasesService(RecordAccessRpc):
    name = "cases"
    record_kinds: dict = {}

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    remote = ServiceRpc()   # calls to other services (not named rpc: that is the decorator)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
