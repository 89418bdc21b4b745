"""Sharing agreements, access requests and transfers of ownership (the permissions service decides who may).

Asking for access and offering a transfer start at the record
(`POST /api/v1/{record}/access-requests`, `/transfer`: its owning service checks
the record, then registers them with the permissions service); deciding them
happens here. These routes are for signed-in people: API clients get 403.
"""
from concord_common.errors import MalformedRequest
from gateway.http import api, json_response, read_json


def read_optional_json(request) -> dict:
    """The body as a JSON object; an empty body is an empty object (a note is optional)."""
    if not request.get_data(cache=True).strip():
        return {}
    return read_json(request)


def list_arguments(request, *names) -> dict:
    """Query parameters given once each, as strings (the service validates them)."""
    arguments = {}
    for name in names:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise MalformedRequest(f"Give `{name}` at most once.")
        if values:
            arguments[name] = values[0]
    return arguments


class SharingRoutes:
    # -- sharing agreements ------------------------------------------------------------
    @api("POST", "/api/v1/sharing-agreements", body="permissions.SharingAgreementCreate",
         answer="permissions.SharingAgreement", status=201)
    def create_sharing_agreement(self, request):
        agreement = self.remote.call("permissions", "create_sharing_agreement", read_json(request))
        return json_response(201, agreement, {"Location": f"/api/v1/sharing-agreements/{agreement['id']}"})

    @api("GET", "/api/v1/sharing-agreements", query="permissions.AgreementList",
         answer="permissions.SharingAgreementPage")
    def list_sharing_agreements(self, request):
        arguments = list_arguments(request, "organisation_id")
        return json_response(200, self.remote.call("permissions", "list_sharing_agreements",
                                                   arguments.get("organisation_id")))

    @api("GET", "/api/v1/sharing-agreements/<agreement_id>", answer="permissions.SharingAgreement")
    def get_sharing_agreement(self, request, agreement_id):
        return json_response(200, self.remote.call("permissions", "get_sharing_agreement", agreement_id))

    @api("POST", "/api/v1/sharing-agreements/<agreement_id>/end", answer="permissions.SharingAgreement",
         errors=(409,))
    def end_sharing_agreement(self, request, agreement_id):
        return json_response(200, self.remote.call("permissions", "end_sharing_agreement", agreement_id))

    # -- access requests -----------------------------------------------------------------
    @api("GET", "/api/v1/access-requests", query="permissions.AccessRequestList",
         answer="permissions.AccessRequestPage")
    def list_access_requests(self, request):
        arguments = list_arguments(request, "status", "direction", "limit", "cursor")
        return json_response(200, self.remote.call("permissions", "list_access_requests", **arguments))

    @api("GET", "/api/v1/access-requests/<request_id>", answer="permissions.AccessRequest")
    def get_access_request(self, request, request_id):
        return json_response(200, self.remote.call("permissions", "get_access_request", request_id))

    @api("POST", "/api/v1/access-requests/<request_id>/approve", body="permissions.AccessApproval",
         answer="permissions.AccessRequest", errors=(409,))
    def approve_access_request(self, request, request_id):
        return json_response(200, self.remote.call("permissions", "approve_access_request", request_id,
                                                   read_json(request)))

    @api("POST", "/api/v1/access-requests/<request_id>/deny", body="permissions.Note?",
         answer="permissions.AccessRequest", errors=(409,))
    def deny_access_request(self, request, request_id):
        return json_response(200, self.remote.call("permissions", "deny_access_request", request_id,
                                                   read_optional_json(request)))

    @api("POST", "/api/v1/access-requests/<request_id>/withdraw", body="permissions.Note?",
         answer="permissions.AccessRequest", errors=(409,))
    def withdraw_access_request(self, request, request_id):
        return json_response(200, self.remote.call("permissions", "withdraw_access_request", request_id,
                                                   read_optional_json(request)))

    # -- transfers of ownership ---------------------------------------------------------------
    @api("GET", "/api/v1/transfers", query="permissions.TransferList", answer="permissions.TransferPage")
    def list_transfers(self, request):
        arguments = list_arguments(request, "status", "direction", "limit", "cursor")
        return json_response(200, self.remote.call("permissions", "list_transfers", **arguments))

    @api("GET", "/api/v1/transfers/<transfer_id>", answer="permissions.Transfer")
    def get_transfer(self, request, transfer_id):
        return json_response(200, self.remote.call("permissions", "get_transfer", transfer_id))

    @api("POST", "/api/v1/transfers/<transfer_id>/accept", body="permissions.TransferAccept?",
         answer="permissions.Transfer", errors=(409,))
    def accept_transfer(self, request, transfer_id):
        return json_response(200, self.remote.call("permissions", "accept_transfer", transfer_id,
                                                   read_optional_json(request)))

    @api("POST", "/api/v1/transfers/<transfer_id>/reject", body="permissions.Note?", answer="permissions.Transfer",
         errors=(409,))
    def reject_transfer(self, request, transfer_id):
        return json_response(200, self.remote.call("permissions", "reject_transfer", transfer_id,
                                                   read_optional_json(request)))

    @api("POST", "/api/v1/transfers/<transfer_id>/cancel", body="permissions.Note?", answer="permissions.Transfer",
         errors=(409,))
    def cancel_transfer(self, request, transfer_id):
        return json_response(200, self.remote.call("permissions", "cancel_transfer", transfer_id,
                                                   read_optional_json(request)))
