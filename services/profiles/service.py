"""The profiles nameko service: a thin adapter from RPC to the plain functions in profiles.py,
families.py, search.py, duplicates.py and attachments.py."""
from pathlib import Path

from concord_common import contract
from concord_common.access.entrypoints import RecordAccessRpc, RpcDirectory
from concord_common.db import Database
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext, ping, rpc
from services.profiles import attachments, duplicates, families, mash_subjects, merge_requests, profiles, schemas
from services.profiles import search, web_support
from services.profiles import import_timer, imports
from services.profiles.record_kinds import FAMILY, PROFILE


class ProfilesService(RecordAccessRpc):
    name = "profiles"
    record_kinds = {"profile": PROFILE, "family": FAMILY}

    context = CallContext()
    db = Database(Path(__file__).parent / "migrations")
    remote = ServiceRpc()   # calls to other services (not named rpc: that is the decorator)

    @rpc
    def ping(self):
        return ping(self.name, self.db.engine)

    # -- profiles (profiles.py, search.py, duplicates.py) -------------------------------------------------
    @rpc
    def create_profile(self, payload):
        return self.write(profiles.create_profile_with_duplicates, payload, RpcDirectory(self.remote))

    @rpc
    def get_profile(self, profile_id):
        return self.write(profiles.get_profile, profile_id)       # records the view

    @rpc
    def update_profile(self, profile_id, payload, if_match=None):
        return self.write(profiles.update_profile, profile_id, payload, if_match)

    @rpc
    def search_profiles(self, params):
        return self.write(search.search_profiles, params)         # records the search

    @rpc
    def upsert_profile_by_external_ref(self, system, external_id, payload):
        return self.write(profiles.upsert_with_duplicates, system, external_id, payload, RpcDirectory(self.remote))

    @rpc
    def profile_matches(self, profile_id, params=None):
        return self.write(duplicates.profile_matches, profile_id, params or {})   # records the check

    @rpc
    def merge_profiles(self, survivor_id, payload):
        return self.write(duplicates.merge, survivor_id, payload)

    @rpc
    def unmerge_profile(self, profile_id, payload=None):
        return self.write(duplicates.unmerge, profile_id, payload or {})

    # -- merge requests (merge_requests.py): a merge another team's duplicate waits for ------------------
    @rpc
    def list_merge_requests(self, params=None):
        return self.read(merge_requests.list_merge_requests, params or {})

    @rpc
    def get_merge_request(self, request_id):
        return self.read(merge_requests.get_merge_request, request_id)

    @rpc
    def accept_merge_request(self, request_id, payload=None):
        return self.write(merge_requests.accept, request_id, payload or {})

    @rpc
    def reject_merge_request(self, request_id, payload=None):
        return self.write(merge_requests.reject, request_id, payload or {})

    @rpc
    def cancel_merge_request(self, request_id, payload=None):
        return self.write(merge_requests.cancel, request_id, payload or {})

    @rpc
    def profile_history(self, profile_id, params=None):
        return self.write(profiles.profile_history, profile_id, params or {})     # records the read

    # -- families (families.py) ---------------------------------------------------------------------------
    @rpc
    def profile_families(self, profile_id):
        return self.write(families.profile_families, profile_id)                   # records the read

    @rpc
    def create_family(self, payload):
        return self.write(families.create_family, payload, RpcDirectory(self.remote))

    @rpc
    def get_family(self, family_id):
        return self.write(families.get_family, family_id)         # records the view

    @rpc
    def add_family_member(self, family_id, payload):
        return self.write(families.add_family_member, family_id, payload)

    @rpc
    def remove_family_member(self, family_id, profile_id):
        self.write(families.remove_family_member, family_id, profile_id)

    def _consent_update(self, consent):
        """How a transfer's re-confirmed consent is stored on a profile (RecordAccessRpc.apply_transfer)."""
        return {"consent_status": consent["status"], "consent_detail": consent.get("detail")}

    # -- attachments (attachments.py): one call per file, so all of it or none ----------------------------
    @rpc
    def add_attachment(self, profile_id, upload):
        max_bytes = int(self.config_value("ATTACHMENT_MAX_BYTES", attachments.DEFAULT_MAX_BYTES))
        return self.write(attachments.add_attachment, profile_id, upload, max_bytes)

    @rpc
    def list_attachments(self, profile_id, params=None):
        return self.write(attachments.list_attachments, profile_id, params or {})  # records the read

    @rpc
    def download_attachment(self, profile_id, attachment_id):
        return self.write(attachments.download_attachment, profile_id, attachment_id)   # records the download

    @rpc(system_callers=("cases",))         # a MASH referral's subject given as person details (docs/mash.md)
    def mash_subject(self, person, team_id, organisation_id, threshold=mash_subjects.DEFAULT_THRESHOLD):
        return self.write(mash_subjects.match_or_create, person, team_id, organisation_id, threshold)

    @rpc
    def contract_schemas(self):
        return contract.service_schemas(self.name, schemas)      # for the gateway's OpenAPI document

    # -- for the web pages (web_support.py): the duplicate check before a create, a person's premises ---------
    @rpc
    def check_duplicates(self, payload):
        return self.write(web_support.check_duplicates, payload)          # records the check

    @rpc
    def profile_premises(self, profile_id):
        return self.read(web_support.profile_premises, profile_id)

    @rpc
    def profile_page(self, profile_id):
        return self.write(web_support.profile_page, profile_id)          # records each part's read

    # -- bulk import (imports.py, import_timer.py; docs/imports.md) ------------------------------------------
    @rpc
    def start_import(self, upload):
        max_bytes = int(self.config_value("IMPORT_MAX_BYTES", imports.DEFAULT_MAX_BYTES))
        return self.write(imports.start_import, upload, RpcDirectory(self.remote), max_bytes)

    @rpc
    def get_import(self, import_id):
        return self.read(imports.get_import, import_id)

    @rpc
    def list_imports(self, params=None):
        return self.read(imports.list_imports, params or {})

    @import_timer.import_timer()
    def run_imports(self, stopping):
        return import_timer.run(self, stopping)
