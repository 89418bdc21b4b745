"""The profiles nameko service: a thin adapter from RPC to services.profiles.logic."""
from pathlib import Path

from concord_common.db import Database
from concord_common.service import CallContext, ping, rpc
from services.profiles import logic


class ProfilesService:
    name = "profiles"

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    @rpc
    def create_profile(self, payload):
        with self.db.unit_of_work() as uow:
            return logic.create_profile(uow, payload)

    @rpc
    def get_profile(self, profile_id):
        with self.db.read() as session:
            return logic.get_profile(session, profile_id)
