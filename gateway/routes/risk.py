"""Risk templates and risk assessments on cases (the cases service, services/cases/risk.py). An assessment is
part of its case's file: the case's access decides who sees and makes them."""
from gateway.http import api, json_response, read_json


class RiskRoutes:
    @api("GET", "/api/v1/risk-templates", scope="cases:read", answer="cases.RiskTemplatePage")
    def list_risk_templates(self, request):
        """The risk templates: their questions, the points of each answer, how a score is made and its levels."""
        return json_response(200, self.remote.call("cases", "list_risk_templates"))

    @api("POST", "/api/v1/cases/<case_id>/risk-assessments", scope="cases:write", body="cases.RiskAssessmentCreate",
         answer="cases.RiskAssessment", status=201, errors=(409,))
    def assess_case_risk(self, request, case_id):
        """Assess risk on a case with a template its type offers: the score, the computed level and each
        answer's points come back; an override (with a reason) sets the level that stands."""
        made = self.remote.call("cases", "assess_risk", case_id, read_json(request))
        return json_response(201, made, {"Location": f"/api/v1/risk-assessments/{made['id']}"})

    @api("GET", "/api/v1/cases/<case_id>/risk-assessments", scope="cases:read", answer="cases.RiskAssessmentPage")
    def list_case_risk_assessments(self, request, case_id):
        """The case's risk assessments, newest first."""
        return json_response(200, self.remote.call("cases", "list_risk_assessments", case_id))

    @api("GET", "/api/v1/risk-assessments/<assessment_id>", scope="cases:read", answer="cases.RiskAssessment")
    def get_risk_assessment(self, request, assessment_id):
        """One risk assessment (for whoever may view its case); `can_sign_off` says whether the caller may."""
        return json_response(200, self.remote.call("cases", "get_risk_assessment", assessment_id))

    @api("POST", "/api/v1/risk-assessments/<assessment_id>/sign-off", scope="cases:write",
         answer="cases.RiskAssessment", errors=(409,))
    def sign_off_risk_assessment(self, request, assessment_id):
        """Sign off a risk assessment: a supervisor of the case's lead team who is not the assessor."""
        return json_response(200, self.remote.call("cases", "sign_off_risk_assessment", assessment_id))
