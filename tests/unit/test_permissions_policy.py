"""The permissions service's rules that need no broker or database."""
from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from concord_common import clock
from concord_common.context import Caller
from concord_common.errors import Unauthenticated, ValidationFailed, load_or_fail
from services.permissions import mfa, passwords
from services.permissions.access import SYSTEM_ACTOR, Actor, actor_for
from services.permissions.auth import Outcome, token_hash
from services.permissions.schema_parts import utc
from services.permissions.schemas import (ApiClientCreateSchema, OrganisationCreateSchema, PasswordChangeSchema,
                                          UserCreateSchema)
from services.permissions.settings import Settings

ORG = "9a1f1c8e-3d0b-4f7e-9d1c-2b8a6b0c1d2e"


@pytest.fixture
def moved_clock():
    yield clock.advance
    clock.reset()


# -- passwords -------------------------------------------------------------------
def test_the_common_list_is_the_zxcvbn_thirty_thousand_loaded_once():
    common = passwords.common_passwords()
    assert len(common) == 30000 and passwords.common_passwords() is common
    assert {"123456", "password", "1qaz2wsx3edc"} <= common


@pytest.mark.parametrize("password,username,problem", [
    ("short-pw", None, "at least 12"),
    ("PASSWORD1234", None, "too common"),          # checked case-insensitively
    ("1qaz2wsx3edc", None, "too common"),
    ("Alex.Morgan.01", "alex.morgan.01", "same as the username"),
])
def test_weak_passwords_are_refused_with_a_reason(password, username, problem):
    problems = passwords.password_problems(password, username)
    assert any(problem in text for text in problems), problems


def test_a_long_uncommon_password_passes_and_the_minimum_is_a_setting():
    assert passwords.password_problems("concord-demo-password", "someone") == []
    assert passwords.password_problems("eleven-char", None, min_length=11) == []
    assert passwords.password_problems("eleven-char", None, min_length=12)


def test_hashes_are_argon2id_and_verify_only_the_right_password():
    hashed = passwords.hash_password("a-perfectly-fine-passphrase")
    assert hashed.startswith("$argon2id$") and "a-perfectly-fine-passphrase" not in hashed
    assert passwords.verify_password(hashed, "a-perfectly-fine-passphrase")
    assert not passwords.verify_password(hashed, "a-perfectly-fine-passphras")
    assert not passwords.verify_password(None, "anything at all")          # unknown user: dummy work, False
    assert not passwords.verify_password("not-a-hash", "anything at all")


# -- one-time codes ------------------------------------------------------------------
def test_totp_accepts_the_current_and_adjacent_codes_only(moved_clock):
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = clock.now()
    assert mfa.otp_is_valid(secret, totp.at(now))
    assert mfa.otp_is_valid(secret, totp.at(now - timedelta(seconds=30)))      # one step of drift
    assert not mfa.otp_is_valid(secret, totp.at(now - timedelta(seconds=90)))
    code = totp.at(now)
    moved_clock(timedelta(minutes=5))                                          # the service's clock moved on
    assert not mfa.otp_is_valid(secret, code)
    assert mfa.otp_is_valid(secret, totp.at(clock.now()))


@pytest.mark.parametrize("otp", [None, "", "12345", "abcdef", 123456, "1234567"])
def test_totp_refuses_what_is_not_a_six_digit_code(otp):
    assert not mfa.otp_is_valid(mfa.new_secret(), otp)


def test_totp_with_no_secret_is_never_valid():
    assert not mfa.otp_is_valid(None, "123456")


def test_the_provisioning_uri_names_concord_and_the_user():
    uri = mfa.provisioning_uri(mfa.new_secret(), "jo.bloggs")
    assert uri.startswith("otpauth://totp/Concord:jo.bloggs?") and "issuer=Concord" in uri


# -- schemas -------------------------------------------------------------------------
def errors_of(schema, payload, checks=None) -> dict:
    with pytest.raises(ValidationFailed) as failed:
        load_or_fail(schema, payload, checks)
    return failed.value.errors


def test_user_schema_names_every_bad_field():
    errors = errors_of(UserCreateSchema(), {
        "username": "x", "email": "nope", "password": "password", "organisation_id": "abc",
        "teams": [{"team_id": ORG, "role": "chief"}, {"team_id": ORG, "role": "spoc"}], "roles": ["root"]})
    assert set(errors) == {"username", "display_name", "email", "password", "organisation_id", "teams.0.role",
                           "teams.1.team_id", "roles.0"}
    assert any("more than once" in message for message in errors["teams.1.team_id"])


def test_user_schema_accepts_a_good_user_and_trims_names():
    data = load_or_fail(UserCreateSchema(), {
        "username": " jo.bloggs ", "display_name": " Jo Bloggs ", "email": "jo@example.org",
        "password": "concord-demo-password", "organisation_id": ORG})
    assert data["username"] == "jo.bloggs" and data["display_name"] == "Jo Bloggs"
    assert data["teams"] == [] and data["roles"] == []


def test_password_policy_uses_the_configured_minimum_and_the_username():
    assert set(errors_of(UserCreateSchema(password_min_length=30), {
        "username": "jo.bloggs", "display_name": "Jo", "email": "jo@example.org",
        "password": "concord-demo-password", "organisation_id": ORG})) == {"password"}
    assert set(errors_of(PasswordChangeSchema(username="jo.bloggs.leeds"),
                         {"new_password": "JO.BLOGGS.LEEDS"})) == {"new_password"}


def test_organisation_and_client_schemas():
    assert set(errors_of(OrganisationCreateSchema(), {"name": "", "type": "bank"})) == {"name", "type", "area"}
    assert load_or_fail(OrganisationCreateSchema(), {"name": "A", "type": "fire", "area": "B"})["require_mfa"] is True
    assert set(errors_of(ApiClientCreateSchema(), {"name": "x", "organisation_id": ORG,
                                                   "scopes": ["cases:read", "cases:delete"]})) == {"scopes.1"}


def test_database_checks_join_the_schema_errors():
    errors = errors_of(OrganisationCreateSchema(), {"name": "Taken", "type": "bank", "area": "x"},
                       lambda data: {"name": ["taken"]} if data.get("name") == "Taken" else {})
    assert errors == {"type": ["Must be one of: police, council, housing, education, health, fire, probation, "
                               "youth_offending, charity, other."], "name": ["taken"]}


# -- settings, tokens, access ----------------------------------------------------------
def test_settings_come_from_config_with_defaults():
    settings = Settings.from_config({"SESSION_IDLE_MINUTES": 10, "LOCKOUT_THRESHOLD": "3"})
    assert settings.session_idle == timedelta(minutes=10) and settings.lockout_threshold == 3
    assert settings.session_absolute == timedelta(hours=12) and settings.password_min_length == 12
    assert settings.client_token_lifetime == timedelta(seconds=900)


def test_only_a_digest_of_a_token_is_kept():
    digest = token_hash("abc")
    assert len(digest) == 64 and digest != "abc" and digest == token_hash("abc")


def test_a_refusal_is_raised_only_when_asked():
    refused = Outcome(error=Unauthenticated("no"))
    with pytest.raises(Unauthenticated):
        refused.result()
    assert Outcome({"ok": 1}).result() == {"ok": 1}


def test_who_administers_what():
    org_admin = Actor("user", "u1", "org-a", frozenset({"org_admin"}), {"t1": "practitioner"})
    spoc = Actor("user", "u2", "org-a", frozenset(), {"t1": "spoc", "t2": "practitioner"})

    class Team:
        def __init__(self, id, organisation_id):
            self.id, self.organisation_id = id, organisation_id

    assert org_admin.is_org_admin("org-a") and not org_admin.is_org_admin("org-b")
    assert org_admin.manages_team(Team("t9", "org-a")) and not org_admin.manages_team(Team("t9", "org-b"))
    assert spoc.manages_team(Team("t1", "org-a")) and not spoc.manages_team(Team("t2", "org-a"))
    assert SYSTEM_ACTOR.is_system_admin and SYSTEM_ACTOR.is_org_admin("anything")
    assert spoc.sees_organisation("org-a") and not spoc.sees_organisation("org-b")


def test_anonymous_callers_are_unauthenticated_before_any_lookup():
    with pytest.raises(Unauthenticated):
        actor_for(None, Caller())
    with pytest.raises(Unauthenticated):
        actor_for(None, Caller(kind="user", id="not-a-uuid"))
    assert actor_for(None, Caller(kind="system")) is SYSTEM_ACTOR


def test_dates_go_out_as_utc_with_a_z():
    moment = datetime(2026, 11, 26, 11, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    assert utc(moment) == "2026-11-26T10:00:00.123Z"
