"""Profiles and their audit trail (the first vertical slice)."""
from concord_common.errors import NotFound
from gateway.http import api, json_response, read_json

RECORD_TYPES = {"profiles": "profile", "families": "family", "cases": "case"}


class RecordRoutes:
    @api("POST", "/api/v1/profiles", scope="profiles:write")
    def create_profile(self, request):
        profile = self.rpc.call("profiles", "create_profile", read_json(request))
        return json_response(201, profile, {"Location": f"/api/v1/profiles/{profile['id']}"})

    @api("GET", "/api/v1/profiles/<profile_id>", scope="profiles:read")
    def get_profile(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "get_profile", profile_id))

    @api("GET", "/api/v1/audit/records/<record_kind>/<record_id>", scope="audit:read")
    def record_audit(self, request, record_kind, record_id):
        if record_kind not in RECORD_TYPES:
            raise NotFound()
        return json_response(200, self.rpc.call("audit", "record_entries", RECORD_TYPES[record_kind], record_id))
