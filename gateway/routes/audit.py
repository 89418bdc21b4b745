"""The audit log: per record, per user, an organisation's export, usage figures, verification.

The audit service decides who may read what (and records every read); the
gateway only finds it and shapes the answer (CSV for exports that ask for it).
"""
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from concord_common import record_types
from concord_common.audit_client import to_csv
from concord_common.errors import NotFound
from gateway.http import api, attachment_disposition, json_response


def _query_arguments(request) -> dict:
    return request.args.to_dict()


class AuditRoutes:
    @api("GET", "/api/v1/audit/records/<record_kind>/<record_id>", scope="audit:read", query="audit.ReadQuery",
         answer="audit.EntryPage", params={"record_kind": {"enum": sorted(record_types.paths())}})
    def audit_record_log(self, request, record_kind, record_id):
        registered = record_types.by_path(record_kind)
        if registered is None:
            raise NotFound()
        return json_response(200, self.remote.call("audit", "record_entries", registered.name, record_id,
                                                   _query_arguments(request)))

    @api("GET", "/api/v1/audit/users/<user_id>", query="audit.ReadQuery", answer="audit.EntryPage")
    def audit_user_log(self, request, user_id):
        return json_response(200, self.remote.call("audit", "user_entries", user_id, _query_arguments(request)))

    @api("GET", "/api/v1/audit/organisations/<organisation_id>/export", query="audit.ExportQuery",
         answer={"application/json": "audit.EntryPage", "text/csv": {"type": "string"}})
    def audit_export(self, request, organisation_id):
        query = _query_arguments(request)
        page = self.remote.call("audit", "organisation_export", organisation_id, query)
        if page.get("format") != "csv":
            return json_response(200, {"items": page["items"], "next_cursor": page["next_cursor"]})
        headers = {"Content-Disposition": attachment_disposition(f"audit-{organisation_id}.csv")}
        if page["next_cursor"]:
            headers["X-Next-Cursor"] = page["next_cursor"]
            following = urlencode({**query, "cursor": page["next_cursor"]})
            headers["Link"] = f'<{request.path}?{following}>; rel="next"'
        return Response(to_csv(page["items"]), status=200, headers=headers, mimetype="text/csv")

    @api("GET", "/api/v1/audit/usage", query="audit.UsageQuery", answer="audit.Usage")
    def audit_usage(self, request):
        return json_response(200, self.remote.call("audit", "usage", _query_arguments(request)))

    @api("GET", "/api/v1/audit/verify", answer="audit.Verification")
    def audit_verify(self, request):
        timeout = float(self.remote.config.get("AUDIT_VERIFY_TIMEOUT", 600))
        return json_response(200, self.remote.call("audit", "verify", timeout=timeout))
