"""A profile as the API shows it: its row and its child lists (aliases, identifiers, addresses, flags,
linked people, photo, profiles merged into it), read for many profiles at once."""
from sqlalchemy import select, text

from services.profiles.models import Merge
from services.profiles.answers import display_name, is_young_person


def as_json(value):
    """A value as it is kept in history and events (JSON)."""
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else value


def _text(value):
    return None if value is None else str(value)


def profile_fields(p) -> dict:
    """`ProfileSchema().dump(p)`, written out: a search page dumps up to 50 rows, and marshmallow took ~60 µs a
    row, a tenth of a search's CPU in the service (a logic test holds the two equal)."""
    person = p.kind == "person"
    return {"id": _text(p.id), "kind": _text(p.kind), "given_name": _text(p.given_name),
            "family_name": _text(p.family_name), "name": _text(p.name), "display_name": display_name(p),
            "date_of_birth": as_json(p.date_of_birth), "is_young_person": is_young_person(p),
            "gender": _text(p.gender), "roles": list(p.roles or []), "contact": p.contact,
            "premises_type": _text(p.premises_type),
            "external_ref": {"system": p.external_system, "id": p.external_id} if p.external_system else None,
            "merged_into": _text(p.merged_into),
            "owner": {"organisation_id": p.owner_organisation_id, "team_id": p.owner_team_id},
            "restricted": None if p.restricted is None else bool(p.restricted),
            "consent": {"status": p.consent_status, "detail": p.consent_detail} if person else None,
            "created_at": as_json(p.created_at), "updated_at": as_json(p.updated_at),
            "version": None if p.version is None else int(p.version)}


def address_view(row) -> dict:
    return {"line1": row.line1, "line2": row.line2, "town": row.town, "postcode": row.postcode, "uprn": row.uprn,
            "from": as_json(row.from_date), "to": as_json(row.to_date)}


# The seven child lists of any number of profiles in one round trip (it was seven queries: with the RPC and the
# ORM around each, a third of a profile read). One row per item: its list (`part`), its place in that list (`seq`)
# and its fields in generic columns, read back by `_CHILD_ROWS` below.
CHILD_LISTS_SQL = text("""
    SELECT 'aliases' AS part, profile_id, row_number() OVER (PARTITION BY profile_id ORDER BY id) AS seq,
           given_name AS t1, family_name AS t2, NULL AS t3, NULL AS t4, NULL AS t5,
           NULL::date AS d1, NULL::date AS d2, NULL::timestamptz AS at, NULL::jsonb AS j
      FROM profile_aliases WHERE profile_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'identifiers', profile_id, row_number() OVER (PARTITION BY profile_id ORDER BY id),
           scheme, value, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM profile_identifiers WHERE profile_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'addresses', profile_id,
           row_number() OVER (PARTITION BY profile_id ORDER BY from_date DESC NULLS LAST, id),
           line1, line2, town, postcode, uprn, from_date, to_date, NULL, NULL
      FROM profile_addresses WHERE profile_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'flags', profile_id, row_number() OVER (PARTITION BY profile_id ORDER BY id),
           flag, set_by, NULL, NULL, NULL, NULL, NULL, set_at, detail
      FROM profile_flags WHERE profile_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'linked_people', premises_id, 0, profile_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM premises_people WHERE premises_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'photo', profile_id,
           row_number() OVER (PARTITION BY profile_id ORDER BY uploaded_at DESC, id DESC),
           id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM profile_attachments WHERE profile_id = ANY(CAST(:ids AS uuid[])) AND kind = 'photo'
    UNION ALL
    SELECT 'merged_from', survivor_id, row_number() OVER (PARTITION BY survivor_id ORDER BY merged_at),
           duplicate_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM profile_merges WHERE survivor_id = ANY(CAST(:ids AS uuid[])) AND unmerged_at IS NULL
    ORDER BY part, seq""")

_CHILD_ROWS = {
    "aliases": lambda r: {"given_name": r.t1, "family_name": r.t2},
    "identifiers": lambda r: {"scheme": r.t1, "value": r.t2},
    "addresses": lambda r: {"line1": r.t1, "line2": r.t2, "town": r.t3, "postcode": r.t4, "uprn": r.t5,
                            "from": as_json(r.d1), "to": as_json(r.d2)},
    "flags": lambda r: {"flag": r.t1, "detail": r.j, "set_by": r.t2, "set_at": as_json(r.at)},
    "linked_people": lambda r: r.t1,
    "merged_from": lambda r: r.t1,
}


def child_lists(session, profile_ids) -> dict:
    """{profile id: {aliases, identifiers, addresses, flags, linked_people, photo, merged_from}} in one query."""
    found = {pid: {"aliases": [], "identifiers": [], "addresses": [], "flags": [], "linked_people": [],
                   "photo": None, "merged_from": []} for pid in profile_ids}
    if not profile_ids:
        return found
    for row in session.execute(CHILD_LISTS_SQL, {"ids": [str(pid) for pid in profile_ids]}):
        pid = str(row.profile_id)
        if row.part == "photo":          # a person's photo: their newest kind=photo attachment (attachments.py)
            if row.seq == 1:
                found[pid]["photo"] = {"attachment_id": row.t1,
                                       "download": f"/api/v1/profiles/{pid}/attachments/{row.t1}"}
        else:
            found[pid][row.part].append(_CHILD_ROWS[row.part](row))
    return found


def profile_view(profile, children: dict) -> dict:
    """The full profile (`access: full`) from its row and its entry in `child_lists`."""
    body = {**profile_fields(profile), "access": "full"}
    if profile.kind == "premises":
        body["address"] = children["addresses"][0] if children["addresses"] else None
        body["linked_people"] = sorted(children["linked_people"])
    else:
        body.update({key: children[key] for key in ("aliases", "identifiers", "addresses", "flags")})
        body["photo"] = children.get("photo")
    body["merged_from"] = children.get("merged_from", [])
    return body


def read_profile_view(session, profile) -> dict:
    """`profile_view` of one profile row, its child lists read here."""
    return profile_view(profile, child_lists(session, [profile.id])[profile.id])


def active_merges(session, survivor_id) -> list:
    """The merges into this profile not undone, oldest first."""
    return session.execute(select(Merge).where(Merge.survivor_id == survivor_id, Merge.unmerged_at.is_(None))
                           .order_by(Merge.merged_at)).scalars().all()
