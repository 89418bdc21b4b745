"""The gateway: the only thing exposed. Web UI and /api/v1 for partner systems.

Routes are thin: read the request, call a service over RPC (with a deadline),
shape the answer. Services enforce access themselves on every call.
"""
import eventlet
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from concord_common.errors import ConcordError, NotFound
from concord_common.logs import INSTANCE
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext
from concord_common.settings import SERVICE_NAMES
from gateway.http import api, json_response, problem, read_json


class GatewayService:
    name = "gateway"

    context = CallContext()
    rpc = ServiceRpc()

    # -- operations -------------------------------------------------------
    @api("GET", "/healthz")
    def healthz(self, request):
        return json_response(200, {"status": "ok", "instance": INSTANCE})

    @api("GET", "/readyz")
    def readyz(self, request):
        timeout = float(self.rpc.config.get("READY_TIMEOUT", 2))
        pool = eventlet.GreenPool(len(SERVICE_NAMES))

        def check(service):
            try:
                self.rpc.call(service, "ping", timeout=timeout)
                return service, "ok"
            except ConcordError as exc:
                return service, exc.slug
            except Exception as exc:  # a broken service must not break readiness reporting
                return service, type(exc).__name__

        results = dict(pool.imap(check, SERVICE_NAMES))
        down = sorted(name for name, state in results.items() if state != "ok")
        if down:
            return problem(503, "not-ready", "Not ready",
                           "These services do not answer: " + ", ".join(down) + ".",
                           errors={name: [results[name]] for name in down})
        return json_response(200, {"status": "ready", "services": results})

    @api("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    # -- profiles (the first vertical slice) ------------------------------
    @api("POST", "/api/v1/profiles")
    def create_profile(self, request):
        profile = self.rpc.call("profiles", "create_profile", read_json(request))
        return json_response(201, profile, {"Location": f"/api/v1/profiles/{profile['id']}"})

    @api("GET", "/api/v1/profiles/<profile_id>")
    def get_profile(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "get_profile", profile_id))

    # -- audit ------------------------------------------------------------
    @api("GET", "/api/v1/audit/records/<record_kind>/<record_id>")
    def record_audit(self, request, record_kind, record_id):
        record_types = {"profiles": "profile", "families": "family", "cases": "case"}
        if record_kind not in record_types:
            raise NotFound()
        return json_response(200, self.rpc.call("audit", "record_entries", record_types[record_kind], record_id))

    # -- anything else: a problem+json 404, never werkzeug's HTML page ------
    @api("GET,POST,PUT,PATCH,DELETE", "/<path:anything>")
    def no_such_route(self, request, anything):
        raise NotFound()
