"""Two-step verification and the lockout (services/permissions/auth.py, logic.change_password) on a real
permissions database, no broker: what the security review found (issue 11, item 3)."""
from datetime import timedelta

import pyotp
import pytest

from concord_common import clock
from concord_common.errors import MfaRequired, TooManyRequests, Unauthenticated, ValidationFailed
from services.permissions import auth, logic
from tests.logic.permissions_world import PASSWORD, permissions, permissions_engine  # noqa: F401

STEP = timedelta(seconds=30)


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + steps_ahead * STEP)


@pytest.fixture(autouse=True)
def start_of_a_step():
    """Each test starts a second into a 30-second step, so the real clock does not move its codes into the next
    step half-way (a CI run failed so: the confirming code's replay became the next step's code)."""
    into_step = clock.now().timestamp() % STEP.total_seconds()
    clock.advance(STEP - timedelta(seconds=into_step) + timedelta(seconds=1))
    yield
    clock.reset()


@pytest.fixture
def pending(permissions):
    """A person whose organisation requires MFA, not enrolled yet: (user, username)."""
    organisation = permissions.organisation(require_mfa=True)
    person = permissions.user(organisation, teams=[(permissions.team(organisation), "practitioner")])
    return person


def enrolled(permissions, person) -> str:
    """Sign in, enrol and confirm MFA (with the current code); the secret."""
    token, caller = permissions.signed_in(person["username"])
    secret = permissions.run(caller, auth.enrol_mfa)[0]["secret"]
    permissions.run(caller, auth.confirm_mfa, {"otp": code(secret)}, token)
    return secret


def test_confirming_mfa_ends_every_other_session_of_that_user(permissions, pending):
    mine, caller = permissions.signed_in(pending["username"], kind="web")
    someone_elses = permissions.sign_in(pending["username"])["token"]      # whoever else knew the password
    assert permissions.resolve(someone_elses)["mfa_enrolment_required"] is True
    secret = permissions.run(caller, auth.enrol_mfa)[0]["secret"]

    answer, events = permissions.run(caller, auth.confirm_mfa, {"otp": code(secret)}, mine)

    assert answer == {"mfa_enabled": True}
    with pytest.raises(Unauthenticated):            # it would have become a full session without a code
        permissions.resolve(someone_elses)
    assert permissions.resolve(mine)["mfa_enrolment_required"] is False
    [enabled] = [event for event in events if event["type"] == "user.mfa_enabled"]
    [invalidated] = [event for event in events if event["type"] == "principal.invalidated"]
    assert enabled["data"]["sessions_ended"] == 1 and len(invalidated["data"]["session_ids"]) == 1


def test_confirming_mfa_without_naming_the_session_ends_them_all(permissions, pending):
    token, caller = permissions.signed_in(pending["username"])
    secret = permissions.run(caller, auth.enrol_mfa)[0]["secret"]
    permissions.run(caller, auth.confirm_mfa, {"otp": code(secret)})
    with pytest.raises(Unauthenticated):
        permissions.resolve(token)


def test_a_totp_code_is_accepted_once(permissions, pending):
    secret = enrolled(permissions, pending)         # confirmed with the current code
    username = pending["username"]
    with pytest.raises(MfaRequired):                # the very code that confirmed it
        permissions.sign_in(username, otp=code(secret))
    with pytest.raises(MfaRequired):                # an earlier one, still inside the drift window
        permissions.sign_in(username, otp=code(secret, -1))
    assert permissions.sign_in(username, otp=code(secret, 1))["token"]     # the next one: once
    with pytest.raises(MfaRequired):
        permissions.sign_in(username, otp=code(secret, 1))
    failures = permissions.events("user.login_failed", pending["id"])
    assert [event["data"]["reason"] for event in failures] == ["wrong_otp"] * 3     # counted like wrong codes
    clock.advance(2 * STEP)                         # later codes keep working
    assert permissions.sign_in(username, otp=code(secret))["token"]


def test_a_replayed_code_cannot_confirm_a_fresh_enrolment_either(permissions, pending):
    token, caller = permissions.signed_in(pending["username"])
    secret = permissions.run(caller, auth.enrol_mfa)[0]["secret"]
    assert permissions.read(caller, auth.pending_mfa)["secret"] == secret          # reading changes nothing
    assert permissions.read(caller, auth.pending_mfa)["secret"] == secret
    with pytest.raises(ValidationFailed):
        permissions.run(caller, auth.confirm_mfa, {"otp": code(secret, -3)}, token)   # outside the window
    permissions.run(caller, auth.confirm_mfa, {"otp": code(secret)}, token)
    assert permissions.read(caller, auth.pending_mfa) is None                     # done: nothing pending


def test_a_wrong_current_password_counts_towards_the_lockout(permissions):
    organisation = permissions.organisation()
    person = permissions.user(organisation, teams=[(permissions.team(organisation), "practitioner")])
    token, caller = permissions.signed_in(person["username"])
    change = {"current_password": "not-my-password-at-all", "new_password": "a-brand-new-passphrase-7"}
    for _ in range(permissions.settings.lockout_threshold):
        with pytest.raises(ValidationFailed) as refused:
            permissions.run(caller, logic.change_password, permissions.settings, person["id"], change)
        assert "current_password" in refused.value.errors
    reasons = [event["data"]["reason"] for event in permissions.events("user.login_failed", person["id"])]
    assert reasons == ["wrong_current_password"] * permissions.settings.lockout_threshold
    assert permissions.events("user.locked_out", person["id"])
    with pytest.raises(TooManyRequests):             # locked, like after five failed sign-ins
        permissions.sign_in(person["username"])
    with pytest.raises(TooManyRequests):             # and no more guessing here either, even when right
        permissions.run(caller, logic.change_password, permissions.settings, person["id"],
                        {**change, "current_password": PASSWORD})
    assert permissions.resolve(token)["id"] == person["id"]        # the session itself goes on
