"""Families gallery: family and household units linking profiles with roles (the profiles service).

Their access lists (…/access, /grants, /why, /transfer …) are the generic record routes in records.py.
"""
from werkzeug.wrappers import Response

from gateway.http import api, json_response, read_json


class FamilyRoutes:
    @api("POST", "/api/v1/families", scope="profiles:write", body="profiles.FamilyCreate", answer="profiles.Family",
         status=201)
    def create_family(self, request):
        family = self.remote.call("profiles", "create_family", read_json(request))
        return json_response(201, family, {"Location": f"/api/v1/families/{family['id']}",
                                           "ETag": f'"{family["version"]}"'})

    @api("GET", "/api/v1/families/<family_id>", scope="profiles:read", answer="profiles.Family")
    def get_family(self, request, family_id):
        family = self.remote.call("profiles", "get_family", family_id)
        return json_response(200, family, {"ETag": f'"{family["version"]}"'})

    @api("POST", "/api/v1/families/<family_id>/members", scope="profiles:write", body="profiles.FamilyMember",
         answer="profiles.Family", status=201)
    def add_family_member(self, request, family_id):
        family = self.remote.call("profiles", "add_family_member", family_id, read_json(request))
        return json_response(201, family, {"ETag": f'"{family["version"]}"'})

    @api("DELETE", "/api/v1/families/<family_id>/members/<profile_id>", scope="profiles:write")
    def remove_family_member(self, request, family_id, profile_id):
        self.remote.call("profiles", "remove_family_member", family_id, profile_id)
        return Response(status=204)
