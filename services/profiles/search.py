"""Cross-partnership profile search: fuzzy (trigrams), phonetic (double metaphone), nicknames, aliases,
swapped names, dates of birth, postcodes and identifiers, across all organisations. What the caller may not
open comes back as a signpost (`signpost` and `involved` are public: duplicate matching uses them too).

How it stays fast at a million profiles (docs/profiles.md, "Search"): candidates first, from sources that
are each selective and bounded, then the scores only for those candidates.

1. Candidates (ids only, one UNION of bounded sources):
   * every typed word is close to some word of the name (`%>`, word similarity >= WORD_THRESHOLD), on
     profiles and on aliases: all the words in one GIN trigram index scan, so a common surname is narrowed
     by the given name inside the index, and the order of the words does not matter (swapped names);
   * the name sounds the same: double metaphone of family and given name equal, either way round, and with
     the nickname/formal forms of the first and last word (btree on (dmetaphone(family_name),
     dmetaphone(given_name)), profiles and aliases);
   * one word only (a surname, say): that word itself (a trigram-indexed regular expression), words close to
     it, or a family name that sounds like it;
   * an exact identifier; the same date of birth, or an address at the postcode, with a name at least
     loosely like the one asked for (the btree finds a few dozen rows, the name is checked on those).
2. Only if no candidate's name score reaches CLOSE (typos in several words): each typed word corrected against
   the words names are made of (`name_words`: one typing slip away, sounding the same, then the closest by
   trigrams; WORD_FIXES a word), and the names made of a corrected first and last word, either way round (btree
   on lower(family_name), lower(given_name)). Only if that finds no one: the whole name as typed by trigram
   similarity (`%`, its best LOOSER_CAP rows), among names sharing a little with each word — a scan of a large
   part of the GIN index.
3. The score (unchanged: best similarity / word similarity x 0.9 over the name variants and aliases, +10
   identifier, +2 date of birth, +1 postcode) only for those candidates; sort; page.
Each source gives at most CAP candidates (the best first where a source can have many close ones), more
when paging deeper, so the cost no longer grows with the number of profiles that share a surname.
"""
import re
from contextlib import contextmanager
from datetime import date

from sqlalchemy import and_, case, exists, func, literal, or_, select, text, union
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from concord_common import clock
from concord_common.access.policy import visible_clause
from concord_common.access.store import grants
from concord_common.errors import load_or_fail
from services.profiles import identifiers as ids
from services.profiles.answers import display_name
from services.profiles.models import Address, Alias, Family, FamilyMember, Flag, Identifier, Nickname, Profile
from services.profiles.profile_views import child_lists, profile_view
from services.profiles.schemas import SearchSchema
from services.profiles.search_terms import name_terms, one_slip_away

_search_schema = SearchSchema()

WORD_THRESHOLD = 0.5    # a typed word against the closest word of a name (pg_trgm word_similarity)
NAME_THRESHOLD = 0.3    # step 2's last resort: the whole name (pg_trgm similarity) …
LOOSE_WORD = 0.2        # … and each word need only share this much with the name (word_similarity)
LOOSE = 0.3             # the least name score for a same-date-of-birth / same-postcode candidate
CLOSE = 0.5             # a name score this good: step 1 found the name asked for, no step 2
CAP = 300               # candidates per source (at least the page asked for)
LOOSER_CAP = 100        # … and from step 2
ALTERNATIVES = 4        # nickname / formal forms per word
MAX_WORDS = 4           # words of the name that must match (the rest only rank)


def _alternatives(session, terms: list[str]) -> list[list[str]]:
    """For each word: itself and its nicknames/formal names (bill -> william, will, billy …)."""
    rows = session.execute(select(Nickname.name, Nickname.variant).where(Nickname.name.in_(terms))).all() \
        if terms else []
    found = {}
    for row in rows:
        found.setdefault(row.name, []).append(row.variant)
    return [[term] + sorted(set(found.get(term, [])) - {term})[:ALTERNATIVES] for term in terms]


def _name_variants(terms: list[str], alternatives: list[list[str]]) -> list[str]:
    """The name as typed, and with each word swapped for its nicknames/formal names (Bill -> William)."""
    if not terms:
        return []
    variants = [" ".join(terms)]
    for position, forms in enumerate(alternatives):
        for alternative in forms[1:]:
            variant = " ".join(terms[:position] + [alternative] + terms[position + 1:])
            if variant not in variants:
                variants.append(variant)
    return variants[:12]


def _eighteen_years_ago(today: date) -> date:
    try:
        return today.replace(year=today.year - 18)
    except ValueError:          # 29 February
        return today.replace(year=today.year - 18, day=28)


def _name_pairs(terms, alternatives) -> set[tuple[str, str]]:
    """(given, family) pairs to compare by sound: first word + last word, and swapped, with nickname forms."""
    if len(terms) < 2:
        return set()
    return {(given, terms[-1]) for given in alternatives[0]} | {(given, terms[0]) for given in alternatives[-1]}


def _sounds_like(table, pairs):
    """Given and family name sound like one of the pairs (an unpronounceable pair, e.g. digits, matches none)."""
    return or_(*[and_(func.dmetaphone(table.c.family_name) == func.dmetaphone(family),
                      func.dmetaphone(table.c.given_name) == func.dmetaphone(given),
                      func.dmetaphone(family) != "", func.dmetaphone(given) != "") for given, family in pairs])


def _scores(variants, p, a):
    """The name score of profile rows `p` (0-1): the best of the similarity and word similarity (x 0.9) of
    each name variant, and of the similarity of its aliases."""
    name_scores = [func.similarity(p.c.search_name, v) for v in variants]
    name_scores += [func.word_similarity(v, p.c.search_name) * 0.9 for v in variants]
    alias_score = select(func.max(func.greatest(*[func.similarity(a.c.search_name, v) for v in variants]))) \
        .where(a.c.profile_id == p.c.id).scalar_subquery()
    return func.greatest(*name_scores, func.coalesce(alias_score, 0))


def _candidates(session, terms, alternatives, variants, identifier_values, dob, at_postcode, cap) -> tuple[set, set]:
    """Step 1 (see the module docstring): (ids of the profiles worth scoring, those of them whose name
    matched — not only their date of birth, postcode or identifier)."""
    p, a = Profile.__table__, Alias.__table__
    both = ((p, p.c.id), (a, a.c.profile_id))
    sources = []            # by name first; `by_attribute` marks where the attribute sources begin
    pairs = _name_pairs(terms, alternatives)
    if len(terms) > 1:
        # Every word as typed close to a word of the name: one GIN index scan per table with all the words
        # in it, so a common surname is narrowed by the given name inside the index.
        typed, words = variants[0], terms[:MAX_WORDS]
        for table, column in both:
            sources.append(select(column).where(*[table.c.search_name.op("%>")(word) for word in words])
                           .order_by(func.word_similarity(typed, table.c.search_name).desc()).limit(cap))
        # Sounds like it, either way round, nicknames too: btree, a handful of rows.
        for table, column in both:
            sources.append(select(column).where(_sounds_like(table, pairs)).limit(cap))
    elif terms:
        # One word (typically a surname): thousands may match, so no ranking here, just enough of them —
        # the word itself or a nickname/formal form of it (a trigram-indexed regular expression; words of
        # three letters or more, shorter ones give no trigram to look up), then words close to it, then
        # family names that sound like it.
        forms = [re.escape(form).replace("\\-", "-") for form in alternatives[0] if len(form) >= 3]
        if forms:
            exact = r"\m(" + "|".join(forms) + r")\M"
            for table, column in both:
                sources.append(select(column).where(table.c.search_name.op("~")(exact)).limit(cap))
        sources.append(select(p.c.id).where(p.c.search_name.op("%>")(terms[0])).limit(cap))
        sources.append(select(p.c.id).where(func.dmetaphone(p.c.family_name) == func.dmetaphone(terms[0]),
                                            func.dmetaphone(terms[0]) != "").limit(cap))
    by_attribute = len(sources)
    if terms:
        # Same date of birth / same postcode: a few dozen rows by btree, kept if the name is at all alike.
        loosely = or_(_scores(variants, p, a) >= LOOSE, *([_sounds_like(p, pairs)] if pairs else []))
        if dob:
            sources.append(select(p.c.id).where(p.c.date_of_birth == dob, loosely).limit(cap))
        if at_postcode is not None:
            sources.append(select(p.c.id).where(p.c.id.in_(at_postcode), loosely).limit(cap))
    if identifier_values:
        sources.append(select(Identifier.profile_id).where(Identifier.value.in_(sorted(identifier_values)))
                       .limit(cap))
    tagged = [source.add_columns(literal(position < by_attribute).label("by_name"))
              for position, source in enumerate(sources)]
    with _index_scans_only(session):
        rows = session.execute(union(*tagged)).all()
    return {row[0] for row in rows}, {row[0] for row in rows if row.by_name}


SEQSCAN_AS_SET = "concord.search.enable_seqscan"       # session.info key: the setting before a search changed it


@contextmanager
def _index_scans_only(session):
    """Candidates come from indexes only: a source with a LIMIT and a rough row estimate (the trigram
    operators have no statistics) would otherwise tempt the planner into reading the table from the start
    and hoping for early matches, which at a million rows takes tens of milliseconds or more."""
    previous = session.info.get(SEQSCAN_AS_SET)            # read with the thresholds (search_profiles)
    if previous is None:
        previous = session.execute(select(func.current_setting("enable_seqscan"))).scalar()
    session.execute(select(func.set_config("enable_seqscan", "off", True)))
    try:
        yield
    finally:
        session.execute(select(func.set_config("enable_seqscan", previous, True)))


def _looser(session, terms, cap) -> set:
    """Step 2, last resort: the best `cap` profiles (and aliases) by similarity of the whole name as typed (`%`),
    among those that share at least a little (LOOSE_WORD) with each of its words: one GIN index scan."""
    p, a = Profile.__table__, Alias.__table__
    typed = " ".join(terms)
    session.execute(select(func.set_config("pg_trgm.word_similarity_threshold", str(LOOSE_WORD), True),
                           func.set_config("pg_trgm.similarity_threshold", str(NAME_THRESHOLD), True)))
    sources = [select(column).where(table.c.search_name.op("%")(typed),
                                    *[table.c.search_name.op("%>")(term) for term in terms[:MAX_WORDS]])
               .order_by(func.similarity(table.c.search_name, typed).desc()).limit(cap)
               for table, column in ((p, p.c.id), (a, a.c.profile_id))]
    with _index_scans_only(session):
        return set(session.execute(union(*sources)).scalars())


WORD_FIXES = 10         # step 2: corrected forms of a typed word: one slip away, sounding the same, then closest …
WORD_FIX = 0.2          # … by trigrams at least this similar (pg_trgm similarity)

# Step 2: the typed words corrected, then the names (and aliases) made of them — index probes on a small table,
# then btree probes per (given, family) pair. A word's corrections, best first: the words one typing slip from it
# (search_terms.one_slip_away, looked up exactly), those sounding the same, those closest by trigrams (`%` uses
# pg_trgm.similarity_threshold: WORD_FIX, set below).
_CORRECTED = text("""
    WITH typed AS (SELECT 1 AS position, CAST(:first AS text) AS term, CAST(:first_slips AS text[]) AS slips
                   UNION ALL
                   SELECT :last, CAST(:final AS text), CAST(:final_slips AS text[]) WHERE :last > 1),
    fixes AS (SELECT t.position, f.word FROM typed t CROSS JOIN LATERAL (
                  SELECT word FROM (
                      SELECT word, 0 AS rank FROM name_words WHERE word = ANY(t.slips)
                      UNION ALL
                      SELECT word, CASE WHEN sound = dmetaphone(t.term) THEN 1 ELSE 2 END FROM name_words
                       WHERE lower(word) % t.term OR sound = dmetaphone(t.term)) x
                   GROUP BY word ORDER BY min(rank), similarity(word, t.term) DESC, word LIMIT :fixes) f),
    pairs AS (SELECT g.word AS given, f.word AS family FROM fixes g JOIN fixes f ON g.position = 1
                                                                  AND f.position = :last
              UNION SELECT f.word, g.word FROM fixes g JOIN fixes f ON g.position = 1 AND f.position = :last)
    SELECT c.id FROM pairs w CROSS JOIN LATERAL (
        SELECT id FROM profiles WHERE lower(family_name) = w.family AND lower(given_name) = w.given
         LIMIT :cap) c
    UNION
    SELECT c.id FROM pairs w CROSS JOIN LATERAL (
        SELECT profile_id AS id FROM profile_aliases WHERE lower(family_name) = w.family AND lower(given_name) = w.given
         LIMIT :cap) c
    UNION
    SELECT c.id FROM fixes f CROSS JOIN LATERAL (
        SELECT id FROM profiles WHERE lower(family_name) = f.word LIMIT :cap) c
     WHERE :one_word
    LIMIT :cap""")


def _corrected(session, terms, cap) -> set:
    """Step 2: profiles whose names are made of the typed words as corrected (see the module docstring)."""
    with _index_scans_only(session):                     # the first and last words make the pairs
        found = session.execute(_CORRECTED, {
            "first": terms[0], "first_slips": sorted(one_slip_away(terms[0])), "final": terms[-1],
            "final_slips": sorted(one_slip_away(terms[-1])), "fixes": WORD_FIXES, "last": len(terms), "cap": cap,
            "one_word": len(terms) == 1}).scalars().all()
    return {str(profile_id) for profile_id in found}


def search_profiles(uow, params: dict) -> dict:
    """Across all organisations: fuzzy (trigrams), phonetic (double metaphone), nicknames, aliases, swapped
    names; exact identifier and name + date of birth matches first. What the caller may not open comes back
    as a signpost; a search by flag or age only ever returns what the caller may open."""
    criteria = load_or_fail(_search_schema, params)
    session, caller, now = uow.session, uow.caller, clock.now()
    p = Profile.__table__
    a = Alias.__table__
    visible = visible_clause(caller, now, p, grants, "profile")
    terms = name_terms(criteria.get("q"))
    if terms is None:                       # a wildcard or bracket, taken literally: no name has one
        return _answer(uow, criteria, [], None)
    alternatives = _alternatives(session, terms)
    variants = _name_variants(terms, alternatives)
    identifier_values = set()
    for raw in filter(None, [criteria.get("identifier"), criteria.get("q") if len(terms) == 1 else None]):
        identifier_values |= {value for _, value in ids.guess_identifier(raw)}
        if raw == criteria.get("identifier"):
            identifier_values.add(re.sub(r"\s", "", raw).upper())
    limit, offset = criteria["limit"], criteria["cursor"]
    cap = max(CAP, offset + limit + 1)
    # This transaction only: the trigram thresholds, and no JIT (its compile time would outweigh a bounded query).
    # The round trip also reads enable_seqscan as set, for _index_scans_only to put back.
    session.info[SEQSCAN_AS_SET] = session.execute(select(
        func.current_setting("enable_seqscan"),
        func.set_config("pg_trgm.word_similarity_threshold", str(WORD_THRESHOLD), True),
        func.set_config("pg_trgm.similarity_threshold", str(WORD_FIX), True),
        func.set_config("jit", "off", True))).first()[0]

    filters = [p.c.merged_into.is_(None)]
    dob, postcode = criteria.get("date_of_birth"), criteria.get("postcode")
    at_postcode = select(Address.profile_id).where(Address.postcode == postcode) if postcode else None
    candidates, by_name = None, set()
    if terms or identifier_values:
        candidates, by_name = _candidates(session, terms, alternatives, variants, identifier_values, dob,
                                          at_postcode, cap)
    else:
        # No name or identifier: date of birth and postcode narrow the search instead of ranking it.
        if dob:
            filters.append(p.c.date_of_birth == dob)
        if postcode:
            filters.append(p.c.id.in_(at_postcode))
    private = criteria.get("young_person") is not None or criteria.get("family_flag")
    if criteria.get("young_person") is not None:
        cutoff = _eighteen_years_ago(date.today())
        filters.append(p.c.date_of_birth > cutoff if criteria["young_person"] else p.c.date_of_birth <= cutoff)
    if criteria.get("family_flag"):
        filters.append(_in_family_with_flag(caller, now, p, criteria["family_flag"]))
    if private:
        filters.append(visible)             # an age or a flag is not for signposts

    name_score = _scores(variants, p, a) if variants else literal(0.0)
    score = name_score
    if identifier_values:
        score = score + case((p.c.id.in_(select(Identifier.profile_id).where(
            Identifier.value.in_(sorted(identifier_values)))), 10.0), else_=0.0)
    if dob:
        score = score + case((p.c.date_of_birth == dob, 2.0), else_=0.0)
    if postcode:
        score = score + case((p.c.id.in_(at_postcode), 1.0), else_=0.0)

    def ranked(among, named):
        # A restricted record the caller may not open is a signpost only where its name matched: never
        # through a date of birth, postcode or identifier alone (checked on the candidates only).
        # Cheapest first: most records are not restricted, so the access subquery rarely runs here.
        signposted = [p.c.restricted.is_(False)]
        if named:
            signposted.append(p.c.id == func.any(_uuids(named)))
        signposted.append(visible)
        query = select(p, visible.label("visible"), score.label("score"),
                       func.max(name_score).over().label("best_name_score")).where(or_(*signposted))
        if among is not None:
            query = query.where(p.c.id == func.any(_uuids(among)))
        return session.execute(query.where(*filters).order_by(score.desc(), p.c.id)
                               .limit(limit + 1).offset(offset)).all()

    rows = ranked(candidates, by_name)
    if terms and not (rows and rows[0].best_name_score >= CLOSE):
        # Nothing close to the whole name (typos in several words): the words corrected (step 2), and only if
        # they name no one, the whole name by trigrams.
        corrected = _corrected(session, terms, cap)
        extra = (corrected or _looser(session, terms, max(LOOSER_CAP, offset + limit + 1))) - candidates
        if extra:
            rows = ranked(candidates | extra, by_name | extra)
    page, more = rows[:limit], len(rows) > limit
    involved_orgs = involved(session, [row.id for row in page if not row.visible])
    children = child_lists(session, [row.id for row in page if row.visible])
    items = []
    for row in page:
        item = profile_view(row, children[row.id]) if row.visible else signpost(row, involved_orgs.get(row.id, []))
        items.append(item)
    return _answer(uow, criteria, items, str(offset + limit) if more else None)


def _uuids(ids):
    return literal(sorted(ids), ARRAY(UUID(as_uuid=False)))


def _answer(uow, criteria, items, next_cursor) -> dict:
    """The page, with the search recorded (terms, how many results, how many signposts)."""
    uow.add_event("profile.searched", {"terms": {key: str(value) for key, value in criteria.items()
                                                 if key not in ("limit", "cursor") and value is not None},
                                       "results": len(items),
                                       "signposts": sum(1 for item in items if item["access"] == "signpost")})
    return {"items": items, "next_cursor": next_cursor}


def _in_family_with_flag(caller, now, p, flag):
    """p is in a family the caller may see, in which a member the caller may see carries `flag`."""
    f = Family.__table__
    mine, theirs = FamilyMember.__table__.alias("mine"), FamilyMember.__table__.alias("theirs")
    other = Profile.__table__.alias("other")
    return exists(select(literal(1)).select_from(
        mine.join(f, f.c.id == mine.c.family_id).join(theirs, theirs.c.family_id == f.c.id)
        .join(other, other.c.id == theirs.c.profile_id)
        .join(Flag.__table__, Flag.__table__.c.profile_id == other.c.id))
        .where(mine.c.profile_id == p.c.id, Flag.__table__.c.flag == flag,
               visible_clause(caller, now, f, grants, "family"), visible_clause(caller, now, other, grants, "profile")))


def involved(session, profile_ids) -> dict:
    """{profile id: organisations holding an active grant on it} (for signposts)."""
    if not profile_ids:
        return {}
    now = clock.now()
    rows = session.execute(select(grants.c.record_id, grants.c.grantee_organisation_id).where(
        grants.c.record_type == "profile", grants.c.record_id.in_(profile_ids), grants.c.revoked_at.is_(None),
        or_(grants.c.expires_at.is_(None), grants.c.expires_at > now))).all()
    found = {}
    for row in rows:
        if row.grantee_organisation_id:
            found.setdefault(row.record_id, set()).add(row.grantee_organisation_id)
    return found


def signpost(row, granted_organisations) -> dict:
    """What someone who may not open the profile sees of it: who holds it and how to ask for access."""
    organisations = [row.owner_organisation_id] + sorted(set(granted_organisations) - {row.owner_organisation_id})
    return {"id": row.id, "access": "signpost", "kind": row.kind, "display_name": display_name(row),
            "involved_organisations": [{"organisation_id": org} for org in organisations if org],
            "request_access": f"/api/v1/profiles/{row.id}/access-requests"}
