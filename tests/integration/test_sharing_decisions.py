"""Access requests and transfers of ownership, against the running permissions service.

The owning services (profiles, cases) are played by a small test-only nameko
service that records what it is asked and can be told to fail or to be slow:
their real `apply_access_grant` / `apply_transfer` are exercised end to end.
Here we hold the permissions service to its side: who may decide (a matrix of
callers), what bad input gets, that the owning service is asked as the system
with the agreed payload, that a decision is recorded only once the owning
service has acted (its failure leaves the request or transfer pending, with
no event), and the events every step emits.

The world: organisation A owns the records (team A1 leads them, A2 is a
sibling team); organisation B asks for access (team B1, B2) and receives
transfers (B1); organisation C has nothing to do with any of it.
"""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import eventlet
import pytest
from sqlalchemy import select

from concord_common.context import Caller
from concord_common.errors import (Conflict, Forbidden, NotFound, ServiceTimeout, Unauthenticated,
                                   ValidationFailed)
from concord_common.messaging_tables import outbox
from concord_common.service import CallContext, rpc
from nameko.runners import ServiceRunner
from services.permissions import models
from tests import support
from tests.integration.permissions_support import caller_of, running_permissions

REASON = "Allocated social worker for the child; I need the police history."
OUTCOMES = {"ok": None, "401": Unauthenticated, "403": Forbidden, "404": NotFound}
RPC_TIMEOUT = 3


# -- the owning services, played by a stand-in ------------------------------------------------
class OwnerStandIn:
    """Records each apply_* call (with the caller it came as); fails or dawdles when told to."""
    context = CallContext()

    asked: list = []
    failure: Exception | None = None
    delay = 0.0

    @classmethod
    def reset(cls, failure=None, delay=0.0):
        cls.asked.clear()
        cls.failure, cls.delay = failure, delay

    def _answer(self, method, record_type, record_id, payload):
        OwnerStandIn.asked.append(SimpleNamespace(
            service=self.name, method=method, record_type=record_type, record_id=record_id, payload=payload,
            caller=self.context.caller, request_id=self.context.request_id))
        if OwnerStandIn.delay:
            eventlet.sleep(OwnerStandIn.delay)
        if OwnerStandIn.failure is not None:
            raise OwnerStandIn.failure
        if method == "apply_access_grant":
            return {"id": str(uuid.uuid4()), **payload}
        return {"owner": {"team_id": payload["to_team_id"], "organisation_id": payload["to_organisation_id"]}}

    @rpc(system_callers=("permissions",))          # as the real owners: the system only from permissions
    def apply_access_grant(self, record_type, record_id, grant):
        return self._answer("apply_access_grant", record_type, record_id, grant)

    @rpc(system_callers=("permissions",))
    def apply_transfer(self, record_type, record_id, transfer):
        return self._answer("apply_transfer", record_type, record_id, transfer)


class ProfilesStandIn(OwnerStandIn):
    name = "profiles"


class CasesStandIn(OwnerStandIn):
    name = "cases"


@pytest.fixture(scope="module")
def directory(amqp_uri, database_server, database_prefix):
    """The real permissions service (with a short RPC deadline), and the stand-in owning services."""
    with running_permissions(amqp_uri, database_server, database_prefix, RPC_TIMEOUT=RPC_TIMEOUT) as running:
        runner = ServiceRunner(support.config_for("profiles", amqp_uri, database_server, database_prefix))
        runner.add_service(ProfilesStandIn)
        runner.add_service(CasesStandIn)
        runner.start()
        try:
            yield running
        finally:
            runner.stop()


@pytest.fixture(autouse=True)
def owners():
    OwnerStandIn.reset()
    yield OwnerStandIn
    OwnerStandIn.reset()


@pytest.fixture(scope="module")
def world(directory):
    d = directory
    org_a, org_b, org_c, operators = (d.organisation(type="police"), d.organisation(type="council"),
                                      d.organisation(type="health"), d.organisation(type="other"))
    a1, a2, b1, b2, c1 = d.team(org_a), d.team(org_a), d.team(org_b), d.team(org_b), d.team(org_c)
    people = {
        "owner_practitioner": d.user(org_a, teams=[(a1, "practitioner"), (a2, "practitioner")]),
        "owner_spoc": d.user(org_a, teams=[(a1, "spoc")]),
        "owner_supervisor": d.user(org_a, teams=[(a1, "supervisor")]),
        "owner_org_other_team": d.user(org_a, teams=[(a2, "supervisor")]),
        "owner_org_admin": d.user(org_a, roles=["org_admin"]),
        "requester": d.user(org_b, teams=[(b1, "practitioner")]),
        "requester_colleague": d.user(org_b, teams=[(b1, "practitioner")]),
        "receiving_supervisor": d.user(org_b, teams=[(b1, "supervisor")]),
        "requester_org_other_team": d.user(org_b, teams=[(b2, "spoc")]),
        "other_org": d.user(org_c, teams=[(c1, "supervisor")], roles=["org_admin"]),
        "system_admin": d.user(operators, roles=["system_admin"]),
    }
    callers = {who: d.caller(person["username"]) for who, person in people.items()}
    client = d.system.create_api_client({"name": "Force records", "organisation_id": org_a["id"],
                                         "scopes": ["profiles:read", "profiles:write"]})
    token = d.anonymous.client_token(client["client_id"], client["client_secret"])
    callers["api_client"] = caller_of(d.anonymous.resolve_token(token["access_token"]))
    callers["anonymous"] = Caller()
    return SimpleNamespace(org_a=org_a, org_b=org_b, org_c=org_c, a1=a1, a2=a2, b1=b1, b2=b2, c1=c1,
                           people=people, callers=callers, as_=lambda who: d.as_(callers[who]))


def a_record(w, record_type="profile", owner=None, is_person=None, **changes) -> dict:
    """A record as its owning service describes it (it exists only there; here it is a description)."""
    owner = owner or w.a1
    described = {"type": record_type, "id": str(uuid.uuid4()), "display_name": "Ann LEE (b. 2012)",
                 "owner_team_id": owner["id"], "owner_organisation_id": owner["organisation_id"]}
    if is_person is not None:
        described["is_person"] = is_person
    described.update(changes)
    return described


def ask(w, who="requester", record=None, reason=REASON) -> dict:
    return w.as_(who).register_access_request(record or a_record(w), reason)


def offer(w, who="owner_spoc", record=None, to=None, note=None) -> dict:
    payload = {"to_team_id": (to or w.b1)["id"]}
    if note:
        payload["note"] = note
    return w.as_(who).register_transfer(record or a_record(w, is_person=True), payload)


def events(d, event_type: str, **match) -> list[dict]:
    """Envelopes of `event_type` in the outbox (written in the same transaction as the change) whose data match."""
    with d.engine.connect() as conn:
        envelopes = conn.execute(select(outbox.c.envelope).where(outbox.c.event_type == event_type)
                                 .order_by(outbox.c.seq)).scalars().all()
    return [e for e in envelopes if all(e["data"].get(key) == value for key, value in match.items())]


def row(d, model, row_id):
    with d.engine.connect() as conn:
        return conn.execute(select(model).where(model.id == row_id)).one()


# -- who may decide: access requests ---------------------------------------------------------------
REQUEST_ACTIONS = ("approve", "deny", "get", "withdraw")
REQUEST_MATRIX = {
    #                           approve deny  get   withdraw
    "owner_practitioner":       "ok     ok    ok    403",
    "owner_spoc":               "ok     ok    ok    403",
    "owner_supervisor":         "ok     ok    ok    403",
    "owner_org_other_team":     "403    403   404   403",
    "owner_org_admin":          "403    403   404   403",
    "requester":                "403    403   ok    ok",
    "requester_colleague":      "404    404   404   404",
    "requester_org_other_team": "404    404   404   404",
    "other_org":                "404    404   404   404",
    "system_admin":             "404    404   404   404",
    "api_client":               "403    403   403   403",
    "anonymous":                "401    401   401   401",
}


def matrix(table, actions):
    for who, row_text in table.items():
        outcomes = row_text.split()
        assert len(outcomes) == len(actions), who
        for action, outcome in zip(actions, outcomes):
            yield pytest.param(who, action, outcome, id=f"{who}-{action}-{outcome}")


def attempt_request(w, who, action, request_id):
    acting = w.as_(who)
    if action == "approve":
        return acting.approve_access_request(request_id, {"level": "view"})
    if action == "deny":
        return acting.deny_access_request(request_id, {"note": "Not needed for this enquiry."})
    if action == "get":
        return acting.get_access_request(request_id)
    return acting.withdraw_access_request(request_id, None)


@pytest.mark.parametrize("who,action,outcome", list(matrix(REQUEST_MATRIX, REQUEST_ACTIONS)))
def test_who_may_decide_an_access_request(directory, world, owners, who, action, outcome):
    request = ask(world)
    expected = OUTCOMES[outcome]
    if expected is None:
        answer = attempt_request(world, who, action, request["id"])
        assert answer["id"] == request["id"]
        assert answer["status"] == {"approve": "approved", "deny": "denied", "get": "pending",
                                    "withdraw": "withdrawn"}[action]
        assert len(owners.asked) == (1 if action == "approve" else 0)
        return
    with pytest.raises(expected):
        attempt_request(world, who, action, request["id"])
    assert row(directory, models.AccessRequest, request["id"]).status == "pending"
    assert owners.asked == []


# -- who may decide: transfers ----------------------------------------------------------------------
TRANSFER_ACTIONS = ("accept", "reject", "get", "cancel")
TRANSFER_MATRIX = {
    # A1 (owner_spoc asked) hands the record to B1.
    #                           accept reject get   cancel
    "requester":                "ok    ok     ok    403",      # a member of B1, the receiving team
    "receiving_supervisor":     "ok    ok     ok    403",
    "requester_org_other_team": "403   403    404   404",
    "owner_practitioner":       "403   403    ok    ok",       # a member of A1, the sending team
    "owner_spoc":               "403   403    ok    ok",
    "owner_org_other_team":     "404   404    404   403",
    "owner_org_admin":          "404   404    404   403",
    "other_org":                "404   404    404   404",
    "system_admin":             "404   404    404   404",
    "api_client":               "403   403    403   403",
    "anonymous":                "401   401    401   401",
}


def attempt_transfer(w, who, action, transfer_id):
    acting = w.as_(who)
    if action == "accept":
        return acting.accept_transfer(transfer_id, {"consent": {"status": "given"}})
    if action == "reject":
        return acting.reject_transfer(transfer_id, {"note": "Not ours: wrong area."})
    if action == "get":
        return acting.get_transfer(transfer_id)
    return acting.cancel_transfer(transfer_id, None)


@pytest.mark.parametrize("who,action,outcome", list(matrix(TRANSFER_MATRIX, TRANSFER_ACTIONS)))
def test_who_may_decide_a_transfer(directory, world, owners, who, action, outcome):
    transfer = offer(world)
    expected = OUTCOMES[outcome]
    if expected is None:
        answer = attempt_transfer(world, who, action, transfer["id"])
        assert answer["id"] == transfer["id"]
        assert answer["status"] == {"accept": "accepted", "reject": "rejected", "get": "pending",
                                    "cancel": "cancelled"}[action]
        assert len(owners.asked) == (1 if action == "accept" else 0)
        return
    with pytest.raises(expected):
        attempt_transfer(world, who, action, transfer["id"])
    assert row(directory, models.Transfer, transfer["id"]).status == "pending"
    assert owners.asked == []


# -- access requests ------------------------------------------------------------------------------------
def test_asking_registers_one_pending_request_and_tells_the_owner(directory, world):
    record = a_record(world)
    asked = ask(world, record=record)
    assert asked["status"] == "pending" and asked["created"] is True and asked["direction"] == "outgoing"
    assert asked["record"] == {"type": "profile", "id": record["id"], "display_name": record["display_name"]}
    assert asked["owner"]["team_id"] == world.a1["id"] and asked["owner"]["organisation_id"] == world.org_a["id"]
    assert asked["requester"]["id"] == world.people["requester"]["id"]
    assert asked["requester"]["organisation_id"] == world.org_b["id"]
    assert asked["reason"] == REASON and asked["decision"] is None

    again = ask(world, record=record, reason="Asking again, a little impatiently.")
    assert again["id"] == asked["id"] and again["created"] is False and again["reason"] == REASON
    [event] = events(directory, "access_request.requested", access_request_id=asked["id"])
    assert event["data"] == {
        "record": {"type": "profile", "id": record["id"]}, "access_request_id": asked["id"],
        "owner": {"team_id": world.a1["id"], "organisation_id": world.org_a["id"]},
        "requester_id": world.people["requester"]["id"], "requester_organisation_id": world.org_b["id"],
        "reason": REASON}
    assert event["caller"]["id"] == world.people["requester"]["id"]

    seen = world.as_("owner_supervisor").get_access_request(asked["id"])
    assert seen["direction"] == "incoming" and seen["requester"]["display_name"] == "Test Person"
    # A colleague may ask for the same record: one pending request per person and record.
    assert ask(world, "requester_colleague", record=record)["id"] != asked["id"]


def own_proxy_call(d, caller, method, *args):
    """One call on a proxy of its own (a standalone proxy is not for several green threads at once)."""
    with support.rpc_as(d.config, caller, timeout=20) as cluster:
        return getattr(cluster.permissions, method)(*args)


def test_asking_concurrently_still_makes_one_request(directory, world):
    record = a_record(world)
    requester = world.callers["requester"]
    answers = list(eventlet.GreenPool().imap(
        lambda _: own_proxy_call(directory, requester, "register_access_request", record, REASON), range(4)))
    assert len({answer["id"] for answer in answers}) == 1
    assert sorted(answer["created"] for answer in answers) == [False, False, False, True]
    assert len(events(directory, "access_request.requested", access_request_id=answers[0]["id"])) == 1


def test_approving_asks_the_owning_service_as_the_system_then_records_the_decision(directory, world, owners):
    record = a_record(world)
    asked = ask(world, record=record)
    expires = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    approved = world.as_("owner_spoc").approve_access_request(
        asked["id"], {"level": "edit", "expires_at": expires.isoformat(), "note": "  For the strategy meeting. "})

    [call] = owners.asked
    assert (call.service, call.method, call.record_type, call.record_id) == (
        "profiles", "apply_access_grant", "profile", record["id"])
    assert call.caller.kind == "system"
    assert call.payload == {
        "grantee_type": "user", "grantee_id": world.people["requester"]["id"],
        "grantee_organisation_id": world.org_b["id"], "level": "edit",
        "expires_at": expires.isoformat().replace("+00:00", ".000Z"), "lawful_basis": "Access request approved",
        "justification": REASON, "source": "access_request", "source_id": asked["id"],
        "granted_by": world.people["owner_spoc"]["id"]}

    assert approved["status"] == "approved"
    decision = approved["decision"]
    assert decision["by"]["id"] == world.people["owner_spoc"]["id"] and decision["level"] == "edit"
    assert datetime.fromisoformat(decision["expires_at"]) == expires and decision["note"] == "For the strategy meeting."
    assert decision["grant_id"]
    [event] = events(directory, "access_request.approved", access_request_id=asked["id"])
    assert event["caller"]["id"] == world.people["owner_spoc"]["id"]
    assert event["data"]["record"] == {"type": "profile", "id": record["id"]}
    assert {key: event["data"][key] for key in ("requester_id", "level", "decided_by", "reason", "note")} == {
        "requester_id": world.people["requester"]["id"], "level": "edit",
        "decided_by": world.people["owner_spoc"]["id"], "reason": REASON, "note": "For the strategy meeting."}
    assert datetime.fromisoformat(event["data"]["expires_at"]) == expires
    assert world.as_("requester").get_access_request(asked["id"])["decision"]["level"] == "edit"

    with pytest.raises(Conflict):
        world.as_("owner_practitioner").approve_access_request(asked["id"], {"level": "view"})
    with pytest.raises(Conflict):
        world.as_("owner_practitioner").deny_access_request(asked["id"], None)
    assert len(owners.asked) == 1
    # Decided: the requester may ask again for the same record.
    assert ask(world, record=record)["id"] != asked["id"]


def test_a_case_goes_to_the_cases_service(directory, world, owners):
    asked = ask(world, record=a_record(world, record_type="case", display_name="ASB/2026/0042"))
    world.as_("owner_practitioner").approve_access_request(asked["id"], {"level": "view"})
    [call] = owners.asked
    assert (call.service, call.record_type, call.payload["expires_at"]) == ("cases", "case", None)


OWNER_FAILURES = {
    "the record changed (409)": (Conflict("The record has a new owner."), Conflict),
    "the record is gone (404 there, 409 here)": (NotFound(), Conflict),
    "the owner refuses the payload (422)": (ValidationFailed("Bad", {"level": ["Not for this record."]}),
                                            ValidationFailed),
}


@pytest.mark.parametrize("case", list(OWNER_FAILURES))
def test_when_the_owning_service_refuses_nothing_is_approved(directory, world, owners, case):
    failure, raised = OWNER_FAILURES[case]
    asked = ask(world)
    owners.failure = failure
    with pytest.raises(raised):
        world.as_("owner_spoc").approve_access_request(asked["id"], {"level": "view"})
    assert len(owners.asked) == 1
    stored = row(directory, models.AccessRequest, asked["id"])
    assert (stored.status, stored.decided_by, stored.decision_level, stored.grant_id) == ("pending", None, None, None)
    assert events(directory, "access_request.approved", access_request_id=asked["id"]) == []
    owners.failure = None
    assert world.as_("owner_spoc").deny_access_request(asked["id"], {})["status"] == "denied"


def test_when_the_owning_service_does_not_answer_in_time_nothing_is_approved(directory, world, owners):
    asked = ask(world)
    owners.delay = RPC_TIMEOUT + 1
    with pytest.raises(ServiceTimeout):
        world.as_("owner_spoc").approve_access_request(asked["id"], {"level": "view"})
    assert row(directory, models.AccessRequest, asked["id"]).status == "pending"
    owners.delay = 0
    eventlet.sleep(1.5)     # let the stand-in finish the late call
    assert world.as_("owner_spoc").approve_access_request(asked["id"], {"level": "view"})["status"] == "approved"
    # The late call may have granted already: the retry carries the same source, for the owner to make it idempotent.
    assert {call.payload["source_id"] for call in owners.asked} == {asked["id"]}
    assert len(events(directory, "access_request.approved", access_request_id=asked["id"])) == 1


def test_two_approvers_at_once_make_one_decision(directory, world, owners):
    asked = ask(world)
    owners.delay = 0.5
    first = world.as_("owner_spoc").approve_access_request.call_async(asked["id"], {"level": "view"})
    second = world.as_("owner_supervisor").approve_access_request.call_async(asked["id"], {"level": "edit"})
    outcomes = []
    for reply in (first, second):
        try:
            outcomes.append(reply.result()["status"])
        except Conflict:
            outcomes.append("conflict")
    assert sorted(outcomes) == ["approved", "conflict"]
    assert len(owners.asked) == 1
    assert len(events(directory, "access_request.approved", access_request_id=asked["id"])) == 1


def test_deny_and_withdraw(directory, world, owners):
    denied = world.as_("owner_practitioner").deny_access_request(ask(world)["id"], {"note": "Use the MASH route."})
    assert denied["status"] == "denied" and denied["decision"]["note"] == "Use the MASH route."
    [event] = events(directory, "access_request.denied", access_request_id=denied["id"])
    assert event["data"]["requester_id"] == world.people["requester"]["id"]
    assert event["data"]["decided_by"] == world.people["owner_practitioner"]["id"]
    assert event["data"]["level"] is None and event["data"]["note"] == "Use the MASH route."

    withdrawn = world.as_("requester").withdraw_access_request(ask(world)["id"], {"note": "Found what I needed."})
    assert withdrawn["status"] == "withdrawn"
    assert len(events(directory, "access_request.withdrawn", access_request_id=withdrawn["id"])) == 1
    with pytest.raises(Conflict):
        world.as_("owner_spoc").approve_access_request(withdrawn["id"], {"level": "view"})
    assert owners.asked == []


def test_a_request_from_someone_since_disabled_cannot_be_approved(directory, world, owners):
    person = directory.user(world.org_b, teams=[(world.b2, "practitioner")])
    asked = directory.as_(directory.caller(person["username"])).register_access_request(a_record(world), REASON)
    directory.system.disable_user(person["id"])
    with pytest.raises(Conflict):
        world.as_("owner_spoc").approve_access_request(asked["id"], {"level": "view"})
    assert owners.asked == []
    assert world.as_("owner_spoc").deny_access_request(asked["id"], None)["status"] == "denied"


def test_someone_in_the_owner_team_cannot_ask(directory, world):
    with pytest.raises(Conflict):
        ask(world, "owner_practitioner")


@pytest.mark.parametrize("who,raised", [("api_client", Forbidden), ("anonymous", Unauthenticated)])
def test_only_people_ask(directory, world, who, raised):
    with pytest.raises(raised):
        ask(world, who)


REQUEST_BAD_INPUT = {
    "reason too short": (lambda w: (a_record(w), "pls"), {"reason"}),
    "reason only spaces": (lambda w: (a_record(w), " " * 20), {"reason"}),
    "reason missing": (lambda w: (a_record(w), None), {"reason"}),
    "reason too long": (lambda w: (a_record(w), "x" * 2001), {"reason"}),
    "unknown record type": (lambda w: (a_record(w, record_type="premises"), REASON), {"record.type"}),
    "unknown owner team": (lambda w: (a_record(w, owner_team_id=str(uuid.uuid4())), REASON),
                           {"record.owner_team_id"}),
    "owner team of another organisation": (lambda w: (a_record(w, owner_organisation_id=w.org_b["id"]), REASON),
                                           {"record.owner_team_id"}),
    "record id not an id": (lambda w: (a_record(w, id="P-1"), REASON), {"record.id"}),
    "no record": (lambda w: (None, REASON), {"record"}),
}


@pytest.mark.parametrize("case", list(REQUEST_BAD_INPUT))
def test_bad_requests_name_the_field_and_write_nothing(directory, world, case):
    build, fields = REQUEST_BAD_INPUT[case]
    record, reason = build(world)
    before = directory.count(models.AccessRequest)
    with pytest.raises(ValidationFailed) as failed:
        world.as_("requester").register_access_request(record, reason)
    assert set(failed.value.errors) == fields, failed.value.errors
    assert directory.count(models.AccessRequest) == before


APPROVAL_BAD_INPUT = {
    "unknown level": ({"level": "admin"}, {"level"}),
    "no level": ({}, {"level"}),
    "expiry in the past": ({"level": "view", "expires_at": "2020-01-01T00:00:00Z"}, {"expires_at"}),
    "expiry not a time": ({"level": "view", "expires_at": "tomorrow"}, {"expires_at"}),
    "note too long": ({"level": "view", "note": "x" * 2001}, {"note"}),
    "unknown field": ({"level": "view", "grantee_id": str(uuid.uuid4())}, {"grantee_id"}),
}


@pytest.mark.parametrize("case", list(APPROVAL_BAD_INPUT))
def test_bad_approvals_name_the_field_and_change_nothing(directory, world, owners, case):
    payload, fields = APPROVAL_BAD_INPUT[case]
    asked = ask(world)
    with pytest.raises(ValidationFailed) as failed:
        world.as_("owner_spoc").approve_access_request(asked["id"], payload)
    assert set(failed.value.errors) == fields, failed.value.errors
    assert row(directory, models.AccessRequest, asked["id"]).status == "pending"
    assert owners.asked == []


def test_lists_show_incoming_and_outgoing_requests(directory, world):
    d = directory
    lead_org, asking_org = d.organisation(), d.organisation()
    lead_team, asking_team = d.team(lead_org), d.team(asking_org)
    lead = d.caller(d.user(lead_org, teams=[(lead_team, "practitioner")])["username"])
    asker_person = d.user(asking_org, teams=[(asking_team, "practitioner")])
    asker = d.caller(asker_person["username"])
    mine_out = d.as_(lead).register_access_request(a_record(world), REASON)                 # lead asks A1
    incoming = [d.as_(asker).register_access_request(a_record(world, owner=lead_team), REASON) for _ in range(5)]
    d.as_(lead).deny_access_request(incoming[0]["id"], None)

    everything = d.as_(lead).list_access_requests()
    assert [item["id"] for item in everything["items"]] == [r["id"] for r in reversed(incoming)] + [mine_out["id"]]
    assert [item["direction"] for item in everything["items"]] == ["incoming"] * 5 + ["outgoing"]
    assert everything["next_cursor"] is None
    pending = d.as_(lead).list_access_requests(status="pending", direction="incoming")
    assert {item["id"] for item in pending["items"]} == {r["id"] for r in incoming[1:]}
    assert [i["id"] for i in d.as_(lead).list_access_requests(direction="outgoing")["items"]] == [mine_out["id"]]
    assert {i["id"] for i in d.as_(asker).list_access_requests()["items"]} == {r["id"] for r in incoming}

    pages, cursor = [], None
    while True:
        answer = d.as_(lead).list_access_requests(limit=2, cursor=cursor)
        pages.append([item["id"] for item in answer["items"]])
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2]
    assert sum(pages, []) == [item["id"] for item in everything["items"]]

    for bad, field in ((dict(status="maybe"), "status"), (dict(direction="sideways"), "direction"),
                       (dict(limit=0), "limit"), (dict(limit=501), "limit"), (dict(cursor="rubbish"), "cursor")):
        with pytest.raises(ValidationFailed) as failed:
            d.as_(lead).list_access_requests(**bad)
        assert set(failed.value.errors) == {field}
    assert world.as_("system_admin").list_access_requests() == {"items": [], "next_cursor": None}
    with pytest.raises(Forbidden):
        world.as_("api_client").list_access_requests()


# -- transfers ---------------------------------------------------------------------------------------------
def test_offering_a_transfer_registers_it_and_tells_the_receiving_team(directory, world):
    record = a_record(world, is_person=True)
    offered = offer(world, record=record, note="Family moved to Leeds.")
    assert offered["status"] == "pending" and offered["direction"] == "outgoing"
    assert offered["record"] == {"type": "profile", "id": record["id"], "display_name": record["display_name"],
                                 "is_person": True}
    assert offered["from_team"]["id"] == world.a1["id"] and offered["to_team"]["id"] == world.b1["id"]
    assert offered["to_team"]["organisation_id"] == world.org_b["id"]
    assert offered["to_team"]["name"] == world.b1["name"] and offered["note"] == "Family moved to Leeds."
    assert offered["requested_by"]["id"] == world.people["owner_spoc"]["id"]
    [event] = events(directory, "record.transfer_requested", transfer_id=offered["id"])
    assert event["data"] == {
        "record": {"type": "profile", "id": record["id"]}, "transfer_id": offered["id"],
        "from_team_id": world.a1["id"], "from_organisation_id": world.org_a["id"],
        "to_team_id": world.b1["id"], "to_organisation_id": world.org_b["id"],
        "requested_by": world.people["owner_spoc"]["id"], "note": "Family moved to Leeds."}
    assert world.as_("receiving_supervisor").get_transfer(offered["id"])["direction"] == "incoming"


def test_a_newer_transfer_of_the_same_record_supersedes_the_pending_one(directory, world):
    record = a_record(world, is_person=True)
    first = offer(world, record=record)
    second = offer(world, "owner_practitioner", record=record, to=world.c1)
    assert world.as_("owner_spoc").get_transfer(first["id"])["status"] == "superseded"
    assert second["status"] == "pending" and second["to_team"]["id"] == world.c1["id"]
    [event] = events(directory, "record.transfer_superseded", transfer_id=first["id"])
    assert event["data"]["superseded_by"] == second["id"] and event["data"]["record"]["id"] == record["id"]
    with pytest.raises(Conflict):
        world.as_("requester").accept_transfer(first["id"], {"consent": {"status": "given"}})


def test_accepting_asks_the_owning_service_as_the_system_then_records_it(directory, world, owners):
    record = a_record(world, is_person=True)
    offered = offer(world, record=record)
    waiting = ask(world, "other_org", record=record)        # a pending request follows the record
    accepted = world.as_("requester").accept_transfer(offered["id"], {
        "consent": {"status": "overridden", "detail": "Risk of significant harm."}, "note": "Taking it on."})

    [call] = owners.asked
    assert (call.service, call.method, call.record_type, call.record_id) == (
        "profiles", "apply_transfer", "profile", record["id"])
    assert call.caller.kind == "system"
    assert call.payload == {"to_team_id": world.b1["id"], "to_organisation_id": world.org_b["id"],
                            "consent": {"status": "overridden", "detail": "Risk of significant harm."},
                            "transfer_id": offered["id"], "accepted_by": world.people["requester"]["id"]}
    assert accepted["status"] == "accepted"
    assert accepted["decision"]["consent"] == {"status": "overridden", "detail": "Risk of significant harm."}
    assert accepted["decision"]["by"]["id"] == world.people["requester"]["id"]
    [event] = events(directory, "record.transferred", transfer_id=offered["id"])
    assert event["data"]["record"] == {"type": "profile", "id": record["id"]}
    assert {key: event["data"][key] for key in ("from_team_id", "to_team_id", "accepted_by", "note")} == {
        "from_team_id": world.a1["id"], "to_team_id": world.b1["id"],
        "accepted_by": world.people["requester"]["id"], "note": "Taking it on."}

    moved = world.as_("receiving_supervisor").get_access_request(waiting["id"])
    assert moved["owner"]["team_id"] == world.b1["id"] and moved["status"] == "pending"
    with pytest.raises(NotFound):
        world.as_("owner_spoc").get_access_request(waiting["id"])
    with pytest.raises(Conflict):
        world.as_("receiving_supervisor").reject_transfer(offered["id"], None)


def test_consent_is_confirmed_again_for_a_person_and_optional_otherwise(directory, world, owners):
    person = offer(world)
    for payload, field in (({}, "consent"), ({"consent": None}, "consent"),
                           ({"consent": {"status": "maybe"}}, "consent.status"),
                           ({"consent": {"status": "overridden"}}, "consent.detail"),
                           ({"consent": "given"}, "consent._schema")):
        with pytest.raises(ValidationFailed) as failed:
            world.as_("requester").accept_transfer(person["id"], payload)
        assert set(failed.value.errors) == {field}, (payload, failed.value.errors)
    assert owners.asked == [] and row(directory, models.Transfer, person["id"]).status == "pending"

    family = offer(world, record=a_record(world, record_type="family", is_person=False, display_name="Lee family"))
    assert world.as_("requester").accept_transfer(family["id"], None)["status"] == "accepted"
    [call] = owners.asked
    assert call.service == "profiles" and call.record_type == "family" and call.payload["consent"] is None


@pytest.mark.parametrize("case", list(OWNER_FAILURES))
def test_when_the_owning_service_refuses_nothing_is_transferred(directory, world, owners, case):
    failure, raised = OWNER_FAILURES[case]
    record = a_record(world, is_person=True)
    offered = offer(world, record=record)
    waiting = ask(world, "other_org", record=record)
    owners.failure = failure
    with pytest.raises(raised):
        world.as_("requester").accept_transfer(offered["id"], {"consent": {"status": "given"}})
    stored = row(directory, models.Transfer, offered["id"])
    assert (stored.status, stored.decided_by, stored.consent) == ("pending", None, None)
    assert events(directory, "record.transferred", transfer_id=offered["id"]) == []
    assert row(directory, models.AccessRequest, waiting["id"]).owner_team_id == world.a1["id"]


def test_reject_and_cancel(directory, world, owners):
    rejected = world.as_("receiving_supervisor").reject_transfer(offer(world)["id"], {"note": "Not our area."})
    assert rejected["status"] == "rejected" and rejected["decision"]["note"] == "Not our area."
    [event] = events(directory, "record.transfer_rejected", transfer_id=rejected["id"])
    assert event["data"]["rejected_by"] == world.people["receiving_supervisor"]["id"]
    assert event["data"]["from_team_id"] == world.a1["id"]

    cancelled = world.as_("owner_practitioner").cancel_transfer(offer(world)["id"], {})
    assert cancelled["status"] == "cancelled"
    assert len(events(directory, "record.transfer_cancelled", transfer_id=cancelled["id"])) == 1
    with pytest.raises(Conflict):
        world.as_("requester").accept_transfer(cancelled["id"], {"consent": {"status": "given"}})
    assert owners.asked == []


TRANSFER_BAD_INPUT = {
    "unknown team": (lambda w: (a_record(w, is_person=True), {"to_team_id": str(uuid.uuid4())}), {"to_team_id"}),
    "not a team id": (lambda w: (a_record(w, is_person=True), {"to_team_id": "B1"}), {"to_team_id"}),
    "no team": (lambda w: (a_record(w, is_person=True), {}), {"to_team_id"}),
    "the owner team itself": (lambda w: (a_record(w, is_person=True), {"to_team_id": w.a1["id"]}), {"to_team_id"}),
    "is_person not said": (lambda w: (a_record(w), {"to_team_id": w.b1["id"]}), {"record.is_person"}),
    "unknown owner team": (lambda w: (a_record(w, is_person=True, owner_team_id=str(uuid.uuid4())),
                                      {"to_team_id": w.b1["id"]}), {"record.owner_team_id"}),
    "note too long": (lambda w: (a_record(w, is_person=True), {"to_team_id": w.b1["id"], "note": "x" * 2001}),
                      {"note"}),
}


@pytest.mark.parametrize("case", list(TRANSFER_BAD_INPUT))
def test_bad_transfers_name_the_field_and_write_nothing(directory, world, case):
    build, fields = TRANSFER_BAD_INPUT[case]
    record, payload = build(world)
    before = directory.count(models.Transfer)
    with pytest.raises(ValidationFailed) as failed:
        world.as_("owner_spoc").register_transfer(record, payload)
    assert set(failed.value.errors) == fields, failed.value.errors
    assert directory.count(models.Transfer) == before


def test_lists_show_incoming_and_outgoing_transfers(directory, world):
    d = directory
    org = d.organisation()
    sending, receiving = d.team(org), d.team(org)
    both = d.caller(d.user(org, teams=[(sending, "spoc"), (receiving, "practitioner")])["username"])
    sender = d.caller(d.user(org, teams=[(sending, "practitioner")])["username"])
    out = [d.as_(sender).register_transfer(a_record(world, owner=sending, is_person=False),
                                           {"to_team_id": receiving["id"]}) for _ in range(3)]
    back = d.as_(both).register_transfer(a_record(world, owner=receiving, is_person=False),
                                         {"to_team_id": world.b1["id"]})
    d.as_(both).reject_transfer(out[0]["id"], None)

    everything = d.as_(both).list_transfers()
    assert [t["id"] for t in everything["items"]] == [back["id"]] + [t["id"] for t in reversed(out)]
    assert [t["direction"] for t in everything["items"]] == ["outgoing", "incoming", "incoming", "incoming"]
    assert {t["id"] for t in d.as_(both).list_transfers(status="pending", direction="incoming")["items"]} == {
        out[1]["id"], out[2]["id"]}
    assert [t["id"] for t in d.as_(sender).list_transfers(direction="outgoing")["items"]] == [
        t["id"] for t in reversed(out)]
    first = d.as_(both).list_transfers(limit=3)
    rest = d.as_(both).list_transfers(limit=3, cursor=first["next_cursor"])
    assert [t["id"] for t in first["items"] + rest["items"]] == [t["id"] for t in everything["items"]]
    assert rest["next_cursor"] is None
    with pytest.raises(ValidationFailed) as failed:
        d.as_(both).list_transfers(status="accepted-ish")
    assert set(failed.value.errors) == {"status"}
