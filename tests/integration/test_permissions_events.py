"""principal.invalidated is on the broker before the RPC that caused it returns.

The service here runs with its background outbox relay switched off, so only the
publish-before-reply path can have put the event there.
"""
import json

import pytest
from kombu import Connection, Queue

from tests.integration.permissions_support import EVENTS, PASSWORD, running_permissions, unique
from concord_common.outbox import event_exchange


@pytest.fixture(scope="module")
def quiet_directory(amqp_uri, database_server, database_prefix):
    with running_permissions(amqp_uri, database_server, database_prefix, OUTBOX_RELAY=False) as running:
        yield running


@pytest.fixture
def listen(amqp_uri):
    """listen(routing_key) -> take(): a queue bound to permissions.events; take() returns what is there now."""
    conn = Connection(amqp_uri)
    channel = conn.channel()
    queues = []

    def bind(routing_key):
        queue = Queue(unique("test-invalidated"), exchange=event_exchange(EVENTS), routing_key=routing_key,
                      exclusive=True)(channel)
        queue.declare()
        queues.append(queue)

        def take():
            messages = []
            while (message := queue.get(no_ack=True)) is not None:
                messages.append(json.loads(message.body))
            return messages
        return take

    yield bind
    for queue in queues:
        queue.delete()
    conn.release()


def signed_in_member(d):
    organisation = d.organisation()
    team, other_team = d.team(organisation), d.team(organisation)
    person = d.user(organisation, teams=[(team, "practitioner")])
    token = d.sign_in(person["username"])["token"]
    session_id = d.anonymous.resolve_token(token)["session_id"]
    return {"person": person, "team": team, "other_team": other_team, "token": token, "session_id": session_id}


CHANGES = {
    "logout": lambda d, s: d.anonymous.end_session(s["token"]),
    "disable_user": lambda d, s: d.system.disable_user(s["person"]["id"]),
    "change_password": lambda d, s: d.system.change_password(s["person"]["id"],
                                                             {"new_password": "an-administrators-reset"}),
    "add_member": lambda d, s: d.system.add_member(s["other_team"]["id"], {"user_id": s["person"]["id"],
                                                                           "role": "spoc"}),
    "remove_member": lambda d, s: d.system.remove_member(s["team"]["id"], s["person"]["id"]),
    "self_password_change": lambda d, s: d.as_(d.caller(s["person"]["username"])).change_password(
        s["person"]["id"], {"current_password": PASSWORD, "new_password": "my-own-new-passphrase"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_principal_invalidated_is_published_before_the_call_returns(quiet_directory, listen, change):
    state = signed_in_member(quiet_directory)
    invalidated, created = listen("principal.invalidated"), listen("user.created")
    quiet_directory.user(quiet_directory.organisation())      # an ordinary event: left to the (stopped) relay

    CHANGES[change](quiet_directory, state)

    [event] = [e for e in invalidated() if state["person"]["id"] in e["data"]["user_ids"]]
    assert event["source"] == "permissions" and event["type"] == "principal.invalidated"
    if change in ("logout", "disable_user", "change_password", "remove_member", "self_password_change"):
        assert state["session_id"] in event["data"]["session_ids"]
    assert created() == [], "the relay is off: only publish-before-reply can have delivered anything"
