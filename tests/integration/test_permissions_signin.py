"""Sign-in, throttling, two-step verification, sessions and client tokens, against the running service."""
from datetime import timedelta

import eventlet
import pyotp
import pytest
from sqlalchemy import select

from concord_common import clock
from concord_common.context import Caller
from concord_common.db import unit_of_work
from concord_common.errors import (Conflict, Forbidden, MfaRequired, TooManyRequests, Unauthenticated,
                                   ValidationFailed)
from concord_common.messaging_tables import outbox
from services.permissions.auth import purge_stale
from services.permissions.models import ClientToken, LoginFailure, UserSession
from services.permissions.settings import Settings
from tests import support
from tests.integration.permissions_support import (PASSWORD, caller_of, directory, moved_clock,  # noqa: F401
                                                         unique)


@pytest.fixture(scope="module")
def org(directory):
    return directory.organisation()


@pytest.fixture(scope="module")
def team(directory, org):
    return directory.team(org)


@pytest.fixture
def person(directory, org, team):
    return directory.user(org, teams=[(team, "practitioner")])


def events_of(directory, event_type: str, record_id: str) -> list[dict]:
    with directory.engine.connect() as conn:
        envelopes = conn.execute(select(outbox.c.envelope).where(outbox.c.event_type == event_type)
                                 .order_by(outbox.c.seq)).scalars().all()
    return [e for e in envelopes if (e["data"].get("record") or {}).get("id") == record_id]


def test_sign_in_answers_a_token_and_who_you_are(directory, person):
    signed_in = directory.sign_in(person["username"].upper(), source_ip="198.51.100.7")   # any case
    assert set(signed_in) == {"token", "expires_at", "csrf_token", "user"}
    assert signed_in["csrf_token"] is None and signed_in["expires_at"].endswith("Z")
    assert signed_in["user"]["id"] == person["id"]
    assert signed_in["user"]["teams"] == person["teams"] and signed_in["user"]["mfa_enrolment_required"] is False
    principal = directory.anonymous.resolve_token(signed_in["token"])
    assert principal["kind"] == "user" and principal["session_kind"] == "api" and principal["scopes"] is None
    assert principal["teams"][0]["role"] == "practitioner"
    me = directory.as_(caller_of(principal)).me()
    assert me["username"] == person["username"] and me["mfa_enabled"] is False
    [login] = events_of(directory, "user.login", person["id"])
    assert login["data"]["source_ip"] == "198.51.100.7" and PASSWORD not in repr(login)


def test_a_web_session_carries_a_csrf_token(directory, person):
    signed_in = directory.sign_in(person["username"], kind="web")
    assert signed_in["csrf_token"]
    assert directory.anonymous.resolve_token(signed_in["token"])["csrf_token"] == signed_in["csrf_token"]


def test_unknown_user_wrong_password_and_disabled_user_get_the_same_answer(directory, org, person):
    answers = []
    for username, password in ((unique("nobody"), PASSWORD), (person["username"], "not-the-password")):
        with pytest.raises(Unauthenticated) as refused:
            directory.sign_in(username, password)
        answers.append(refused.value.args)
    disabled = directory.user(org)
    directory.system.disable_user(disabled["id"])
    with pytest.raises(Unauthenticated) as refused:
        directory.sign_in(disabled["username"])
    answers.append(refused.value.args)
    assert answers[0] == answers[1] == answers[2]
    [failed] = events_of(directory, "user.login_failed", person["id"])
    assert failed["data"]["reason"] == "wrong_password" and "not-the-password" not in repr(failed)


def test_five_failures_lock_the_username_for_fifteen_minutes(directory, person, moved_clock):
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            directory.sign_in(person["username"], "wrong-password-again")
    with pytest.raises(TooManyRequests) as locked:
        directory.sign_in(person["username"])          # the right password no longer helps
    assert 14 * 60 < locked.value.retry_after <= 15 * 60
    assert len(events_of(directory, "user.locked_out", person["id"])) == 1
    moved_clock(timedelta(minutes=10))
    with pytest.raises(TooManyRequests):
        directory.sign_in(person["username"])
    moved_clock(timedelta(minutes=5, seconds=1))
    assert directory.sign_in(person["username"])["user"]["id"] == person["id"]


def test_parallel_guesses_cannot_slip_past_the_lockout(directory, person):
    proxies = [support.rpc_as(directory.config, timeout=30) for _ in range(10)]
    clusters = [proxy.start() for proxy in proxies]

    def guess(cluster):
        try:
            cluster.permissions.authenticate(person["username"], "a-wrong-guess-here")
        except Exception as exc:
            return type(exc).__name__

    try:
        outcomes = list(eventlet.GreenPool().imap(guess, clusters))
    finally:
        for proxy in proxies:
            proxy.stop()
    assert sorted(outcomes) == ["TooManyRequests"] * 5 + ["Unauthenticated"] * 5


def test_unknown_usernames_lock_too_so_locking_reveals_nothing(directory):
    nobody = unique("nobody")
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            directory.sign_in(nobody)
    with pytest.raises(TooManyRequests):
        directory.sign_in(nobody)


@pytest.mark.slow
def test_fifty_failures_from_one_address_throttle_it(directory, person):
    address = "203.0.113.50"
    for n in range(50):
        with pytest.raises(Unauthenticated):
            directory.sign_in(unique(f"spray{n}"), source_ip=address)
    with pytest.raises(TooManyRequests) as throttled:
        directory.sign_in(person["username"], source_ip=address)
    assert 0 < throttled.value.retry_after <= 15 * 60
    assert directory.sign_in(person["username"], source_ip="203.0.113.51")["token"]


def test_mfa_enrolment_then_sign_in_needs_the_code(directory, team):
    strict = directory.organisation(require_mfa=True)
    person = directory.user(strict, teams=[(directory.team(strict), "practitioner")])
    first = directory.sign_in(person["username"])
    assert first["user"]["mfa_enrolment_required"] is True
    principal = directory.anonymous.resolve_token(first["token"])
    assert principal["mfa_enrolment_required"] is True
    pending = directory.as_(caller_of(principal))
    assert pending.me()["mfa_enrolment_required"] is True
    with pytest.raises(Forbidden):                       # nothing else until enrolled
        pending.get_team(team["id"])

    enrolment = pending.enrol_mfa()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/") and enrolment["secret"] in enrolment["otpauth_uri"]
    with pytest.raises(ValidationFailed) as wrong:
        pending.confirm_mfa({"otp": "000000" if pyotp.TOTP(enrolment["secret"]).now() != "000000" else "111111"})
    assert set(wrong.value.errors) == {"otp"}
    assert pending.confirm_mfa({"otp": pyotp.TOTP(enrolment["secret"]).now()}, first["token"]) == {"mfa_enabled": True}
    with pytest.raises(Conflict):
        pending.enrol_mfa()
    assert directory.anonymous.resolve_token(first["token"])["mfa_enrolment_required"] is False

    with pytest.raises(MfaRequired):
        directory.sign_in(person["username"])
    with pytest.raises(MfaRequired):
        directory.sign_in(person["username"], otp="12345x")
    next_code = pyotp.TOTP(enrolment["secret"]).at(clock.now() + timedelta(seconds=30))   # confirming used this one
    signed_in = directory.sign_in(person["username"], otp=next_code)
    assert signed_in["user"]["mfa_enabled"] is True and signed_in["user"]["mfa_enrolment_required"] is False
    assert [e["data"]["reason"] for e in events_of(directory, "user.login_failed", person["id"])] == ["wrong_otp"]
    assert events_of(directory, "user.mfa_enrolled", person["id"]) and events_of(directory, "user.mfa_enabled",
                                                                                   person["id"])


def test_a_session_ends_after_thirty_idle_minutes_but_activity_keeps_it(directory, person, moved_clock):
    token = directory.sign_in(person["username"])["token"]
    for _ in range(3):
        moved_clock(timedelta(minutes=29))
        assert directory.anonymous.resolve_token(token)["id"] == person["id"]
    moved_clock(timedelta(minutes=31))
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)


def test_a_session_ends_after_twelve_hours_however_busy(directory, person, moved_clock):
    token = directory.sign_in(person["username"])["token"]
    for _ in range(28):                                   # 11 h 40 min of steady use
        moved_clock(timedelta(minutes=25))
        directory.anonymous.resolve_token(token)
    moved_clock(timedelta(minutes=25))
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)


def test_logout_ends_the_token_at_once(directory, person):
    token = directory.sign_in(person["username"])["token"]
    other = directory.sign_in(person["username"])["token"]
    assert directory.anonymous.end_session(token) is None
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)
    assert directory.anonymous.end_session(token) is None          # idempotent
    assert directory.anonymous.resolve_token(other)["id"] == person["id"]
    assert len(events_of(directory, "user.logout", person["id"])) == 1


def test_disabling_a_user_ends_their_sessions(directory, person):
    token = directory.sign_in(person["username"])["token"]
    directory.system.disable_user(person["id"])
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)
    with directory.engine.connect() as conn:
        reasons = conn.execute(select(UserSession.end_reason).where(UserSession.user_id == person["id"])).scalars()
        assert set(reasons) == {"user_disabled"}
    assert directory.system.get_user(person["id"])["disabled"] is True


def test_changing_a_password_ends_every_session(directory, person):
    token = directory.sign_in(person["username"])["token"]
    me = directory.as_(directory.caller(person["username"]))
    with pytest.raises(ValidationFailed) as wrong:
        me.change_password(person["id"], {"current_password": "not-my-password", "new_password": "a-new-long-phrase"})
    assert set(wrong.value.errors) == {"current_password"}
    with pytest.raises(ValidationFailed) as missing:
        me.change_password(person["id"], {"new_password": "a-new-long-phrase"})
    assert set(missing.value.errors) == {"current_password"}
    directory.anonymous.resolve_token(token)                          # refusals changed nothing
    me.change_password(person["id"], {"current_password": PASSWORD, "new_password": "a-new-long-phrase"})
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)
    with pytest.raises(Unauthenticated):
        directory.sign_in(person["username"])
    token = directory.sign_in(person["username"], "a-new-long-phrase")["token"]
    directory.system.change_password(person["id"], {"new_password": "reset-by-an-administrator"})   # a reset
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)
    assert directory.sign_in(person["username"], "reset-by-an-administrator")["token"]


def test_removing_the_last_team_ends_sessions_but_not_before(directory, org, team, person):
    second = directory.team(org)
    directory.system.add_member(second["id"], {"user_id": person["id"], "role": "supervisor"})
    token = directory.sign_in(person["username"])["token"]
    directory.system.remove_member(team["id"], person["id"])
    principal = directory.anonymous.resolve_token(token)
    assert [(t["id"], t["role"]) for t in principal["teams"]] == [(second["id"], "supervisor")]
    directory.system.remove_member(second["id"], person["id"])
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(token)


def test_client_credentials_with_scopes(directory, org, moved_clock):
    client = directory.system.create_api_client({"name": "Housing system", "organisation_id": org["id"],
                                                 "scopes": ["profiles:read", "cases:read", "cases:write"]})
    assert set(client) == {"id", "client_id", "client_secret", "name", "organisation_id", "scopes"}
    every = directory.anonymous.client_token(client["client_id"], client["client_secret"])
    assert every["token_type"] == "Bearer" and every["expires_in"] == 900
    assert every["scope"] == "profiles:read cases:read cases:write"
    some = directory.anonymous.client_token(client["client_id"], client["client_secret"], "cases:read")
    principal = directory.anonymous.resolve_token(some["access_token"])
    assert principal["kind"] == "client" and principal["scopes"] == ["cases:read"]
    assert principal["organisation_id"] == org["id"] and principal["display_name"] == "Housing system"

    with pytest.raises(ValidationFailed) as too_much:
        directory.anonymous.client_token(client["client_id"], client["client_secret"], "cases:read audit:read")
    assert set(too_much.value.errors) == {"scope"}
    answers = []
    for client_id, secret in ((client["client_id"], "wrong-secret"), ("cc_nosuchclient", client["client_secret"])):
        with pytest.raises(Unauthenticated) as refused:
            directory.anonymous.client_token(client_id, secret)
        answers.append(refused.value.args)
    assert answers[0] == answers[1]

    moved_clock(timedelta(seconds=901))
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(some["access_token"])


def test_unknown_and_malformed_tokens_are_unauthenticated(directory):
    for token in ("x" * 43, "", None, "y" * 5000):
        with pytest.raises(Unauthenticated):
            directory.anonymous.resolve_token(token)


def test_admin_create_is_for_operators_and_resets_an_existing_account(directory, person):
    username = unique("operator")
    with pytest.raises(Forbidden):
        directory.as_(directory.caller(person["username"])).admin_create(username, "operators-passphrase")
    with pytest.raises(Forbidden):
        directory.anonymous.admin_create(username, "operators-passphrase")
    with pytest.raises(ValidationFailed) as weak:
        directory.system.admin_create(username, "password1234")
    assert set(weak.value.errors) == {"password"}

    created = directory.system.admin_create(username, "operators-passphrase")
    assert created["created"] is True
    signed_in = directory.sign_in(username, "operators-passphrase")
    assert signed_in["user"]["roles"] == ["system_admin"]
    assert signed_in["user"]["mfa_enrolment_required"] is True      # operators must enrol first
    organisation = directory.system.get_organisation(signed_in["user"]["organisation_id"])
    assert (organisation["name"], organisation["type"], organisation["area"]) == ("Concord operators", "other",
                                                                                  "national")
    enrolling = directory.as_(caller_of(directory.anonymous.resolve_token(signed_in["token"])))
    enrolling.confirm_mfa({"otp": pyotp.TOTP(enrolling.enrol_mfa()["secret"]).now()})

    # The operators' way back in: new password, sessions ended, two-step verification to set up again.
    again = directory.system.admin_create(username.upper(), "another-operators-passphrase")
    assert again == {"id": created["id"], "username": username, "created": False}
    with pytest.raises(Unauthenticated):
        directory.anonymous.resolve_token(signed_in["token"])
    assert directory.sign_in(username, "another-operators-passphrase")["user"]["mfa_enrolment_required"] is True


def test_seed_demo_is_for_operators_and_idempotent(directory):
    with pytest.raises(Forbidden):
        directory.as_(Caller(kind="user", id="nobody")).seed_demo()
    first = directory.system.seed_demo()
    counts = directory.counts()
    second = directory.system.seed_demo()
    assert first == second and directory.counts() == counts
    users = first["users"]
    assert {u["organisation"] for u in users} == {
        "West Yorkshire Police", "Leeds City Council", "Park View Academy", "Leeds Teaching Hospitals NHS Trust",
        "Leeds Homes Housing Association"}
    assert {u["role"] for u in users} == {"practitioner", "spoc", "supervisor"}
    assert sum("org_admin" in u["roles"] for u in users) == 5
    spoc = next(u for u in users if u["role"] == "spoc")
    signed_in = directory.sign_in(spoc["username"], "concord-demo-password")
    assert signed_in["user"]["mfa_enrolment_required"] is False
    assert signed_in["user"]["teams"][0]["name"] == spoc["team"]



def test_housekeeping_forgets_failures_and_tokens_nobody_looks_at(directory, org, moved_clock):
    username = unique("forgotten")
    with pytest.raises(Unauthenticated):
        directory.sign_in(username)
    client = directory.system.create_api_client({"name": "Old", "organisation_id": org["id"],
                                                 "scopes": ["cases:read"]})
    directory.anonymous.client_token(client["client_id"], client["client_secret"])

    def remaining():
        with directory.engine.connect() as conn:
            failures = conn.execute(select(LoginFailure).where(LoginFailure.username_lower == username)).all()
            tokens = conn.execute(select(ClientToken).where(ClientToken.api_client_id == client["id"])).all()
            return len(failures), len(tokens)

    with unit_of_work(directory.engine, "permissions") as uow:
        purge_stale(uow, Settings())
    assert remaining() == (1, 1)
    moved_clock(timedelta(days=2))
    with unit_of_work(directory.engine, "permissions") as uow:
        purge_stale(uow, Settings())
    assert remaining() == (0, 0)
