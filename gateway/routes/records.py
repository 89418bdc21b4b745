"""The access list of every record (profiles, families, cases alike); profile routes: profiles.py.

The owning service decides; the gateway only finds it, from the record-type
registry (concord_common.record_types).
"""
from werkzeug.wrappers import Response

from concord_common import record_types
from gateway.http import api, json_response, read_json

# Every registered record type's URL word: /api/v1/profiles/…, /api/v1/cases/…
RECORD = f"/api/v1/<any({', '.join(record_types.paths())}):kind>/<record_id>"


class RecordRoutes:
    def _call_owner(self, kind, method, record_id, *args):
        registered = record_types.by_path(kind)
        return self.remote.call(registered.service, method, registered.name, record_id, *args)

    # -- access to a record ----------------------------------------------------------
    @api("GET", RECORD + "/access", answer="access.AccessList")
    def record_access(self, request, kind, record_id):
        """Who leads the record and who else may see it (the lead team and those with edit access)."""
        return json_response(200, self._call_owner(kind, "get_access", record_id))

    @api("PATCH", RECORD + "/access", body="access.Restriction", answer="access.Restricted")
    def restrict_record(self, request, kind, record_id):
        """Restrict the record (others see only a signpost), or lift the restriction."""
        return json_response(200, self._call_owner(kind, "set_restricted", record_id, read_json(request)))

    @api("POST", RECORD + "/grants", body="access.GrantCreate", answer="access.Grant", status=201)
    def grant_access(self, request, kind, record_id):
        """Let a team or organisation view or edit the record."""
        grant = self._call_owner(kind, "add_grant", record_id, read_json(request))
        return json_response(201, grant)

    @api("DELETE", RECORD + "/grants/<grant_id>")
    def revoke_access(self, request, kind, record_id, grant_id):
        """Take a grant away: the grantee loses access at once."""
        self._call_owner(kind, "revoke_grant", record_id, grant_id)
        return Response(status=204)

    @api("POST", RECORD + "/transfer", body="access.TransferCreate", answer="permissions.Transfer", status=201)
    def transfer_record(self, request, kind, record_id):
        """Offer the record's lead to another team (pending until that team accepts)."""
        return json_response(201, self._call_owner(kind, "request_transfer", record_id, read_json(request)))

    @api("POST", RECORD + "/access-requests", body="access.Reason", answer="permissions.AccessRequest",
         status=(201, 200), errors=(409,))
    def request_record_access(self, request, kind, record_id):
        """Ask the lead team for access to a record you see as a signpost."""
        asked = self._call_owner(kind, "request_access", record_id, read_json(request))
        # Asking twice is not an error: the pending request comes back, 200 instead of 201.
        return json_response(201 if asked.pop("created", True) else 200, asked)

    @api("POST", RECORD + "/break-glass", body="access.Reason", answer="access.BreakGlass", status=201)
    def break_glass(self, request, kind, record_id):
        """Emergency access for a limited time: audited, and the lead team is told."""
        return json_response(201, self._call_owner(kind, "break_glass", record_id, read_json(request)))

    @api("GET", RECORD + "/why", answer="access.Why")
    def why(self, request, kind, record_id):
        """Why you can (or cannot) see the record."""
        return json_response(200, self._call_owner(kind, "why", record_id))
