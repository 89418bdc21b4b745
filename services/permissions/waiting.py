"""What waits for a signed-in person on their home page, in one call (it was three): requests to see their teams'
records, transfers to their teams, and their own requests still pending — each as its list call answers it."""
from services.permissions import access_requests, transfers
from services.permissions.access import actor_for


def waiting_for_me(session, caller, limit) -> dict:
    actor = actor_for(session, caller)
    found = {"my_requests": access_requests.list_access_requests(session, caller, "pending", "outgoing", limit)}
    if actor.teams:
        found["requests"] = access_requests.list_access_requests(session, caller, "pending", "incoming", limit)
        found["transfers"] = transfers.list_transfers(session, caller, "pending", "incoming", limit)
    return found
