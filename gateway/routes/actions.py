"""Actions on cases (the cases service, actions.py): set one on a case, change its status or due date, a case's
actions, and the caller's own across cases."""
from gateway.http import api, json_response, read_json


class ActionRoutes:
    @api("POST", "/api/v1/cases/<case_id>/actions", scope="cases:write", body="cases.ActionCreate",
         answer="cases.Action", status=201, errors=(409,))
    def create_action(self, request, case_id):
        """Set an action for a team, or a person, of any organisation that can view the case (else 422 on
        `assignee`: share the case first). Those who may edit the case may set actions; the assignee is told."""
        action = self.remote.call("cases", "create_action", case_id, read_json(request))
        return json_response(201, action, {"Location": f"/api/v1/actions/{action['id']}"})

    @api("PATCH", "/api/v1/actions/<action_id>", scope="cases:write", body="cases.ActionUpdate",
         answer="cases.Action", errors=(409,))
    def update_action(self, request, action_id):
        """Change the status (the assignee, their team, the lead team; `done` and `cancelled` need a note) or
        the due date (the lead team only). A done or cancelled action answers 409."""
        return json_response(200, self.remote.call("cases", "update_action", action_id, read_json(request)))

    @api("GET", "/api/v1/cases/<case_id>/actions", scope="cases:read", query="cases.ActionList",
         answer="cases.ActionPage")
    def list_case_actions(self, request, case_id):
        """A case's actions, soonest due first (by default the open and in-progress ones: `status=all`)."""
        return json_response(200, self.remote.call("cases", "case_actions", case_id, request.args.to_dict()))

    @api("GET", "/api/v1/me/actions", query="cases.ActionList", answer="cases.ActionPage")
    def my_actions(self, request):
        """Actions for the signed-in person or their teams across every case they may view, soonest due first,
        with counts (active, overdue, due this week). `overdue=true`, `due_this_week=true`, `status=`."""
        return json_response(200, self.remote.call("cases", "my_actions", request.args.to_dict()))
