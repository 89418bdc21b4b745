"""Profiles: people and premises (the profiles service)."""
from gateway.http import api, json_response, read_json, read_json_or_empty


class ProfileRoutes:
    @api("POST", "/api/v1/profiles", scope="profiles:write", body="profiles.ProfileCreate", answer="profiles.Profile",
         status=201)
    def create_profile(self, request):
        """Create a person or premises profile.

        A person needs `given_name` and `family_name`, premises a `name`; fields of the other kind are refused.
        The caller's team leads it unless `owner_team_id` names another of their teams (API clients must name
        one). The answer lists `possible_duplicates`."""
        profile = self.remote.call("profiles", "create_profile", read_json(request))
        return json_response(201, profile, {"Location": f"/api/v1/profiles/{profile['id']}",
                                            "ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles", scope="profiles:read", query="profiles.Search", answer="profiles.ProfilePage")
    def search_profiles(self, request):
        return json_response(200, self.remote.call("profiles", "search_profiles", request.args.to_dict()))

    @api("PUT", "/api/v1/profiles/by-external-ref/<system>/<path:external_id>", scope="profiles:write",
         body="profiles.ProfileCreate", answer="profiles.Profile", status=(201, 200))
    def upsert_profile_by_external_ref(self, request, system, external_id):
        answer = self.remote.call("profiles", "upsert_profile_by_external_ref", system, external_id,
                                  read_json(request))
        profile = answer["profile"]
        headers = {"Location": f"/api/v1/profiles/{profile['id']}", "ETag": f'"{profile["version"]}"'}
        return json_response(201 if answer["created"] else 200, profile, headers)

    @api("GET", "/api/v1/profiles/<profile_id>", scope="profiles:read", answer="profiles.Profile")
    def get_profile(self, request, profile_id):
        profile = self.remote.call("profiles", "get_profile", profile_id)
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("PATCH", "/api/v1/profiles/<profile_id>", scope="profiles:write", body="profiles.ProfileUpdate",
         answer="profiles.Profile", if_match=True)
    def update_profile(self, request, profile_id):
        profile = self.remote.call("profiles", "update_profile", profile_id, read_json(request),
                                   request.headers.get("If-Match"))
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles/<profile_id>/history", scope="profiles:read", answer="profiles.HistoryPage")
    def profile_history(self, request, profile_id):
        return json_response(200, self.remote.call("profiles", "profile_history", profile_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/families", scope="profiles:read",
         answer="profiles.ProfileFamiliesPage")
    def profile_families(self, request, profile_id):
        return json_response(200, self.remote.call("profiles", "profile_families", profile_id))

    @api("GET", "/api/v1/profiles/<profile_id>/matches", scope="profiles:read", query="profiles.Matches",
         answer="profiles.MatchPage")
    def profile_matches(self, request, profile_id):
        return json_response(200, self.remote.call("profiles", "profile_matches", profile_id, request.args.to_dict()))

    @api("POST", "/api/v1/profiles/<profile_id>/merge", scope="profiles:write", body="profiles.Merge",
         answer="profiles.MergedProfile", status=(200, 202), errors=(409,))
    def merge_profiles(self, request, profile_id):
        """Merge `duplicate_id` into this profile; your team must lead it. If your team leads the duplicate
        too, it is merged now (200). If another team leads it, that team is asked (202 with the
        `merge_request`, MergeRequestAsked): the merge is done when they accept it."""
        answer = self.remote.call("profiles", "merge_profiles", profile_id, read_json(request))
        if "merge_request" in answer:
            asked = answer["merge_request"]
            return json_response(202, answer, {"Location": f"/api/v1/merge-requests/{asked['id']}"})
        return json_response(200, answer, {"ETag": f'"{answer["version"]}"'})

    # -- merge requests: a merge whose duplicate another team leads (services/profiles/merge_requests.py) --
    @api("GET", "/api/v1/merge-requests", query="profiles.MergeRequestList", answer="profiles.MergeRequestPage")
    def list_merge_requests(self, request):
        """Merge requests to your teams (`direction=incoming`) and from them (`outgoing`), newest first."""
        return json_response(200, self.remote.call("profiles", "list_merge_requests", request.args.to_dict()))

    @api("GET", "/api/v1/merge-requests/<request_id>", answer="profiles.MergeRequest")
    def get_merge_request(self, request, request_id):
        return json_response(200, self.remote.call("profiles", "get_merge_request", request_id))

    @api("POST", "/api/v1/merge-requests/<request_id>/accept", body="profiles.MergeDecision?",
         answer="profiles.MergeAccepted", errors=(409,))
    def accept_merge_request(self, request, request_id):
        """The team leading the duplicate accepts: the merge is done now (the survivor, with the merge)."""
        return json_response(200, self.remote.call("profiles", "accept_merge_request", request_id,
                                                   read_json_or_empty(request)))

    @api("POST", "/api/v1/merge-requests/<request_id>/reject", body="profiles.MergeDecision?",
         answer="profiles.MergeRequest", errors=(409,))
    def reject_merge_request(self, request, request_id):
        return json_response(200, self.remote.call("profiles", "reject_merge_request", request_id,
                                                   read_json_or_empty(request)))

    @api("POST", "/api/v1/merge-requests/<request_id>/cancel", body="profiles.MergeDecision?",
         answer="profiles.MergeRequest", errors=(409,))
    def cancel_merge_request(self, request, request_id):
        return json_response(200, self.remote.call("profiles", "cancel_merge_request", request_id,
                                                   read_json_or_empty(request)))

    @api("POST", "/api/v1/profiles/<profile_id>/unmerge", scope="profiles:write", body="profiles.Unmerge?",
         answer="profiles.Unmerged", errors=(409,))
    def unmerge_profile(self, request, profile_id):
        return json_response(200, self.remote.call("profiles", "unmerge_profile", profile_id,
                                                   read_json_or_empty(request)))
