"""The cases nameko service."""
from pathlib import Path

from concord_common.db import Database
from concord_common.service import CallContext, ping, rpc


class CasesService:
    name = "cases"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)
