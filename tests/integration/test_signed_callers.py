"""The broker is not a trust boundary: a caller is believed only from a valid signed assertion.

Each attack comes from a process that reaches RabbitMQ, as the security review's did; each
refusal answers Unauthenticated before any work, and is audited.
"""
import json
import time
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, select

from concord_common import trust
from concord_common.context import SYSTEM, Caller
from concord_common.db import event_envelope
from concord_common.errors import NotFound, Unauthenticated, ValidationFailed
from concord_common.events import dead_letter_queue_name
from concord_common.outbox import EventPublisher
from services.audit.models import AuditEntry
from services.audit.service import AuditService
from services.profiles.service import ProfilesService
from tests import support

OTHER_TEAM = Caller(kind="user", id="u-intruder", organisation_id="org-x", teams=({"id": "team-x", "role": "spoc"},))


@pytest.fixture
def profiles_and_audit(service_config, run_services):
    config, audit_config = service_config("profiles"), service_config("audit")
    run_services(config, ProfilesService)
    run_services(audit_config, AuditService)
    engine = create_engine(support.database_url_for(audit_config))
    yield config, engine
    engine.dispose()


def raw_call(config, caller_header, method, *args, request_id=None):
    """What an attacker sends: whatever `caller` header it likes."""
    context = {"caller": caller_header, "request_id": request_id or uuid.uuid4().hex}
    with ClusterRpcProxy(config, context_data=context, timeout=10) as cluster:
        return getattr(cluster.profiles, method)(*args)


def refusals(engine, request_id):
    with engine.connect() as conn:
        return conn.execute(select(AuditEntry).where(AuditEntry.event_type == "caller.refused",
                                                     AuditEntry.request_id == request_id)).all()


def forged_assertion(claims_change: dict, issuer=trust.GATEWAY, method="get_profile") -> str:
    now = time.time()
    claims = {"iss": issuer, "aud": "profiles", "act": method, "rid": "r", "iat": now, "exp": now + 10,
              "sub": json.loads(OTHER_TEAM.to_json()), **claims_change}
    return support.keyring(issuer).sign(claims)


def test_a_forged_context_is_refused_and_the_refusal_audited(profiles_and_audit):
    config, engine = profiles_and_audit
    with support.rpc_as(config, Caller(kind="user", id="u-owner", organisation_id="org-7",
                                       teams=({"id": "team-7", "role": "practitioner"},))) as owner:
        profile = owner.profiles.create_profile({"kind": "person", "given_name": "Ann", "family_name": "Lee"})
    request_id = "forged-" + uuid.uuid4().hex
    for forged in (OTHER_TEAM.to_json(), SYSTEM.to_json()):
        with pytest.raises(Unauthenticated):
            raw_call(config, forged, "profile_history", profile["id"], request_id=request_id)
    audited = support.wait_for(lambda: len(refusals(engine, request_id)) == 2 and refusals(engine, request_id),
                               message="the refusals audited")
    entry = audited[0]
    assert entry.action == "refused" and entry.outcome == "refused" and entry.source == "profiles"
    assert entry.data["entrypoint"] == "profiles.profile_history"
    assert {row.data["claimed_caller"]["kind"] for row in audited} == {"user", "system"}


@pytest.mark.parametrize("change, reason", [
    ({"exp": time.time() - 1}, "expired"),
    ({"aud": "cases"}, "addressed to another service"),
    ({"act": "ping"}, "addressed to another method"),
])
def test_an_expired_or_readdressed_assertion_is_refused(profiles_and_audit, change, reason):
    config, engine = profiles_and_audit
    request_id = "bad-" + uuid.uuid4().hex
    with pytest.raises(Unauthenticated):
        raw_call(config, forged_assertion(change), "get_profile", str(uuid.uuid4()), request_id=request_id)
    support.wait_for(lambda: refusals(engine, request_id), message=f"the refusal ({reason}) audited")


def test_a_tampered_or_foreign_signature_is_refused(profiles_and_audit):
    config, _ = profiles_and_audit
    body, _, signature = forged_assertion({}).partition(".")
    claims = json.loads(trust._unb64(body))
    claims["sub"]["organisation_id"] = "org-victim"
    tampered = trust._b64(json.dumps(claims).encode()) + "." + signature
    stranger = trust.Keyring(trust.GATEWAY, trust.new_private_key_text(), {})    # a key nobody trusts
    foreign = stranger.sign(json.loads(trust._unb64(body)))
    for header in (tampered, foreign, "", "not.a-token"):
        with pytest.raises(Unauthenticated):
            raw_call(config, header, "get_profile", str(uuid.uuid4()))


def test_the_system_applies_grants_only_when_the_permissions_service_says_so(profiles_and_audit):
    config, _ = profiles_and_audit
    grant = {"grantee_type": "team", "grantee_id": "team-x", "level": "view"}
    for issuer in (trust.GATEWAY, trust.OPERATOR, "audit", "cases"):
        with support.rpc_as(config, SYSTEM, issuer=issuer) as cluster:
            with pytest.raises(Unauthenticated):
                cluster.profiles.apply_access_grant("profile", str(uuid.uuid4()), grant)
    with support.rpc_as(config, SYSTEM, issuer="permissions") as cluster:
        with pytest.raises((NotFound, ValidationFailed)):      # believed: answered on its merits
            cluster.profiles.apply_access_grant("profile", str(uuid.uuid4()), grant)


def test_a_signed_caller_is_believed(profiles_and_audit):
    config, _ = profiles_and_audit
    with support.rpc_as(config, OTHER_TEAM) as cluster:
        assert cluster.profiles.ping()["service"] == "profiles"


def test_an_event_not_signed_by_its_source_is_dead_lettered_not_audited(profiles_and_audit, amqp_uri):
    _, engine = profiles_and_audit
    queue = "evt-profiles-#--audit.ingest_profiles"
    dlq = dead_letter_queue_name(queue)
    before = support.queue_depth(amqp_uri, dlq) or 0
    forged = event_envelope("profiles", "profile.viewed", {"record": {"type": "profile", "id": "p-forged"}},
                            OTHER_TEAM, "req-forged-event")
    unsigned = EventPublisher(amqp_uri)                         # plain caller JSON, as before this change
    unsigned.publish("profiles.events", forged["type"], forged, {"nameko.caller": OTHER_TEAM.to_json()})
    unsigned.close()
    by_cases = support.SignedPublisher(amqp_uri)                # signed, but by a service that is not its source
    by_cases._publishers["profiles"] = EventPublisher(amqp_uri, support.keyring("cases"))
    other = dict(forged, id=str(uuid.uuid4()))
    by_cases.publish("profiles.events", other["type"], other, {})
    by_cases.close()
    support.wait_for(lambda: (support.queue_depth(amqp_uri, dlq) or 0) >= before + 2, message="dead letters")
    with engine.connect() as conn:
        assert not conn.execute(select(AuditEntry).where(AuditEntry.event_id.in_([forged["id"], other["id"]]))).all()
