"""The subject of a MASH referral given as person details (issue 15, docs/mash.md): link the best existing
match above the threshold, else create the profile, led by the MASH team. Asked by the cases service as itself
(the referrer may be a partner system that may not search profiles); matching runs over every profile, as the
duplicate check does, because a MASH exists to join up what agencies already hold."""
from concord_common.errors import Forbidden
from services.profiles import matching, profiles
from services.profiles.answers import display_name

DEFAULT_THRESHOLD = 0.8


def match_or_create(uow, person: dict, team_id: str, organisation_id: str, threshold=DEFAULT_THRESHOLD) -> dict:
    """{"profile_id", "display_name", "kind", "matched": bool, "score"?}."""
    if uow.caller is None or uow.caller.kind != "system":
        raise Forbidden("Only Concord itself may do this.")
    subject = matching.subject_of({**person, "id": None})
    found = matching.find_matches(uow.session, uow.caller, subject, limit=1, minimum=float(threshold))
    if found:
        row = found[0]["row"]
        uow.add_event("profile.matches_checked", {"record": {"type": "profile", "id": row.id}, "for": "mash_referral",
                                                  "candidates": [{"id": row.id, "score": found[0]["score"]}]})
        return {"profile_id": row.id, "display_name": display_name(row), "kind": row.kind, "matched": True,
                "score": found[0]["score"]}
    made = profiles.create_profile(uow, {**person, "kind": "person"}, None, owner=(team_id, organisation_id))
    return {"profile_id": made["id"], "display_name": made["display_name"], "kind": made["kind"], "matched": False}
