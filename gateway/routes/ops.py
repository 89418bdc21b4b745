"""Health, readiness, metrics (for those who hold the token), static assets, and the 404 for everything else."""
import hmac
import mimetypes
from pathlib import Path

import eventlet
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from concord_common.errors import ConcordError, NotFound
from concord_common.logs import INSTANCE
from concord_common.settings import SERVICE_NAMES
from gateway.http import RETRY_AFTER_UNAVAILABLE, api, json_response, problem

ASSETS = Path(__file__).resolve().parent.parent / "static"


class OpsRoutes:
    @api("GET", "/healthz", public=True, answer="gateway.Health")
    def healthz(self, request):
        return json_response(200, {"status": "ok", "instance": INSTANCE})

    @api("GET", "/readyz", public=True, answer="gateway.Ready", errors=(503,))
    def readyz(self, request):
        timeout = float(self.remote.config.get("READY_TIMEOUT", 2))

        def check(service):
            try:
                self.remote.call(service, "ping", timeout=timeout)
                return service, "ok"
            except ConcordError as exc:
                return service, exc.slug
            except Exception as exc:  # a broken service must not break readiness reporting
                return service, type(exc).__name__

        results = dict(eventlet.GreenPool(len(SERVICE_NAMES)).imap(check, SERVICE_NAMES))
        down = sorted(name for name, state in results.items() if state != "ok")
        if down:
            return problem(503, "not-ready", "Not ready",
                           "These services do not answer: " + ", ".join(down) + ".",
                           errors={name: [results[name]] for name in down},
                           headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})
        return json_response(200, {"status": "ready", "services": results})

    @api("GET", "/metrics", public=True)
    def metrics(self, request):
        """Not for the public: Prometheus scrapes the ops port (OPS_PORT), or this with METRICS_TOKEN as a
        bearer token. Without the token it is the same 404 as any unknown route."""
        expected = str(self.remote.config.get("METRICS_TOKEN") or "")
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(),
                                                                                 expected.encode()):
            raise NotFound()
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @api("GET", "/assets/<path:asset>", public=True)
    def assets(self, request, asset):
        """GOV.UK Frontend's CSS, JS, fonts and images (installed by `make install`)."""
        path = safe_join(str(ASSETS), asset)
        if path is None or not Path(path).is_file():
            raise NotFound()
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Response(Path(path).read_bytes(), mimetype=mimetype,
                        headers={"Cache-Control": "public, max-age=86400"})

    @api("GET,POST,PUT,PATCH,DELETE", "/<path:anything>", public=True)
    def no_such_route(self, request, anything):
        raise NotFound()
