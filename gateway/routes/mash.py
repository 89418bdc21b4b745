"""MASH referrals (the cases service, mash.py; docs/mash.md): refer, triage, research requests and their answers,
the decision, and the MASH team's dashboard. Partner systems may only refer (scope mash:refer)."""
from gateway.http import api, json_response, read_json


class MashRoutes:
    @api("POST", "/api/v1/mash/referrals", scope="mash:refer", body="cases.ReferralCreate", answer="cases.Referral",
         status=201)
    def create_referral(self, request):
        """Refer a person to the MASH: an existing profile you may see (`subject.profile_id`), or a new person's
        details (linked to the best existing match, else made a profile). Practitioners, and partner systems with
        scope `mash:refer`; send an `Idempotency-Key` to make a retry safe."""
        made = self.remote.call("cases", "create_referral", read_json(request))
        return json_response(201, made, {"Location": f"/api/v1/mash/referrals/{made['id']}"})

    @api("GET", "/api/v1/mash/referrals", answer="cases.ReferralPage")
    def list_referrals(self, request):
        """The MASH team's open referrals, those to respond to soonest first (members of a MASH team)."""
        return json_response(200, self.remote.call("cases", "list_referrals", request.args.to_dict()))

    @api("GET", "/api/v1/mash/referrals/<referral_id>", answer="cases.Referral")
    def get_referral(self, request, referral_id):
        """All of it for the MASH team; its reference, status and outcome for the practitioner who referred."""
        return json_response(200, self.remote.call("cases", "get_referral", referral_id))

    @api("POST", "/api/v1/mash/referrals/<referral_id>/triage", body="cases.Triage", answer="cases.Referral",
         errors=(409,))
    def triage_referral(self, request, referral_id):
        """RAG and rationale: `respond_by` is now plus the RAG's timescale. Triaging again keeps the history."""
        return json_response(200, self.remote.call("cases", "triage_referral", referral_id, read_json(request)))

    @api("POST", "/api/v1/mash/referrals/<referral_id>/research-requests", body="cases.ResearchRequestCreate",
         answer="cases.ResearchRequest", status=201, errors=(409,))
    def request_research(self, request, referral_id):
        """Ask another agency's team what it knows of the subject; `due` defaults from the RAG."""
        asked = self.remote.call("cases", "request_research", referral_id, read_json(request))
        return json_response(201, asked, {"Location": f"/api/v1/research-requests/{asked['id']}"})

    @api("GET", "/api/v1/research-requests/<request_id>", answer="cases.ResearchRequest")
    def get_research_request(self, request, request_id):
        """The asked team sees the subject's name and its question (not the referral)."""
        return json_response(200, self.remote.call("cases", "get_research_request", request_id))

    @api("POST", "/api/v1/research-requests/<request_id>/respond", body="cases.ResearchAnswer",
         answer="cases.ResearchRequest", errors=(409,))
    def respond_to_research(self, request, request_id):
        """The asked team answers once: `information`, or `nothing_known: true`. A second answer: 409."""
        return json_response(200, self.remote.call("cases", "answer_research", request_id, read_json(request)))

    @api("POST", "/api/v1/mash/referrals/<referral_id>/decision", body="cases.Decision", answer="cases.Referral",
         errors=(409,))
    def decide_referral(self, request, referral_id):
        """The outcome and rationale, after triage (else 409); `open_case` opens a case with the subject on it,
        linked to the referral. The referral is then closed (`status: decided`) and the referrer told."""
        return json_response(200, self.remote.call("cases", "decide_referral", referral_id, read_json(request)))

    @api("GET", "/api/v1/mash/dashboard", answer="cases.MashDashboard", query="cases.MashDashboardQuery")
    def mash_dashboard(self, request):
        """The MASH team's day: awaiting triage, open by RAG, overdue against respond_by, research outstanding by
        agency, decided today. Members of a MASH team (`mash_team_id=` where they are in more than one)."""
        return json_response(200, self.remote.call("cases", "mash_dashboard", request.args.to_dict()))
