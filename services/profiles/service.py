"""The profiles nameko service: a thin adapter from RPC to services.profiles.logic."""
from pathlib import Path

from concord_common import contract
from concord_common.access.entrypoints import RecordAccessRpc, RpcDirectory
from concord_common.db import Database
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from services.profiles import attachments, duplicates, logic, search
from services.profiles import schemas


class ProfilesService(RecordAccessRpc):
    name = "profiles"
    record_kinds = {"profile": logic.PROFILE, "family": logic.FAMILY}

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    remote = ServiceRpc()   # calls to other services (not named rpc: that is the decorator)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    @rpc
    def create_profile(self, payload):
        with self.db.unit_of_work() as uow:
            profile = logic.create_profile(uow, payload, RpcDirectory(self.remote))
            return {**profile, "possible_duplicates": duplicates.possible_duplicates(uow, profile)}

    @rpc
    def get_profile(self, profile_id):
        with self.db.unit_of_work() as uow:
            return logic.get_profile(uow, profile_id)

    @rpc
    def update_profile(self, profile_id, payload, if_match=None):
        with self.db.unit_of_work() as uow:
            return logic.update_profile(uow, profile_id, payload, if_match)

    @rpc
    def search_profiles(self, params):
        with self.db.unit_of_work() as uow:
            return search.search_profiles(uow, params)

    @rpc
    def upsert_profile_by_external_ref(self, system, external_id, payload):
        with self.db.unit_of_work() as uow:
            profile, created = logic.upsert_by_external_ref(uow, system, external_id, payload,
                                                            RpcDirectory(self.remote))
            if created:
                profile["possible_duplicates"] = duplicates.possible_duplicates(uow, profile)
            return {"profile": profile, "created": created}

    @rpc
    def profile_matches(self, profile_id, params=None):
        with self.db.unit_of_work() as uow:
            return duplicates.profile_matches(uow, profile_id, params or {})

    @rpc
    def merge_profiles(self, survivor_id, payload):
        with self.db.unit_of_work() as uow:
            return duplicates.merge(uow, survivor_id, payload)

    @rpc
    def unmerge_profile(self, profile_id, payload=None):
        with self.db.unit_of_work() as uow:
            return duplicates.unmerge(uow, profile_id, payload or {})

    @rpc
    def profile_history(self, profile_id, params=None):
        with self.db.unit_of_work() as uow:
            return logic.profile_history(uow, profile_id, params or {})

    @rpc
    def profile_families(self, profile_id):
        with self.db.unit_of_work() as uow:
            return logic.profile_families(uow, profile_id)

    @rpc
    def create_family(self, payload):
        with self.db.unit_of_work() as uow:
            return logic.create_family(uow, payload, RpcDirectory(self.remote))

    @rpc
    def get_family(self, family_id):
        with self.db.unit_of_work() as uow:
            return logic.get_family(uow, family_id)

    @rpc
    def add_family_member(self, family_id, payload):
        with self.db.unit_of_work() as uow:
            return logic.add_family_member(uow, family_id, payload)

    @rpc
    def remove_family_member(self, family_id, profile_id):
        with self.db.unit_of_work() as uow:
            logic.remove_family_member(uow, family_id, profile_id)

    def _consent_update(self, consent):
        return {"consent_status": consent["status"], "consent_detail": consent.get("detail")}

    # -- attachments (services/profiles/attachments.py): one call per file, so all of it or none ----------
    @rpc
    def add_attachment(self, profile_id, upload):
        max_bytes = int(self.config_value("ATTACHMENT_MAX_BYTES", attachments.DEFAULT_MAX_BYTES))
        with self.db.unit_of_work() as uow:
            return attachments.add_attachment(uow, profile_id, upload, max_bytes)

    @rpc
    def list_attachments(self, profile_id, params=None):
        with self.db.unit_of_work() as uow:
            return attachments.list_attachments(uow, profile_id, params or {})

    @rpc
    def download_attachment(self, profile_id, attachment_id):
        with self.db.unit_of_work() as uow:
            return attachments.download_attachment(uow, profile_id, attachment_id)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document
