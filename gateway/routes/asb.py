"""The ASB toolkit (the cases service): powers and their breaches, complaints, the Community Trigger.
Powers, breaches and complaints are part of their case's file: the cases service checks the case's access list."""
from gateway.http import api, json_response, read_json


class AsbRoutes:
    # -- powers -----------------------------------------------------------------------------------------------
    @api("POST", "/api/v1/cases/<case_id>/powers", scope="cases:write", body="cases.PowerCreate",
         answer="cases.Power", status=201, errors=(409,))
    def add_case_power(self, request, case_id):
        """Record an ASB power on the case (optionally against one of its participants)."""
        power = self.remote.call("cases", "add_power", case_id, read_json(request))
        return json_response(201, power, {"Location": f"/api/v1/powers/{power['id']}"})

    @api("GET", "/api/v1/cases/<case_id>/powers", scope="cases:read", answer="cases.PowerPage")
    def list_case_powers(self, request, case_id):
        """The case's powers, newest first, each with its breaches."""
        return json_response(200, self.remote.call("cases", "list_case_powers", case_id))

    @api("GET", "/api/v1/powers", scope="cases:read", query="cases.PowersExpiring", answer="cases.PowerPage")
    def expiring_powers(self, request):
        """Powers in force on cases the caller's teams lead that expire within `expiring_within_days` (default 28)."""
        return json_response(200, self.remote.call("cases", "expiring_powers", request.args.to_dict()))

    @api("PATCH", "/api/v1/powers/<power_id>", scope="cases:write", body="cases.PowerUpdate", answer="cases.Power")
    def update_power(self, request, power_id):
        """Move a power along its life (docs/asb.md), or change its dates or conditions."""
        return json_response(200, self.remote.call("cases", "update_power", power_id, read_json(request)))

    @api("POST", "/api/v1/powers/<power_id>/breaches", scope="cases:write", body="cases.BreachCreate",
         answer="cases.Breach", status=201)
    def add_power_breach(self, request, power_id):
        """Record a breach of a power that was issued or granted; the lead team is told."""
        return json_response(201, self.remote.call("cases", "add_breach", power_id, read_json(request)))

    # -- complaints -------------------------------------------------------------------------------------------
    @api("POST", "/api/v1/cases/<case_id>/complaints", scope="cases:write", body="cases.ComplaintCreate",
         answer="cases.Complaint", status=201, errors=(409,))
    def add_case_complaint(self, request, case_id):
        """Record a complaint on an ASB case; it may raise a Community Trigger activation."""
        return json_response(201, self.remote.call("cases", "add_complaint", case_id, read_json(request)))

    @api("GET", "/api/v1/cases/<case_id>/complaints", scope="cases:read", answer="cases.ComplaintPage")
    def list_case_complaints(self, request, case_id):
        return json_response(200, self.remote.call("cases", "list_complaints", case_id))

    @api("POST", "/api/v1/complaints/<complaint_id>/withdraw", scope="cases:write", body="cases.ComplaintWithdraw",
         answer="cases.Complaint", errors=(409,))
    def withdraw_complaint(self, request, complaint_id):
        """Withdraw a complaint, with the reason; an activation it counted in stays and shows it."""
        return json_response(200, self.remote.call("cases", "withdraw_complaint", complaint_id, read_json(request)))

    # -- the Community Trigger --------------------------------------------------------------------------------
    @api("GET", "/api/v1/community-trigger/activations", scope="cases:read", answer="cases.TriggerActivationPage")
    def trigger_activations(self, request):
        """Activations involving a case the caller's teams lead; others' cases are signposts."""
        return json_response(200, self.remote.call("cases", "trigger_activations", request.args.to_dict()))

    @api("GET", "/api/v1/community-trigger/thresholds/<organisation_id>", answer="cases.TriggerThreshold")
    def trigger_threshold(self, request, organisation_id):
        """The threshold that applies to cases an organisation leads (its own, or the deployment's)."""
        return json_response(200, self.remote.call("cases", "trigger_threshold", organisation_id))

    @api("PUT", "/api/v1/community-trigger/thresholds/<organisation_id>", body="cases.TriggerThresholdSet",
         answer="cases.TriggerThreshold")
    def set_trigger_threshold(self, request, organisation_id):
        """An area's own threshold (the organisation's administrators, or system administrators)."""
        return json_response(200, self.remote.call("cases", "set_trigger_threshold", organisation_id,
                                                   read_json(request)))
