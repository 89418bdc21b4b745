"""Partnership meetings and panels (the cases service, services/cases/meetings.py): arrange one, its agenda
(a case its lead team puts on it, shown to the attendees for 7 days after), minutes and decisions."""
from werkzeug.wrappers import Response

from gateway.http import api, json_response, read_json


class MeetingRoutes:
    @api("POST", "/api/v1/meetings", scope="cases:write", body="cases.MeetingCreate", answer="cases.Meeting",
         status=201)
    def create_meeting(self, request):
        """Arrange a meeting chaired by one of the caller's teams, with at least one attendee team or
        organisation; not in the past."""
        meeting = self.remote.call("cases", "create_meeting", read_json(request))
        return json_response(201, meeting, {"Location": f"/api/v1/meetings/{meeting['id']}"})

    @api("GET", "/api/v1/meetings", scope="cases:read", query="cases.MeetingList", answer="cases.MeetingPage")
    def list_meetings(self, request):
        """Meetings the caller's teams chair or attend (or their organisation is invited to), soonest first."""
        return json_response(200, self.remote.call("cases", "list_meetings", request.args.to_dict()))

    @api("GET", "/api/v1/meetings/<meeting_id>", scope="cases:read", answer="cases.Meeting")
    def get_meeting(self, request, meeting_id):
        """A meeting and its agenda as the caller may see it (a case they may not open is a signpost).
        Anyone not chairing or attending gets the same 404 as for no meeting."""
        return json_response(200, self.remote.call("cases", "get_meeting", meeting_id))

    @api("POST", "/api/v1/meetings/<meeting_id>/cancel", scope="cases:write", answer="cases.Meeting",
         errors=(409,))
    def cancel_meeting(self, request, meeting_id):
        """The chair team calls the meeting off: the attendees' access to its agenda cases is revoked."""
        return json_response(200, self.remote.call("cases", "cancel_meeting", meeting_id))

    @api("POST", "/api/v1/meetings/<meeting_id>/agenda", scope="cases:write", body="cases.AgendaItemCreate",
         answer="cases.AgendaItem", status=201, errors=(409,))
    def add_agenda_item(self, request, meeting_id):
        """Put a case on the agenda (its lead team only: 403 for one who can see it but does not lead it, 404
        for one who cannot see it). The chair and attendees may view the case until 7 days after the meeting."""
        item = self.remote.call("cases", "add_agenda_item", meeting_id, read_json(request))
        return json_response(201, item, {"Location": f"/api/v1/meetings/{meeting_id}/agenda/{item['id']}"})

    @api("DELETE", "/api/v1/meetings/<meeting_id>/agenda/<item_id>", scope="cases:write")
    def remove_agenda_item(self, request, meeting_id, item_id):
        """Take a case off the agenda (its lead team or the chair team): the meeting's grants on it end."""
        self.remote.call("cases", "remove_agenda_item", meeting_id, item_id)
        return Response(status=204)

    @api("POST", "/api/v1/meetings/<meeting_id>/agenda/<item_id>/minutes", scope="cases:write",
         body="cases.MinutesCreate", answer="cases.MinutesAnswer", status=201, errors=(409,))
    def record_minutes(self, request, meeting_id, item_id):
        """Minutes of an agenda item (the chair team): the discussion and the decisions; a decision's
        `action` is set on the case. All of it is written, or nothing."""
        return json_response(201, self.remote.call("cases", "record_minutes", meeting_id, item_id,
                                                   read_json(request)))
