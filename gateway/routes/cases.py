"""Cases and case types (the cases service). Their access lists (…/access, /grants, /why, /transfer …) are
the generic record routes in records.py."""
from werkzeug.wrappers import Response

from concord_common.errors import Forbidden, NotFound
from gateway.http import api, json_response, read_json, together


def _case_response(status: int, case: dict, headers: dict | None = None) -> Response:
    return json_response(status, case, {"ETag": f'"{case["version"]}"', **(headers or {})})


class CaseRoutes:
    # -- case types ------------------------------------------------------------------------------------------
    @api("GET", "/api/v1/case-types", scope="cases:read", answer="cases.CaseTypePage")
    def list_case_types(self, request):
        """The business areas cases are worked in: participant roles, risk templates, review interval."""
        return json_response(200, self.remote.call("cases", "list_case_types"))

    @api("POST", "/api/v1/case-types", body="cases.CaseTypeCreate", answer="cases.CaseType", status=201,
         errors=(409,))
    def create_case_type(self, request):
        """Add a case type (system administrators)."""
        created = self.remote.call("cases", "create_case_type", read_json(request))
        return json_response(201, created, {"Location": f"/api/v1/case-types/{created['code']}"})

    @api("PATCH", "/api/v1/case-types/<code>", body="cases.CaseTypeUpdate", answer="cases.CaseType")
    def update_case_type(self, request, code):
        """Change a case type (system administrators); `active: false` stops new cases of it."""
        return json_response(200, self.remote.call("cases", "update_case_type", code, read_json(request)))

    # -- cases -----------------------------------------------------------------------------------------------
    @api("POST", "/api/v1/cases", scope="cases:write", body="cases.CaseCreate", answer="cases.Case", status=201)
    def create_case(self, request):
        """Open a case: the caller's team leads it unless `owner_team_id` names another of their teams (API
        clients must name one). Participants the caller may not see answer 404 and nothing is created."""
        case = self.remote.call("cases", "create_case", read_json(request))
        return _case_response(201, case, {"Location": f"/api/v1/cases/{case['id']}"})

    @api("GET", "/api/v1/cases", scope="cases:read", query="cases.CaseList", answer="cases.CasePage")
    def list_cases(self, request):
        """Cases the caller may open; with `profile_id` or `q`, signposts of unrestricted cases they may not."""
        return json_response(200, self.remote.call("cases", "list_cases", request.args.to_dict()))

    @api("GET", "/api/v1/cases/<case_id>", scope="cases:read", answer="cases.Case")
    def get_case(self, request, case_id):
        return _case_response(200, self.remote.call("cases", "get_case", case_id))

    @api("PATCH", "/api/v1/cases/<case_id>", scope="cases:write", body="cases.CaseUpdate", answer="cases.Case",
         if_match=True)
    def update_case(self, request, case_id):
        case = self.remote.call("cases", "update_case", case_id, read_json(request), request.headers.get("If-Match"))
        return _case_response(200, case)

    @api("POST", "/api/v1/cases/<case_id>/close", scope="cases:write", body="cases.Close", answer="cases.Case",
         errors=(409, 412))
    def close_case(self, request, case_id):
        """Close with an outcome (and a closing note); a closed case answers 409. If-Match is checked if sent."""
        case = self.remote.call("cases", "close_case", case_id, read_json(request), request.headers.get("If-Match"))
        return _case_response(200, case)

    @api("POST", "/api/v1/cases/<case_id>/reopen", scope="cases:write", body="cases.Reopen", answer="cases.Case",
         errors=(409, 412))
    def reopen_case(self, request, case_id):
        """Reopen a closed case, with the reason; the next review is due a type's interval from today."""
        case = self.remote.call("cases", "reopen_case", case_id, read_json(request), request.headers.get("If-Match"))
        return _case_response(200, case)

    @api("POST", "/api/v1/cases/<case_id>/participants", scope="cases:write", body="cases.ParticipantCreate",
         answer="cases.Case", status=201, errors=(409,))
    def add_case_participant(self, request, case_id):
        """Put a profile, or a family's current members (each with their family role), on the case."""
        return _case_response(201, self.remote.call("cases", "add_participant", case_id, read_json(request)))

    @api("DELETE", "/api/v1/cases/<case_id>/participants/<participant_id>", scope="cases:write")
    def end_case_participant(self, request, case_id, participant_id):
        """End a participant's time on the case (kept, with the date it ended)."""
        self.remote.call("cases", "end_participant", case_id, participant_id)
        return Response(status=204)

    @api("POST", "/api/v1/cases/<case_id>/links", scope="cases:write", body="cases.LinkCreate",
         answer="cases.Link", status=201)
    def link_cases(self, request, case_id):
        """Link two cases the caller can see (a case they cannot see answers 404)."""
        return json_response(201, self.remote.call("cases", "link_cases", case_id, read_json(request)))

    @api("POST", "/api/v1/cases/<case_id>/notes", scope="cases:write", body="cases.NoteCreate", answer="cases.Note",
         status=201)
    def add_case_note(self, request, case_id):
        """Add a note. Sensitive notes are for the lead team only; notes are never changed, only corrected."""
        note = self.remote.call("cases", "add_note", case_id, read_json(request))
        return json_response(201, note, {"Location": f"/api/v1/cases/{case_id}/notes/{note['id']}"})

    @api("GET", "/api/v1/cases/<case_id>/notes", scope="cases:read", query="cases.Page", answer="cases.NotePage")
    def list_case_notes(self, request, case_id):
        return json_response(200, self.remote.call("cases", "list_notes", case_id, request.args.to_dict()))

    @api("POST", "/api/v1/cases/<case_id>/notes/<note_id>/corrections", scope="cases:write",
         body="cases.Correction", answer="cases.Note", status=201)
    def correct_case_note(self, request, case_id, note_id):
        """Correct a note: a new note that `corrects` it, with the reason. The original stays as it was."""
        return json_response(201, self.remote.call("cases", "correct_note", case_id, note_id, read_json(request)))

    @api("GET", "/api/v1/cases/<case_id>/timeline", scope="cases:read", query="cases.Page",
         answer="cases.TimelinePage")
    def case_timeline(self, request, case_id):
        """The case's chronology, newest first; what the caller may not see (sensitive notes) is not there."""
        return json_response(200, self.remote.call("cases", "case_timeline", case_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/cases", scope="cases:read", query="cases.CaseList",
         answer="cases.CasePage")
    def profile_cases(self, request, profile_id):
        """A person's (or premises') cases: those the caller may open, and signposts of unrestricted others.
        A profile the caller may not see answers 404."""
        def profile_visible():
            try:
                self.remote.call("profiles", "check_access", "profile", profile_id, "view")
            except Forbidden:
                raise NotFound()
        params = {**request.args.to_dict(), "profile_id": profile_id}
        # Both at once (a round trip less); the list is thrown away if the profile may not be seen.
        found = together(visible=profile_visible, cases=lambda: self.remote.call("cases", "list_cases", params))
        return json_response(200, found["cases"])
