"""A bulk import's batches do what the API does one row at a time, on a real profiles database: the batch create
(services/profiles/bulk_create.py) writes, for each profile, what create_profile writes — rows, history, event —
and its duplicate check answers as the API's does (matching.find_many against find_matches); a row for a profile
that exists is taken as unchanged (bulk_unchanged.py) exactly when the upsert would change nothing."""
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from concord_common.context import SYSTEM
from concord_common.messaging_tables import outbox
from services.profiles import bulk_create, bulk_unchanged, matching, profiles
from services.profiles.models import History
from tests.logic import world
from tests.logic.world import LEAD

BORN = date(1984, 3, 9)
PERSON = {"kind": "person", "given_name": "Rowena", "family_name": "Ackroyd", "date_of_birth": "1984-03-09",
          "gender": "female", "roles": ["victim", "witness", "victim"], "contact": {"phone": "0113 496 0001"},
          "consent": {"status": "given", "detail": "Verbal, at interview"},
          "aliases": [{"given_name": "Ro", "family_name": "Ackroyd"}],
          "identifiers": [{"scheme": "nhs_number", "value": "943 476 5919"},
                          {"scheme": "nhs_number", "value": "9434765919"}],
          "addresses": [{"line1": "4 Mill Lane", "town": "Leeds", "postcode": "ls6 2ab", "from": "2020-01-01"}],
          "flags": ["cse_risk", {"flag": "cse_risk", "detail": "Seen with older men"}]}
PREMISES = {"kind": "premises", "name": "The Feathers", "premises_type": "licensed_premises",
            "address": {"line1": "1 Market St", "postcode": "LS1 6DT"}}
BARE = {"kind": "person", "given_name": "Idris", "family_name": "Vane"}
VARYING = ("id", "external_ref", "created_at", "updated_at", "set_at")


def same_shape(value):
    """A view, history entry or event with what differs between two creates (ids, times) taken out."""
    if isinstance(value, dict):
        return {key: same_shape(item) for key, item in value.items() if key not in VARYING}
    if isinstance(value, list):
        return [same_shape(item) for item in value]
    return value


def written(engine, profile_id) -> tuple[list, list]:
    """(history entries, outbox events) of one profile."""
    with engine.connect() as conn:
        history = conn.execute(select(History.field, History.before, History.after)
                               .where(History.profile_id == profile_id).order_by(History.field)).all()
        events = conn.execute(select(outbox.c.event_type, outbox.c.envelope)
                              .where(outbox.c.envelope["data"]["record"]["id"].astext == profile_id)).all()
    return ([tuple(h) for h in history],
            [(e.event_type, same_shape(e.envelope["data"])) for e in events])


@pytest.mark.parametrize("payload", [PERSON, PREMISES, BARE], ids=["person in full", "premises", "bare person"])
def test_a_batch_writes_for_each_profile_what_create_profile_writes(uow, profiles_db, payload):
    tag = uuid.uuid4().hex[:8]
    with uow(LEAD) as work:
        one = profiles.create_profile(work, dict(payload), world.Directory(),
                                      external_ref={"system": "api", "id": tag})
    with uow(LEAD) as work:
        item = bulk_create.prepare(work.caller, dict(payload), {"system": "import", "id": tag}, world.Directory())
        [many] = bulk_create.create_many(work, [item])
    assert same_shape(many) == same_shape(one)
    assert many["external_ref"] == {"system": "import", "id": tag}
    history_one, events_one = written(profiles_db, one["id"])
    history_many, events_many = written(profiles_db, many["id"])
    assert history_many == history_one and events_many == events_one
    assert [kind for kind, _ in events_many] == ["profile.created"]


def test_a_body_create_profile_refuses_is_refused_the_same_way(uow):
    bad = {"kind": "person", "given_name": "", "identifiers": [{"scheme": "nhs_number", "value": "123"}]}
    with uow(LEAD) as work, pytest.raises(Exception) as api:
        profiles.create_profile(work, dict(bad), world.Directory())
    with uow(LEAD) as work, pytest.raises(Exception) as bulk:
        bulk_create.prepare(work.caller, dict(bad), {"system": "import", "id": "x"}, world.Directory())
    assert type(bulk.value) is type(api.value) and bulk.value.errors == api.value.errors
    with uow(LEAD) as work, pytest.raises(bulk_create.OneAtATime):
        bulk_create.prepare(work.caller, {**PREMISES, "linked_people": [str(uuid.uuid4())]},
                            {"system": "import", "id": "y"}, world.Directory())


def test_the_batch_duplicate_check_answers_as_the_one_at_a_time_check(uow):
    """Candidates found by each source (identifier, name + birth, sound-alike name, alias, postcode), with
    counter-evidence and a merged-away profile; every subject weighed against them both ways."""
    with uow(SYSTEM) as work:
        s = work.session
        surname = f"Quennell{uuid.uuid4().hex[:4]}"
        people = [
            world.person(s, "William", surname, date_of_birth=BORN, identifiers=[("nhs_number", "4010232137")],
                         addresses=[("1 Park Row", "LS1 4AP")]),
            world.person(s, "Bill", "Kennet", identifiers=[("nhs_number", "4010232137")]),
            world.person(s, "William", surname, date_of_birth=BORN),
            world.person(s, "Wiliam", surname[:-1], addresses=[("1 Park Row", "LS1 4AP")]),
            world.person(s, "William", surname, date_of_birth=date(1991, 1, 1)),
            world.person(s, "William", surname, date_of_birth=BORN, identifiers=[("nhs_number", "4010232110")]),
            world.person(s, surname, "William"),
            world.person(s, "Zebedee", "Oxtoby", date_of_birth=BORN),
        ]
        merged = world.person(s, "William", surname, date_of_birth=BORN, identifiers=[("nhs_number", "4010232137")])
        merged.merged_into = people[2].id
        s.flush()
        subjects = [matching.subject_of(profiles.read_profile_view(s, person)) for person in people]
        subjects.append(matching.Subject(id=None, given_name="William", family_name=surname, date_of_birth=BORN,
                                         identifiers=[("nhs_number", "4010232137")],
                                         addresses=[("1 park row", "LS1 4AP")], aliases=[("Billy", surname)]))
        for limit, minimum in ((5, 0.5), (10, 0.0)):
            one_at_a_time = [[(m["row"].id, m["score"]) for m in matching.find_matches(
                s, LEAD, subject, limit=limit, minimum=minimum)] for subject in subjects]
            assert matching.find_many(s, subjects, limit, minimum) == one_at_a_time
            assert sum(bool(found) for found in one_at_a_time) >= 5       # not a comparison of nothings


# -- rows for profiles that exist: unchanged exactly when the upsert would change nothing -------------------------
CHANGES = {
    "the same body": {},
    "roles in another order, one twice": {"roles": ["witness", "victim", "witness"]},
    "addresses in another order": "reorder addresses",
    "a flag given twice, the last one as it is": {"flags": [{"flag": "cse_risk", "detail": "old"},
                                                            {"flag": "cse_risk", "detail": "Seen with older men"}]},
    "a new given name": {"given_name": "Rowan"},
    "a date of birth cleared": {"date_of_birth": None},
    "an alias more": {"aliases": [{"given_name": "Ro", "family_name": "Ackroyd"}, {"given_name": "Wena"}]},
    "a flag's detail changed": {"flags": [{"flag": "cse_risk", "detail": "Seen with older women"}]},
    "an identifier changed": {"identifiers": [{"scheme": "nhs_number", "value": "4010232137"}]},
    "consent withdrawn": {"consent": {"status": "withdrawn"}},
    "the kind changed": {"kind": "premises"},
    "a premises field on a person": {"premises_type": "business"},
    "a bad NHS number": {"identifiers": [{"scheme": "nhs_number", "value": "123"}]},
    "nothing stated": "empty",
}


def _body(change) -> dict:
    body = {key: value for key, value in PERSON.items() if key != "kind"}
    body["addresses"] = body["addresses"] + [{"line1": "9 Old Rd", "postcode": "LS1 4AP"}]
    if change == "reorder addresses":
        body["addresses"] = list(reversed(body["addresses"]))
    elif change == "empty":
        body = {}
    else:
        body.update(change)
    return body


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_row_for_a_profile_that_exists_is_unchanged_exactly_when_the_upsert_changes_nothing(uow, change):
    ref = ("import", uuid.uuid4().hex[:8])
    with uow(LEAD) as work:
        profiles.create_profile(work, {**PERSON, "addresses": _body({})["addresses"]}, world.Directory(),
                                external_ref={"system": ref[0], "id": ref[1]})
    with uow(LEAD) as work:
        [answer] = bulk_unchanged.unchanged(work, [(ref, _body(CHANGES[change]))])
    with pytest.raises(Exception) as undone, uow(LEAD) as work:    # the upsert, then rolled back
        try:
            profiles.upsert_by_external_ref(work, ref[0], ref[1], _body(CHANGES[change]), world.Directory())
            upsert_changed = any(event["type"] == "profile.updated" for event in work.events)
        except Exception as refused:
            upsert_changed = f"refused: {type(refused).__name__}"
        raise RuntimeError(upsert_changed)
    upsert_changed = undone.value.args[0]
    assert answer == (upsert_changed is False), (change, upsert_changed)
    assert answer == (change in ("the same body", "roles in another order, one twice", "addresses in another order",
                                 "a flag given twice, the last one as it is"))


@pytest.mark.parametrize("whose", ["another organisation's", "merged away"])
def test_a_row_the_upsert_would_refuse_is_never_taken_as_unchanged(uow, whose):
    ref = ("import", uuid.uuid4().hex[:8])
    with uow(SYSTEM) as work:
        person = world.person(work.session, "Rowena", "Ackroyd", team=world.TEAM_D1 if whose != "merged away"
                              else world.TEAM_A1, external_system=ref[0], external_id=ref[1])
        if whose == "merged away":
            person.merged_into = world.person(work.session, "Rowena", "Ackroyd").id
    with uow(LEAD) as work:
        assert bulk_unchanged.unchanged(work, [(ref, {"given_name": "Rowena", "family_name": "Ackroyd"})]) == [False]
