"""Cross-partnership search: fuzzy, phonetic, nicknames, aliases, swapped names, identifiers, postcodes;
exact identifier and name + date of birth first; what you may not open stays a signpost."""
import uuid

from tests.e2e.directory import Directory, sign_in


def ids_of(api, **params):
    response = api.get("/api/v1/profiles", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]], response.json()["items"]


def test_fuzzy_phonetic_nickname_alias_and_swapped_name_search(practitioner):
    surname = "Fairweather" + uuid.uuid4().hex[:4]
    william = practitioner.ok(practitioner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "William", "family_name": surname, "date_of_birth": "1980-05-06",
        "aliases": [{"given_name": "Ziggy", "family_name": "Stardust" + surname[-4:]}],
        "identifiers": [{"scheme": "nhs_number", "value": "9434765919"}],
        "addresses": [{"line1": "1 Park Row", "postcode": "LS1 4AP"}]}), 201)
    namesake = practitioner.ok(practitioner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "William", "family_name": surname, "date_of_birth": "1991-01-01"}), 201)
    for q in (f"William {surname}", f"Bill {surname}", f"Wiliam {surname[:-5]}{surname[-4:]}",
              f"{surname} William", f"Willliam {surname}", "Ziggy Stardust" + surname[-4:]):
        found, _ = ids_of(practitioner, q=q)
        assert william["id"] in found, q
    first, _ = ids_of(practitioner, q=f"Bill {surname}", date_of_birth="1980-05-06")
    assert first[0] == william["id"] and namesake["id"] in first       # name + dob first, namesake after
    by_id, _ = ids_of(practitioner, identifier="943 476 5919")
    assert william["id"] in by_id
    ranked, _ = ids_of(practitioner, q=f"William {surname}", identifier="9434765919")
    assert ranked[0] == william["id"]
    at_postcode, _ = ids_of(practitioner, postcode="ls1 4ap")
    assert william["id"] in at_postcode and namesake["id"] not in at_postcode
    bad = practitioner.get("/api/v1/profiles", params={"postcode": "LS1"})
    assert bad.status_code == 422 and "postcode" in bad.json()["errors"]


def test_search_shows_signposts_for_what_you_cannot_open(practitioner, system):
    surname = "Signpost" + uuid.uuid4().hex[:6]
    theirs_dir = Directory(system, practitioner.admin)
    theirs = sign_in(system, theirs_dir.user("sig", [(theirs_dir.hub, "practitioner")])["username"])
    hidden = theirs.ok(theirs.post("/api/v1/profiles", {"kind": "person", "given_name": "Rebecca",
                                                        "family_name": surname, "date_of_birth": "2001-02-03",
                                                        "flags": ["cse_risk"]}), 201)
    _, items = ids_of(practitioner, q=f"Becky {surname}")
    [signpost] = [item for item in items if item["id"] == hidden["id"]]
    assert set(signpost) == {"id", "access", "kind", "display_name", "involved_organisations", "request_access"}
    assert signpost["access"] == "signpost"
    flagged, _ = ids_of(practitioner, q=surname, young_person="false", family_flag="cse_risk")
    assert flagged == []


def _crowd(service_config, given, family, count):
    """`count` namesakes, `given family`, led by another organisation, straight into the profiles database
    (more than one search source hands on, so the bounded candidate sources are exercised)."""
    from sqlalchemy import create_engine, text

    from tests import support
    engine = create_engine(support.database_url_for(service_config("profiles")))
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO profiles (id, kind, given_name, family_name, date_of_birth, created_by, version, "
                "owner_team_id, owner_organisation_id, restricted, consent_status) "
                "SELECT gen_random_uuid(), 'person', :given, :family, DATE '1950-01-01' + n, 'crowd', 1, "
                ":team, :organisation, false, 'not_sought' FROM generate_series(1, :count) AS n"),
                {"given": given, "family": family, "count": count, "team": str(uuid.uuid4()),
                 "organisation": str(uuid.uuid4())})
    finally:
        engine.dispose()


def test_among_hundreds_of_namesakes_name_and_date_of_birth_or_identifier_still_come_first(practitioner,
                                                                                          service_config):
    surname = "Crowd" + uuid.uuid4().hex[:6]
    _crowd(service_config, "Amelia", surname, 700)
    amelia = practitioner.ok(practitioner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "Amelia", "family_name": surname, "date_of_birth": "2001-07-08",
        "identifiers": [{"scheme": "nhs_number", "value": "9434765870"}]}), 201)
    for q in (f"Amelia {surname}", f"Amelai {surname}", f"{surname} Amelia"):
        first, _ = ids_of(practitioner, q=q, date_of_birth="2001-07-08")
        assert first[0] == amelia["id"], q
    first, _ = ids_of(practitioner, q=f"Amelia {surname}", identifier="9434765870")
    assert first[0] == amelia["id"]
    # Without them: a full page of namesakes (signposts, theirs), and more to page through.
    page = practitioner.ok(practitioner.get("/api/v1/profiles", params={"q": f"Amelia {surname}"}))
    assert len(page["items"]) == 50 and page["next_cursor"]
    assert {item["display_name"] for item in page["items"]} == {f"Amelia {surname}"}
    second = practitioner.ok(practitioner.get("/api/v1/profiles", params={"q": f"Amelia {surname}",
                                                                           "cursor": page["next_cursor"]}))
    assert len(second["items"]) == 50
    assert not {item["id"] for item in page["items"]} & {item["id"] for item in second["items"]}
    by_surname = practitioner.ok(practitioner.get("/api/v1/profiles", params={"q": surname}))
    assert len(by_surname["items"]) == 50 and by_surname["next_cursor"]
    assert all(item["display_name"].endswith(surname) for item in by_surname["items"])


def test_typos_in_every_word_of_the_name_still_find_the_person(practitioner):
    surname = "Wolstenholme" + uuid.uuid4().hex[:4]
    philippa = practitioner.ok(practitioner.post("/api/v1/profiles", {
        "kind": "person", "given_name": "Philippa", "family_name": surname, "date_of_birth": "1975-11-12"}), 201)
    misspelt = f"Phlipipa {surname[:8]}{surname[9]}{surname[8]}{surname[10:]}"   # wolstenhlome…
    for q in (misspelt, " ".join(reversed(misspelt.split()))):
        found, _ = ids_of(practitioner, q=q)
        assert philippa["id"] in found, q


def test_wildcards_list_nobody_and_a_restricted_record_is_found_only_by_its_name(practitioner, system):
    """issue 11, item 4: `q=%%` or `q=((` listed every person in the system as signposts, and a restricted
    record of another organisation was signposted by its date of birth, postcode or identifier alone."""
    surname = "Penhaligon" + uuid.uuid4().hex[:6]
    theirs_dir = Directory(system, practitioner.admin)
    theirs = sign_in(system, theirs_dir.user("res", [(theirs_dir.hub, "practitioner")])["username"])
    hidden = theirs.ok(theirs.post("/api/v1/profiles", {
        "kind": "person", "given_name": "Orla", "family_name": surname, "date_of_birth": "1988-08-08",
        "restricted": True, "identifiers": [{"scheme": "nhs_number", "value": "9434765870"}],
        "addresses": [{"line1": "4 Cliff Road", "postcode": "LS6 2AB"}]}), 201)
    assert ids_of(practitioner, q="Penhaligon%") == ([], [])                    # literal: nobody is called that
    for q in ("%%", "((", "[]", "__", "%_", "a", "a .", "b &"):
        refused = practitioner.get("/api/v1/profiles", params={"q": q})
        assert refused.status_code == 422 and "q" in refused.json()["errors"], q
    for criterion in ({"date_of_birth": "1988-08-08"}, {"postcode": "LS6 2AB"}, {"identifier": "9434765870"},
                      {"q": "9434765870"}):
        assert hidden["id"] in ids_of(theirs, **criterion)[0], criterion            # its lead team finds it
        assert hidden["id"] not in ids_of(practitioner, **criterion)[0], criterion
    found, items = ids_of(practitioner, q=f"Orla {surname}")
    assert found == [hidden["id"]] and items[0]["access"] == "signpost"
