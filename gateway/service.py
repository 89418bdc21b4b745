"""The gateway: the only thing exposed. Web pages and /api/v1 for partner systems.

Routes are thin: authenticate, read the request, call a service over RPC (with
a deadline), shape the answer. Services enforce access themselves on every call.
"""
from nameko.events import BROADCAST

from concord_common.events import verified_event_handler
from concord_common.rpc import ServiceRpc
from concord_common.service import CallContext
from gateway.auth import Authenticator
from gateway.routes.asb import AsbRoutes
from gateway.routes.actions import ActionRoutes
from gateway.routes.attachments import AttachmentRoutes
from gateway.routes.audit import AuditRoutes
from gateway.routes.cases import CaseRoutes
from gateway.routes.directory import DirectoryRoutes
from gateway.routes.docs import DocsRoutes
from gateway.routes.families import FamilyRoutes
from gateway.routes.meetings import MeetingRoutes
from gateway.routes.ops import OpsRoutes
from gateway.routes.profiles import ProfileRoutes
from gateway.routes.records import RecordRoutes
from gateway.routes.risk import RiskRoutes
from gateway.routes.sessions import SessionRoutes
from gateway.routes.sharing import SharingRoutes
from gateway.routes.mash import MashRoutes
from gateway.routes.notification_preferences import NotificationPreferenceRoutes
from gateway.routes.webhooks import WebhookRoutes
from gateway.web.webhook_pages import WebhookPages
from gateway.web.mash_pages import MashPages
from gateway.web.pages import WebPages
from gateway.web.asb_pages import AsbPages
from gateway.web.attachment_pages import AttachmentPages
from gateway.web.case_pages import CasePages
from gateway.web.action_pages import ActionPages
from gateway.web.meeting_pages import MeetingPages
from gateway.web.profile_pages import ProfilePages
from gateway.web.record_access_pages import RecordAccessPages
from gateway.web.risk_pages import RiskPages
from gateway.web.home_pages import HomePages
from gateway.web.access_pages import AccessPages
from gateway.web.info_pages import InfoPages
from gateway.web.notification_pages import NotificationPages
from gateway.web.profile_edit_pages import ProfileEditPages
from gateway.web.family_pages import FamilyPages
from gateway.web.duplicate_check import DuplicateCheckPages
from gateway.web.audit_pages import AuditPages
from gateway.web.admin_pages import AdminPages
from gateway.web.admin_register_pages import AdminRegisterPages
from gateway.web.notification_preference_pages import NotificationPreferencePages
from gateway.routes.imports import ImportRoutes
from gateway.web.import_pages import ImportPages


class GatewayService(SessionRoutes, DirectoryRoutes, ProfileRoutes, AttachmentRoutes, FamilyRoutes, CaseRoutes,
                     RecordRoutes, AuditRoutes, SharingRoutes, DocsRoutes, WebPages, ProfilePages, AttachmentPages,
                     CasePages, RecordAccessPages, OpsRoutes, RiskRoutes, RiskPages, AsbRoutes,
                     AsbPages, HomePages, AccessPages, NotificationPages, InfoPages, ActionRoutes, ActionPages,
                     MeetingRoutes, MeetingPages, ProfileEditPages, FamilyPages, DuplicateCheckPages,
                     AuditPages, AdminPages, AdminRegisterPages, MashRoutes, MashPages,
                     NotificationPreferenceRoutes, NotificationPreferencePages, WebhookRoutes, WebhookPages,
                     ImportRoutes, ImportPages):
    name = "gateway"

    context = CallContext()
    remote = ServiceRpc()
    auth = Authenticator()

    # Every replica hears every invalidation (a queue per replica, gone with it).
    @verified_event_handler("permissions", "principal.invalidated", handler_type=BROADCAST, reliable_delivery=False)
    def drop_cached_principals(self, event):
        self.auth.invalidate(event.get("data") or {})
