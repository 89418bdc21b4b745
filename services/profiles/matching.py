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

from sqlalchemy import and_, func, literal, or_, select, text

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


# -- many subjects at once (bulk import) -----------------------------------------------------------------------
# The same sources and the same weighing as find_matches, for a batch of new profiles in four queries instead of
# seven per profile: each subject's probes run as a LATERAL subquery over the batch's values, so every source still
# gives at most PER_SOURCE candidates per subject. A subject's names (name, swapped, aliases) travel as one text
# joined by NAMES_APART and are split where they are compared (a join to a table of names would scan it per pair).
NAMES_APART = "\x1f"
_LIKENESS = "(SELECT max(similarity({column}, name)) FROM unnest(string_to_array({names}, chr(31))) AS name)"
# A candidate from the date of birth or the postcode counts only with a similar name (weigh: similar_name), so those
# sources skip the others here rather than have every neighbour weighed (a postcode has dozens of people).
_NAMED_ALIKE = f"""({_LIKENESS.format(column="p.search_name", names="s.names")} >= {SIMILAR_NAME}
      OR (dmetaphone(p.family_name) = dmetaphone(s.family) AND dmetaphone(p.given_name) = dmetaphone(s.given))
      OR EXISTS (SELECT 1 FROM profile_aliases a WHERE a.profile_id = p.id
                    AND {_LIKENESS.format(column="a.search_name", names="s.names")} >= {SIMILAR_NAME}))"""
_SUBJECTS = """
    subjects AS (SELECT * FROM unnest(CAST(:ns AS int[]), CAST(:ids AS uuid[]), CAST(:dobs AS date[]),
                                      CAST(:givens AS text[]), CAST(:families AS text[]), CAST(:names AS text[]))
                               AS s(n, id, dob, given, family, names))"""
_MANY_CANDIDATES = text(f"""
    WITH {_SUBJECTS},
    idents AS (SELECT * FROM unnest(CAST(:ident_ns AS int[]), CAST(:ident_values AS text[])) AS v(n, value)),
    codes AS (SELECT * FROM unnest(CAST(:code_ns AS int[]), CAST(:codes AS text[])) AS c(n, postcode)),
    pairs AS (SELECT n, given, family FROM subjects WHERE given <> '' AND family <> ''
              UNION SELECT n, family, given FROM subjects WHERE given <> '' AND family <> '')
    SELECT v.n, c.id FROM idents v CROSS JOIN LATERAL (
        SELECT i.profile_id AS id FROM profile_identifiers i WHERE i.value = v.value LIMIT {PER_SOURCE}) c
    UNION
    SELECT s.n, c.id FROM subjects s CROSS JOIN LATERAL (
        SELECT p.id FROM profiles p
         WHERE p.date_of_birth = s.dob AND p.kind = 'person' AND p.merged_into IS NULL AND p.id <> s.id
           AND {_NAMED_ALIKE}
         ORDER BY {_LIKENESS.format(column="p.search_name", names="s.names")} DESC LIMIT {PER_SOURCE}) c
     WHERE s.dob IS NOT NULL
    UNION
    SELECT w.n, c.id FROM pairs w CROSS JOIN LATERAL (
        SELECT p.id FROM profiles p
         WHERE dmetaphone(p.family_name) = dmetaphone(w.family) AND dmetaphone(p.given_name) = dmetaphone(w.given)
         LIMIT {PER_SOURCE}) c
    UNION
    SELECT w.n, c.id FROM pairs w CROSS JOIN LATERAL (
        SELECT a.profile_id AS id FROM profile_aliases a
         WHERE dmetaphone(a.family_name) = dmetaphone(w.family) AND dmetaphone(a.given_name) = dmetaphone(w.given)
         LIMIT {PER_SOURCE}) c
    UNION
    SELECT k.n, c.id FROM codes k JOIN subjects s ON s.n = k.n CROSS JOIN LATERAL (
        SELECT p.id FROM profiles p JOIN profile_addresses d ON d.profile_id = p.id
         WHERE d.postcode = k.postcode AND p.kind = 'person' AND p.merged_into IS NULL AND p.id <> s.id
           AND {_NAMED_ALIKE}
         ORDER BY {_LIKENESS.format(column="p.search_name", names="s.names")} DESC LIMIT {PER_SOURCE}) c""")
_MANY_EVIDENCE = text(f"""
    WITH {_SUBJECTS},
    pairs AS (SELECT * FROM unnest(CAST(:pair_ns AS int[]), CAST(:pair_ids AS uuid[])) AS w(n, id))
    SELECT w.n, p.id, p.date_of_birth,
           {_LIKENESS.format(column="p.search_name", names="s.names")} AS name_similarity,
           coalesce((SELECT max({_LIKENESS.format(column="a.search_name", names="s.names")})
                       FROM profile_aliases a WHERE a.profile_id = p.id), 0) AS alias_similarity,
           (dmetaphone(p.family_name) = dmetaphone(s.family) AND dmetaphone(p.given_name) = dmetaphone(s.given))
             AS sounds_alike
      FROM pairs w JOIN subjects s ON s.n = w.n JOIN profiles p ON p.id = w.id
     WHERE p.kind = 'person' AND p.merged_into IS NULL AND p.id <> s.id""")

_MANY_DETAILS = text("""
    SELECT 'identifier' AS part, profile_id, scheme AS a, value AS b FROM profile_identifiers
     WHERE profile_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT 'address', profile_id, line1, postcode FROM profile_addresses
     WHERE profile_id = ANY(CAST(:ids AS uuid[]))""")


def find_many(session, subjects: list[Subject], limit: int, minimum: float) -> list[list[tuple[str, float]]]:
    """For each subject (in order), its likely duplicates as (profile id, score), best first — find_matches'
    answer without the rows (a bulk import reports ids and scores only)."""
    if not subjects:
        return []
    values = {"ns": [], "ids": [], "dobs": [], "givens": [], "families": [], "names": [],
              "ident_ns": [], "ident_values": [], "code_ns": [], "codes": []}
    for n, subject in enumerate(subjects):
        values["ns"].append(n)
        values["ids"].append(subject.id or NO_ID)
        values["dobs"].append(subject.date_of_birth)
        values["givens"].append(subject.given_name or "")
        values["families"].append(subject.family_name or "")
        values["names"].append(NAMES_APART.join(name.replace(NAMES_APART, " ") for name in subject.names or [""]))
        for value in sorted({value for _, value in subject.identifiers}):
            values["ident_ns"].append(n)
            values["ident_values"].append(value)
        for postcode in sorted({postcode for _, postcode in subject.addresses}):
            values["code_ns"].append(n)
            values["codes"].append(postcode)
    pairs = session.execute(_MANY_CANDIDATES, values).all()
    found: list[list] = [[] for _ in subjects]
    if not pairs:
        return found
    subject_values = {key: values[key] for key in ("ns", "ids", "dobs", "givens", "families", "names")}
    rows = session.execute(_MANY_EVIDENCE, {**subject_values, "pair_ns": [n for n, _ in pairs],
                                            "pair_ids": [str(pid) for _, pid in pairs]}).all()
    ids = sorted({str(row.id) for row in rows})
    idents, addresses = {}, {}
    for row in session.execute(_MANY_DETAILS, {"ids": ids}):
        if row.part == "identifier":
            idents.setdefault(str(row.profile_id), set()).add((row.a, row.b))
        else:
            addresses.setdefault(str(row.profile_id), set()).add(((row.a or "").strip().lower(), row.b))
    for row in rows:
        pid = str(row.id)
        score, reasons, _ = weigh(subjects[row.n], row, idents.get(pid, set()), addresses.get(pid, set()))
        if score >= minimum and reasons:
            found[row.n].append((pid, score))
    for matches in found:
        matches.sort(key=lambda match: (-match[1], match[0]))
        del matches[limit:]
    return found
