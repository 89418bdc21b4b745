"""Duplicate matching: which other person profiles are probably the same person, how sure, and why.

Evidence is gathered with indexed, bounded queries (identifiers, date of birth, sound-alike names,
postcodes), then weighed in Python so every score comes with the reasons a practitioner can check:
  same identifier (NHS number, PNC id, NI number, UPN)          strong
  same or similar name + same date of birth                     strong
  similar name + same address / postcode                        medium
  same name, no date of birth to compare                        weak
and against it: a different date of birth, a different number of the same scheme. Each piece of
evidence is a probability-like weight w; the score is 1 - Π(1 - w), then scaled down by
counter-evidence. Merged-away profiles are never candidates.
"""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, literal, or_, select

from concord_common import clock
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from services.profiles.models import Address, Alias, Identifier, Profile

SCHEME_NAMES = {"nhs_number": "NHS number", "pnc_id": "PNC id", "ni_number": "National Insurance number",
                "upn": "pupil number (UPN)"}
SCHEME_WEIGHTS = {"nhs_number": 0.97, "pnc_id": 0.93, "ni_number": 0.93, "upn": 0.9}
SAME_NAME, SIMILAR_NAME = 0.95, 0.55          # trigram similarity of the whole name (or an alias)
REPORTED = 0.3                                 # below this a candidate is noise, not a likely duplicate
PER_SOURCE = 50                                # candidates read from each source at most
NO_ID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Subject:
    """What the profile being matched says about the person."""
    id: str | None
    given_name: str
    family_name: str
    date_of_birth: object
    identifiers: list = field(default_factory=list)      # [(scheme, value)]
    addresses: list = field(default_factory=list)        # [(line1 lower, postcode)]
    aliases: list = field(default_factory=list)          # [(given, family)]

    @property
    def names(self) -> list[str]:
        """The name, swapped, and each alias, as search_name spells them (lower case)."""
        pairs = [(self.given_name, self.family_name), (self.family_name, self.given_name)] + list(self.aliases)
        out = []
        for given, family in pairs:
            text = f"{given or ''} {family or ''}".strip().lower()
            if text and text not in out:
                out.append(text)
        return out


def subject_of(profile: dict) -> Subject:
    """A Subject from a profile as the API shows it (full view)."""
    dob = profile.get("date_of_birth")
    return Subject(id=profile.get("id"), given_name=profile.get("given_name") or "",
                   family_name=profile.get("family_name") or "",
                   date_of_birth=date.fromisoformat(dob) if isinstance(dob, str) else dob,
                   identifiers=[(i["scheme"], i["value"]) for i in profile.get("identifiers") or []],
                   addresses=[((a.get("line1") or "").strip().lower(), a.get("postcode"))
                              for a in profile.get("addresses") or [] if a.get("postcode")],
                   aliases=[(a.get("given_name"), a.get("family_name")) for a in profile.get("aliases") or []])


def _candidate_ids(session, subject: Subject) -> set[str]:
    """Ids worth weighing, from index probes only; each source gives its PER_SOURCE most alike names,
    so a name shared by thousands (or a partner loading namesakes) costs the same as a rare one."""
    p, a = Profile.__table__, Alias.__table__
    names = subject.names or [""]
    likeness = func.greatest(*[func.similarity(p.c.search_name, name) for name in names])
    live = (p.c.kind == "person", p.c.merged_into.is_(None), p.c.id != (subject.id or NO_ID))
    found = set()
    if subject.identifiers:
        found |= set(session.execute(select(Identifier.profile_id).where(
            Identifier.value.in_(sorted({value for _, value in subject.identifiers}))).limit(PER_SOURCE)).scalars())
    if subject.date_of_birth:
        found |= set(session.execute(select(p.c.id).where(p.c.date_of_birth == subject.date_of_birth, *live)
                                     .order_by(likeness.desc()).limit(PER_SOURCE)).scalars())
    if subject.given_name and subject.family_name:
        pairs = {(subject.given_name, subject.family_name), (subject.family_name, subject.given_name)}
        for table, column in ((p, p.c.id), (a, a.c.profile_id)):
            found |= set(session.execute(select(column).where(or_(*[and_(
                func.dmetaphone(table.c.family_name) == func.dmetaphone(family),
                func.dmetaphone(table.c.given_name) == func.dmetaphone(given)) for given, family in pairs]))
                .limit(PER_SOURCE)).scalars())
    postcodes = sorted({postcode for _, postcode in subject.addresses})
    if postcodes:
        found |= set(session.execute(select(p.c.id).join(Address, Address.profile_id == p.c.id)
                                     .where(Address.postcode.in_(postcodes), *live)
                                     .order_by(likeness.desc()).limit(PER_SOURCE)).scalars())
    found.discard(subject.id)
    return found


def _evidence(session, caller, subject: Subject, candidate_ids) -> list:
    """Rows of (profile + visible + name similarity) for the candidates, and their identifiers/addresses."""
    p, a = Profile.__table__, Alias.__table__
    names = subject.names or [""]
    own = func.greatest(*[func.similarity(p.c.search_name, name) for name in names])
    alias = select(func.max(func.greatest(*[func.similarity(a.c.search_name, name) for name in names]))) \
        .where(a.c.profile_id == p.c.id).scalar_subquery()
    sounds = and_(func.dmetaphone(p.c.family_name) == func.dmetaphone(literal(subject.family_name)),
                  func.dmetaphone(p.c.given_name) == func.dmetaphone(literal(subject.given_name)))
    visible = visible_clause(caller, clock.now(), p, grants, "profile")
    rows = session.execute(select(p, visible.label("visible"), own.label("name_similarity"),
                                  func.coalesce(alias, 0).label("alias_similarity"), sounds.label("sounds_alike"))
                           .where(p.c.id.in_(sorted(candidate_ids)), p.c.kind == "person",
                                  p.c.merged_into.is_(None))).all()
    idents, addresses = {}, {}
    ids = [row.id for row in rows]
    if ids:
        for row in session.execute(select(Identifier.profile_id, Identifier.scheme, Identifier.value)
                                   .where(Identifier.profile_id.in_(ids))):
            idents.setdefault(row.profile_id, set()).add((row.scheme, row.value))
        for row in session.execute(select(Address.profile_id, Address.line1, Address.postcode)
                                   .where(Address.profile_id.in_(ids))):
            addresses.setdefault(row.profile_id, set()).add(((row.line1 or "").strip().lower(), row.postcode))
    return [(row, idents.get(row.id, set()), addresses.get(row.id, set())) for row in rows]


def weigh(subject: Subject, row, identifiers: set, addresses: set) -> tuple[float, list, list]:
    """(score 0..1, reasons for, reasons against) for one candidate."""
    weights, reasons, against = [], [], []
    mine = set(subject.identifiers)
    for scheme in sorted({s for s, _ in mine} | {s for s, _ in identifiers}):
        ours = {v for s, v in mine if s == scheme}
        theirs = {v for s, v in identifiers if s == scheme}
        label = SCHEME_NAMES.get(scheme, scheme)
        if ours & theirs:
            weights.append(SCHEME_WEIGHTS.get(scheme, 0.9))
            reasons.append({"code": f"same_{scheme}", "description": f"Same {label}"})
        elif ours and theirs:
            against.append({"code": f"different_{scheme}", "description": f"Different {label}"})

    similarity = max(float(row.name_similarity or 0), float(row.alias_similarity or 0))
    same_name = similarity >= SAME_NAME
    similar_name = same_name or similarity >= SIMILAR_NAME or bool(row.sounds_alike)
    via_alias = float(row.alias_similarity or 0) > float(row.name_similarity or 0)
    name_words = ("the same name" if same_name else "a similar name") + (" (as an alias)" if via_alias else "")
    same_dob = subject.date_of_birth is not None and row.date_of_birth == subject.date_of_birth
    different_dob = subject.date_of_birth is not None and row.date_of_birth is not None and not same_dob
    if same_dob and similar_name:
        weights.append(0.85 if same_name else 0.7)
        reasons.append({"code": "name_and_date_of_birth",
                        "description": f"{name_words[0].upper()}{name_words[1:]} and the same date of birth"})
    elif similar_name and not different_dob and (subject.date_of_birth is None or row.date_of_birth is None):
        weights.append(0.35 if same_name else 0.2)
        reasons.append({"code": "name", "description": f"{name_words[0].upper()}{name_words[1:]}"
                                                       " (no date of birth to compare)"})
    if different_dob:
        against.append({"code": "different_date_of_birth", "description": "Different date of birth"})

    same_address = {addr for addr in addresses if addr[0] and addr in set(subject.addresses)}
    same_postcode = {pc for _, pc in addresses} & {pc for _, pc in subject.addresses}
    if similar_name and same_address:
        weights.append(0.6)
        reasons.append({"code": "name_and_address", "description": f"{name_words[0].upper()}{name_words[1:]}"
                                                                    " at the same address"})
    elif similar_name and same_postcode:
        weights.append(0.4)
        reasons.append({"code": "name_and_postcode", "description": f"{name_words[0].upper()}{name_words[1:]}"
                                                                     " at the same postcode"})

    remaining = 1.0
    for weight in weights:
        remaining *= 1 - weight
    score = 1 - remaining
    strong_identifier = any(r["code"].startswith("same_") for r in reasons)
    if different_dob and not strong_identifier:
        score *= 0.3
    if any(r["code"].startswith("different_") and r["code"] != "different_date_of_birth" for r in against):
        score *= 0.3
    return round(score, 3), reasons, against


def find_matches(session, caller, subject: Subject, limit: int = 10, minimum: float = REPORTED) -> list[dict]:
    """Likely duplicates of `subject`, best first: [{"row", "visible", "score", "reasons", "against"}]."""
    candidate_ids = _candidate_ids(session, subject)
    if not candidate_ids:
        return []
    found = []
    for row, identifiers, addresses in _evidence(session, caller, subject, candidate_ids):
        score, reasons, against = weigh(subject, row, identifiers, addresses)
        if score >= minimum and reasons:
            found.append({"row": row, "visible": bool(row.visible), "score": score, "reasons": reasons,
                          "against": against})
    found.sort(key=lambda match: (-match["score"], match["row"].id))
    return found[:limit]
