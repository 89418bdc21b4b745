"""Every read of a record is recorded, and so is every refusal to open one that exists (issue 11, item 5):
a profile's history, its families, its files, a record's access list and /why are recorded like a view;
a caller refused a record that exists gets the very 404 a random id gets, and the refusal is recorded as
`<type>.denied` in a transaction of its own (concord_common.service.ServiceBase)."""
import pytest
from nameko.exceptions import serialize
from sqlalchemy import select
from sqlalchemy.orm import Session

from concord_common.access import records
from concord_common.context import SYSTEM, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import NotFound
from concord_common.messaging_tables import outbox
from concord_common.service import ServiceBase
from services.audit.ingest import entry_from_event
from services.profiles import attachments, families, profiles
from tests.logic import world
from tests.logic.world import FAMILY_KIND, LEAD, ORG_A, PROFILE_KIND, STRANGER, TEAM_A1

OWNER = {"organisation_id": ORG_A, "team_id": TEAM_A1}


@pytest.fixture
def avery(uow):
    with uow(SYSTEM) as work:
        profile = world.person(work.session, "Avery", "Quill")
        family = world.family(work.session, "The Quills", [(profile.id, "child")])
    return {"profile": profile.id, "family": family.id}


READS = {
    "history": lambda work, ids: profiles.profile_history(work, ids["profile"], {}),
    "families": lambda work, ids: families.profile_families(work, ids["profile"]),
    "attachments": lambda work, ids: attachments.list_attachments(work, ids["profile"], {}),
    "access_list": lambda work, ids: records.access_list(work, PROFILE_KIND, ids["profile"]),
    "why": lambda work, ids: records.why(work, PROFILE_KIND, ids["profile"]),
}


@pytest.mark.parametrize("part", READS)
def test_each_read_of_a_part_of_a_record_is_recorded_as_a_view(uow, avery, part):
    with uow(LEAD) as work:
        READS[part](work, avery)
    [event] = work.committed_events
    assert event["type"] == f"profile.{part}_viewed" and event["caller"]["id"] == LEAD.id
    assert (event["data"]["record"], event["data"]["owner"], event["data"]["part"]) == (
        {"type": "profile", "id": avery["profile"]}, OWNER, part)
    entry = entry_from_event(event)                 # what the audit service keeps
    assert (entry["action"], entry["record_id"], entry["page_view"]) == ("viewed", avery["profile"], False)


def test_the_access_list_of_a_family_is_recorded_too(uow, avery):
    with uow(LEAD) as work:
        records.access_list(work, FAMILY_KIND, avery["family"])
    assert [e["type"] for e in work.committed_events] == ["family.access_list_viewed"]


def test_a_record_the_caller_may_not_see_is_refused_with_the_record_on_the_exception_only(uow, avery):
    with uow(STRANGER) as work:
        with pytest.raises(NotFound) as refused:
            profiles.get_profile(work, avery["profile"])
    assert refused.value.denied == {"record": {"type": "profile", "id": avery["profile"]}, "owner": OWNER}
    with uow(STRANGER) as work:
        with pytest.raises(NotFound) as missing:
            profiles.get_profile(work, world._id())
    assert getattr(missing.value, "denied", None) is None
    assert serialize(refused.value) == serialize(missing.value)       # what crosses RPC: byte for byte


def test_why_of_a_hidden_record_answers_as_for_none_and_records_the_refusal(uow, avery):
    with uow(STRANGER) as work:
        hidden = records.why(work, PROFILE_KIND, avery["profile"])
    with uow(STRANGER) as work:
        missing = records.why(work, PROFILE_KIND, world._id())
    assert hidden == missing and work.committed_events == []
    with uow(STRANGER) as work:
        records.why(work, PROFILE_KIND, avery["profile"])
    [event] = work.committed_events
    assert event["type"] == "profile.denied" and entry_from_event(event)["action"] == "denied"


# -- the adapter: ServiceBase records the refusal in a transaction of its own ----------------------------
class _Context:
    def __init__(self, caller):
        self.caller, self.route, self.entrypoint = caller, "GET /api/v1/profiles/<profile_id>", "profiles.get_profile"


class _Db:
    """What `self.db` gives a worker, on the logic tests' database."""

    def __init__(self, engine, caller):
        self.engine, self.caller, self.request_id = engine, caller, new_request_id()

    def unit_of_work(self):
        return unit_of_work(self.engine, "profiles", self.caller, self.request_id)

    separate_unit_of_work = unit_of_work

    def read(self):
        return Session(self.engine)


class _Adapter(ServiceBase):
    def __init__(self, engine, caller):
        self.db, self.context = _Db(engine, caller), _Context(caller)


def _outbox(engine) -> list[dict]:
    with engine.connect() as conn:
        return [row.envelope for row in conn.execute(select(outbox.c.envelope))]


@pytest.mark.parametrize("through", ["write", "read"])
def test_the_adapter_records_a_refusal_although_the_call_rolls_back(profiles_db, uow, avery, through):
    adapter = _Adapter(profiles_db, STRANGER)
    call = {"write": lambda: adapter.write(profiles.get_profile, avery["profile"]),
            "read": lambda: adapter.read(lambda session, caller, record_id: records.check_access(
                session, caller, PROFILE_KIND, record_id, "view"), avery["profile"])}[through]
    with pytest.raises(NotFound) as refused:
        call()
    [denied] = _outbox(profiles_db)
    assert denied["type"] == "profile.denied" and denied["caller"]["id"] == STRANGER.id
    assert denied["data"] == {"record": {"type": "profile", "id": avery["profile"]}, "owner": OWNER,
                              "rpc": "profiles.get_profile", "route": "GET /api/v1/profiles/<profile_id>",
                              "outcome": "failure"}
    entry = entry_from_event(denied)
    assert (entry["action"], entry["actor_id"], entry["record_id"], entry["record_owner_organisation_id"],
            entry["outcome"]) == ("denied", STRANGER.id, avery["profile"], ORG_A, "failure")
    assert serialize(refused.value) == serialize(NotFound())


def test_the_adapter_records_nothing_for_a_record_that_does_not_exist(profiles_db, avery):
    with pytest.raises(NotFound):
        _Adapter(profiles_db, STRANGER).write(profiles.get_profile, world._id())
    with pytest.raises(NotFound):
        _Adapter(profiles_db, STRANGER).write(profiles.get_profile, "not-a-uuid")
    assert _outbox(profiles_db) == []
