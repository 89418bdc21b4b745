"""The gateway: the only thing exposed. Web pages and /api/v1 for partner systems.

Routes are thin: authenticate, read the request, call a service over RPC (with
a deadline), shape the answer. Services enforce access themselves on every call.
"""
from nameko.events import BROADCAST, event_handler

from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext
from gateway.auth import Authenticator
from gateway.routes.attachments import AttachmentRoutes
from gateway.routes.audit import AuditRoutes
from gateway.routes.directory import DirectoryRoutes
from gateway.routes.docs import DocsRoutes
from gateway.routes.families import FamilyRoutes
from gateway.routes.ops import OpsRoutes
from gateway.routes.profiles import ProfileRoutes
from gateway.routes.records import RecordRoutes
from gateway.routes.sessions import SessionRoutes
from gateway.routes.sharing import SharingRoutes
from gateway.web.pages import WebPages
from gateway.web.attachment_pages import AttachmentPages
from gateway.web.profile_pages import ProfilePages


class GatewayService(SessionRoutes, DirectoryRoutes, ProfileRoutes, AttachmentRoutes, FamilyRoutes, RecordRoutes,
                     AuditRoutes, SharingRoutes, DocsRoutes, WebPages, ProfilePages, AttachmentPages, OpsRoutes):
    name = "gateway"

    context = CallContext()
    rpc = ServiceRpc()
    auth = Authenticator()

    # Every replica hears every invalidation (a queue per replica, gone with it).
    @event_handler("permissions", "principal.invalidated", handler_type=BROADCAST, reliable_delivery=False)
    def drop_cached_principals(self, event):
        self.auth.invalidate(event.get("data") or {})
