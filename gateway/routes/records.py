"""The access list of every record (profiles, families, cases alike); profile routes: profiles.py.

The owning service decides; the gateway only finds it: profiles and families
live in the profiles service, cases in the cases service.
"""
from werkzeug.wrappers import Response

from concord_common.access import OWNING_SERVICE, RECORD_PATHS
from gateway.http import api, json_response, read_json

RECORD = "/api/v1/<any(profiles, families, cases):kind>/<record_id>"


class RecordRoutes:
    def _on_record(self, kind, method, record_id, *args):
        record_type = RECORD_PATHS[kind]
        return self.rpc.call(OWNING_SERVICE[record_type], method, record_type, record_id, *args)

    # -- access to a record ----------------------------------------------------------
    @api("GET", RECORD + "/access")
    def record_access(self, request, kind, record_id):
        return json_response(200, self._on_record(kind, "get_access", record_id))

    @api("PATCH", RECORD + "/access")
    def restrict_record(self, request, kind, record_id):
        return json_response(200, self._on_record(kind, "set_restricted", record_id, read_json(request)))

    @api("POST", RECORD + "/grants")
    def grant_access(self, request, kind, record_id):
        grant = self._on_record(kind, "add_grant", record_id, read_json(request))
        return json_response(201, grant)

    @api("DELETE", RECORD + "/grants/<grant_id>")
    def revoke_access(self, request, kind, record_id, grant_id):
        self._on_record(kind, "revoke_grant", record_id, grant_id)
        return Response(status=204)

    @api("POST", RECORD + "/transfer")
    def transfer_record(self, request, kind, record_id):
        return json_response(201, self._on_record(kind, "request_transfer", record_id, read_json(request)))

    @api("POST", RECORD + "/access-requests")
    def request_record_access(self, request, kind, record_id):
        asked = self._on_record(kind, "request_access", record_id, read_json(request))
        # Asking twice is not an error: the pending request comes back, 200 instead of 201.
        return json_response(201 if asked.pop("created", True) else 200, asked)

    @api("POST", RECORD + "/break-glass")
    def break_glass(self, request, kind, record_id):
        return json_response(201, self._on_record(kind, "break_glass", record_id, read_json(request)))

    @api("GET", RECORD + "/why")
    def why(self, request, kind, record_id):
        return json_response(200, self._on_record(kind, "why", record_id))
