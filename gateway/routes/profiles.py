"""Profiles: people and premises (the profiles service)."""
from gateway.http import api, json_response, read_json


class ProfileRoutes:
    @api("POST", "/api/v1/profiles", scope="profiles:write")
    def create_profile(self, request):
        profile = self.rpc.call("profiles", "create_profile", read_json(request))
        return json_response(201, profile, {"Location": f"/api/v1/profiles/{profile['id']}",
                                            "ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles", scope="profiles:read")
    def search_profiles(self, request):
        return json_response(200, self.rpc.call("profiles", "search_profiles", request.args.to_dict()))

    @api("PUT", "/api/v1/profiles/by-external-ref/<system>/<path:external_id>", scope="profiles:write")
    def upsert_profile_by_external_ref(self, request, system, external_id):
        answer = self.rpc.call("profiles", "upsert_profile_by_external_ref", system, external_id,
                               read_json(request))
        profile = answer["profile"]
        headers = {"Location": f"/api/v1/profiles/{profile['id']}", "ETag": f'"{profile["version"]}"'}
        return json_response(201 if answer["created"] else 200, profile, headers)

    @api("GET", "/api/v1/profiles/<profile_id>", scope="profiles:read")
    def get_profile(self, request, profile_id):
        profile = self.rpc.call("profiles", "get_profile", profile_id)
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("PATCH", "/api/v1/profiles/<profile_id>", scope="profiles:write")
    def update_profile(self, request, profile_id):
        profile = self.rpc.call("profiles", "update_profile", profile_id, read_json(request),
                                request.headers.get("If-Match"))
        return json_response(200, profile, {"ETag": f'"{profile["version"]}"'})

    @api("GET", "/api/v1/profiles/<profile_id>/history", scope="profiles:read")
    def profile_history(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "profile_history", profile_id, request.args.to_dict()))

    @api("GET", "/api/v1/profiles/<profile_id>/families", scope="profiles:read")
    def profile_families(self, request, profile_id):
        return json_response(200, self.rpc.call("profiles", "profile_families", profile_id))
