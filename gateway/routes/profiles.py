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
        profile = self.rpc.call("profiles", "create_profile", read_json(request))
        return json_response(201, profile, {"Location": f"/api/v1/profiles/{profile['id']}",
                                            "ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles", scope="profiles:read", query="profiles.Search", answer="profiles.ProfilePage")
    def search_profiles(self, request):
        return json_response(200, self.rpc.call("profiles", "search_profiles", request.args.to_dict()))

    @api("PUT", "/api/v1/profiles/by-external-ref/<system>/<path:external_id>", scope="profiles:write",
         body="profiles.ProfileCreate", answer="profiles.Profile", status=(201, 200))
    def upsert_profile_by_external_ref(self, request, system, external_id):
        answer = self.rpc.call("profiles", "upsert_profile_by_external_ref", system, external_id,
                               read_json(request))
        profile = answer["profile"]
        headers = {"Location": f"/api/v1/profiles/{profile['id']}", "ETag": f'"{profile["version"]}"'}
        return json_response(201 if answer["created"] else 200, profile, headers)

    @api("GET", "/api/v1/profiles/<profile_id>", scope="profiles:read", answer="profiles.Profile")
    def get_profile(self, request, profile_id):
        profile = self.rpc.call("profiles", "get_profile", profile_id)
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("PATCH", "/api/v1/profiles/<profile_id>", scope="profiles:write", body="profiles.ProfileUpdate",
         answer="profiles.Profile", if_match=True)
    def update_profile(self, request, profile_id):
        profile = self.rpc.call("profiles", "update_profile", profile_id, read_json(request),
                                request.headers.get("If-Match"))
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles/<profile_id>/history", scope="profiles:read", answer="profiles.HistoryPage")
    def profile_history(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "profile_history", profile_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/families", scope="profiles:read",
         answer="profiles.ProfileFamiliesPage")
    def profile_families(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "profile_families", profile_id))

    @api("GET", "/api/v1/profiles/<profile_id>/matches", scope="profiles:read", query="profiles.Matches",
         answer="profiles.MatchPage")
    def profile_matches(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "profile_matches", profile_id, request.args.to_dict()))

    @api("POST", "/api/v1/profiles/<profile_id>/merge", scope="profiles:write", body="profiles.Merge",
         answer="profiles.MergedProfile", errors=(409,))
    def merge_profiles(self, request, profile_id):
        profile = self.rpc.call("profiles", "merge_profiles", profile_id, read_json(request))
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("POST", "/api/v1/profiles/<profile_id>/unmerge", scope="profiles:write", body="profiles.Unmerge?",
         answer="profiles.Unmerged", errors=(409,))
    def unmerge_profile(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "unmerge_profile", profile_id,
                                                read_json_or_empty(request)))
