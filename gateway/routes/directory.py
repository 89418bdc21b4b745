"""Organisations, teams, users and API clients. The permissions service decides who may."""
from werkzeug.wrappers import Response

from gateway.http import api, json_response, read_json


class DirectoryRoutes:
    @api("POST", "/api/v1/organisations", body="permissions.OrganisationCreate", answer="permissions.Organisation",
         status=201)
    def create_organisation(self, request):
        organisation = self.remote.call("permissions", "create_organisation", read_json(request))
        return json_response(201, organisation, {"Location": f"/api/v1/organisations/{organisation['id']}"})

    @api("GET", "/api/v1/organisations", answer="permissions.OrganisationPage")
    def list_organisations(self, request):
        return json_response(200, self.remote.call("permissions", "list_organisations"))

    @api("GET", "/api/v1/organisations/<organisation_id>", answer="permissions.Organisation")
    def get_organisation(self, request, organisation_id):
        return json_response(200, self.remote.call("permissions", "get_organisation", organisation_id))

    @api("POST", "/api/v1/organisations/<organisation_id>/teams", body="permissions.TeamCreate",
         answer="permissions.Team", status=201)
    def create_team(self, request, organisation_id):
        team = self.remote.call("permissions", "create_team", organisation_id, read_json(request))
        return json_response(201, team, {"Location": f"/api/v1/teams/{team['id']}"})

    @api("GET", "/api/v1/teams/<team_id>", answer="permissions.Team")
    def get_team(self, request, team_id):
        return json_response(200, self.remote.call("permissions", "get_team", team_id))

    @api("POST", "/api/v1/teams/<team_id>/members", body="permissions.MemberAdd", answer="permissions.Membership",
         status=201)
    def add_member(self, request, team_id):
        return json_response(201, self.remote.call("permissions", "add_member", team_id, read_json(request)))

    @api("DELETE", "/api/v1/teams/<team_id>/members/<user_id>")
    def remove_member(self, request, team_id, user_id):
        self.remote.call("permissions", "remove_member", team_id, user_id)
        return Response(status=204)

    @api("POST", "/api/v1/users", body="permissions.UserCreate", answer="permissions.User", status=201)
    def create_user(self, request):
        user = self.remote.call("permissions", "create_user", read_json(request))
        return json_response(201, user, {"Location": f"/api/v1/users/{user['id']}"})

    @api("GET", "/api/v1/users/<user_id>", answer="permissions.User")
    def get_user(self, request, user_id):
        return json_response(200, self.remote.call("permissions", "get_user", user_id))

    @api("POST", "/api/v1/users/<user_id>/disable", status=204)
    def disable_user(self, request, user_id):
        self.remote.call("permissions", "disable_user", user_id)
        return Response(status=204)

    @api("POST", "/api/v1/users/<user_id>/password", body="permissions.PasswordChange", status=204)
    def change_password(self, request, user_id):
        self.remote.call("permissions", "change_password", user_id, read_json(request))
        return Response(status=204)

    @api("POST", "/api/v1/api-clients", replayable=False,      # the answer holds a secret shown once
         body="permissions.ApiClientCreate", answer="permissions.ApiClientCreated", status=201)
    def create_api_client(self, request):
        client = self.remote.call("permissions", "create_api_client", read_json(request))
        return json_response(201, client, {"Cache-Control": "no-store"})
