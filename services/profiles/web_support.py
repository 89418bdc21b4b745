"""Two reads the web pages need that the API's other calls do not give (issue 16):

* `check_duplicates`: the likely duplicates of a person *before* it is saved — the very matching
  `possible_duplicates` runs after POST /profiles (same thresholds, ON_CREATE), on the payload as the create
  would store it (validated and normalised with the create schema: a 422 names every bad field, as a create).
  Nothing is written; the check is audited as the search it is (`profile.searched`, terms and counts).
* `profile_premises`: the premises a person is linked to (the other side of a premises' `linked_people`),
  only premises the caller may view.
* `profile_page`: what the profile page shows from this service, in one call (docs/capacity.md: each RPC costs
  the gateway, the broker and this service more than its queries do).
"""
from sqlalchemy import select

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import load_or_fail
from services.profiles import attachments, duplicates, families, matching, profiles
from services.profiles.answers import display_name
from services.profiles.duplicates import ON_CREATE
from services.profiles.models import PremisesPerson, Profile
from services.profiles.profile_views import as_json, child_lists, profile_view
from services.profiles.record_kinds import PROFILE
from services.profiles.schemas import PersonCreateSchema
from services.profiles.search import involved, signpost

_create_schema = PersonCreateSchema()


def check_duplicates(uow, payload: dict) -> dict:
    data = load_or_fail(_create_schema, payload)
    if data.get("kind") != "person":
        return {"items": [], "next_cursor": None}
    subject = matching.subject_of({key: as_json(value) if key == "date_of_birth" else value
                                   for key, value in data.items()})
    found = matching.find_matches(uow.session, uow.caller, subject, limit=ON_CREATE["limit"],
                                  minimum=ON_CREATE["min_score"])
    visible = [m["row"].id for m in found if m["visible"]]
    children = child_lists(uow.session, visible)
    organisations = involved(uow.session, [m["row"].id for m in found if not m["visible"]])
    items = [{"profile": profile_view(m["row"], children[m["row"].id]) if m["visible"]
              else signpost(m["row"], organisations.get(m["row"].id, [])),
              "score": m["score"], "reasons": m["reasons"], "against": m["against"]} for m in found]
    # Recorded as the search it is (no record exists yet): who looked for whom, and what came back.
    uow.add_event("profile.searched", {"terms": {"duplicate_check": "before create",
                                                 **{key: str(data[key]) for key in ("given_name", "family_name",
                                                                                    "date_of_birth") if data.get(key)}},
                                       "results": len(items),
                                       "signposts": sum(1 for item in items if item["profile"]["access"] == "signpost")})
    return {"items": items, "next_cursor": None}


def profile_premises(session, caller, profile_id) -> dict:
    row, access, _ = records.load(session, PROFILE, profile_id)
    records.require(caller, access, "view")
    table = Profile.__table__
    visible = visible_clause(caller, clock.now(), table, grants, "profile")
    premises = session.execute(select(Profile).join(PremisesPerson, PremisesPerson.premises_id == Profile.id)
                               .where(PremisesPerson.profile_id == row.id, visible)
                               .order_by(Profile.name, Profile.id)).scalars().all()
    views = child_lists(session, [p.id for p in premises])
    return {"items": [{"id": p.id, "display_name": display_name(p), "premises_type": p.premises_type,
                       "address": profile_view(p, views[p.id]).get("address")} for p in premises],
            "next_cursor": None}


def profile_page(uow, profile_id) -> dict:
    """The profile page's parts from this service in one call and one transaction (they were six calls): the
    profile (its view recorded), the caller's access level, its families, likely duplicates, files and premises —
    each read exactly as its own RPC reads it, the reads recorded as one view naming the parts."""
    with uow.reads_as_one(PROFILE.record_type):        # one `profile.viewed` naming the parts, not one per part
        profile = profiles.get_profile(uow, profile_id)
        person, pid = profile["kind"] == "person", profile["id"]
        return {"profile": profile,
                "level": records.check_access(uow.session, uow.caller, PROFILE, pid, "view").get("level"),
                "families": families.profile_families(uow, pid)["items"],
                "matches": duplicates.profile_matches(uow, pid, {})["items"]
                if person and not profile.get("merged_into") else [],
                "attachments": attachments.list_attachments(uow, pid, {"limit": 100})["items"],
                "premises": profile_premises(uow.session, uow.caller, pid)["items"] if person else []}
