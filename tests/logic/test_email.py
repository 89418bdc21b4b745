"""E-mail for notifications (services/notifications/rules.py, emails.py) against a real PostgreSQL database and a
real SMTP server (concord_common.mailcatcher, aiosmtpd, in its own process): the rules table, preferences, the
digest, two workers sharing the outbox, retries and giving up, STARTTLS with AUTH — and no record content in any
e-mail, for every rule. The permissions service's answer (who is in a team, their addresses) is `directory`."""
import uuid

import eventlet
import pytest
from sqlalchemy import select, text, update

from concord_common.context import Caller, new_request_id
from concord_common.db import unit_of_work
from concord_common.errors import Forbidden, ValidationFailed
from services.notifications import emails, logic, rules
from services.notifications.models import OutgoingEmail
from tests.mail import MailCatcher


# Record content seeded everywhere an event carries it: none of these may reach an e-mail.
SECRETS = ("Zebedee", "Quixote", "Marchbanks", "QX-2026-0042", "Drugs den", "Hollyoak")
PERSON = "Zebedee Quixote"
CASE = {"type": "case", "id": str(uuid.uuid4())}
PROFILE = {"type": "profile", "id": str(uuid.uuid4())}
TEAM_A, TEAM_B = str(uuid.uuid4()), str(uuid.uuid4())
ANN, BEN, CAL, DOT = (str(uuid.uuid4()) for _ in range(4))       # Ann and Ben in team A; Ben and Cal in team B
OWNER = {"organisation_id": str(uuid.uuid4()), "team_id": TEAM_A}
ACTION = {"id": str(uuid.uuid4()), "title": f"Visit {PERSON} at Hollyoak", "due": "2026-12-24",
          "assignee": {"user_id": ANN, "team_id": TEAM_A}}
COMMON = {"record": CASE, "owner": OWNER, "reference": "QX-2026-0042", "display_name": PERSON,
          "reason": f"{PERSON} was seen at the Drugs den", "title": f"{PERSON} — Drugs den"}

# One event per rule that tells someone (every rule must have one: see test_every_rule_has_a_sample).
SAMPLES = {
    "case.action_set": {**COMMON, "action": ACTION},
    "case.action_reminder_sent": {**COMMON, "action": ACTION, "reminder": "overdue"},
    "access_request.requested": {**COMMON},
    "access_request.approved": {**COMMON, "requester_id": BEN, "level": "view"},
    "access_request.denied": {**COMMON, "requester_id": BEN},
    "record.transfer_requested": {**COMMON, "to_team_id": TEAM_B},
    "record.transferred": {**COMMON, "from_team_id": TEAM_A},
    "record.transfer_rejected": {**COMMON, "from_team_id": TEAM_A},
    "case.owner_changed": {**COMMON},
    "case.shared": {**COMMON, "grant": {"grantee_type": "team", "grantee_id": TEAM_B, "level": "edit"}},
    "case.agenda_added": {**COMMON, "meeting": {"title": f"Marchbanks panel on {PERSON}",
                                                 "starts_at": "2026-12-20T10:00:00Z"},
                          "attendee_team_ids": [TEAM_A, TEAM_B], "access_until": "2027-01-20"},
    "mash.referral_received": {**COMMON},
    "mash.research_requested": {**COMMON, "request": {"team_id": TEAM_B, "due": "2026-12-08T12:00:00Z",
                                                      "question": f"What do you know of {PERSON}?"}},
    "mash.research_reminder_sent": {**COMMON, "reminder": "overdue", "request": {"team_id": TEAM_B,
                                                                                  "due": "2026-12-08T12:00:00Z"}},
    "mash.research_answered": {**COMMON},
    "mash.decided": {**COMMON, "outcome_words": f"Strategy meeting for {PERSON}", "referrer_team_ids": [TEAM_B],
                     "research_closed_team_ids": [TEAM_A]},
    "case.action_cancelled": {**COMMON, "action": ACTION, "case_closed": True},
    "case.review_due": {**COMMON, "review_due": "2026-12-10"},
    "case.risk_assessed": {**COMMON, "assessment": {"level": "high"}},
    "case.power_breached": {**COMMON, "power": {"power": "civil_injunction"}},
    "case.community_trigger_activated": {**COMMON, "notify_team": True,
                                         "activation": {"review_due": "2026-12-18"}},
    "profile.break_glass": {**COMMON, "record": PROFILE},
    "team.member_added": {**COMMON, "administrator": True, "role": "member", "team_name": "Marchbanks team",
                          "overseer_ids": [CAL]},
    "team.own_membership_refused": {**COMMON, "team_name": "Marchbanks team", "change": "role",
                                    "overseer_ids": [CAL]},
}


def directory(user_ids, team_ids):
    """As permissions.email_recipients answers: active people with an address (Dot has none)."""
    addresses = {ANN: "ann@example.org", BEN: "ben@example.org", CAL: "cal@example.org"}
    members = {TEAM_A: [ANN, BEN, DOT], TEAM_B: [BEN, CAL]}
    return {"users": [{"id": u, "email": addresses[u]} for u in user_ids if u in addresses],
            "teams": {t: [{"id": u, "email": addresses[u]} for u in members.get(t, []) if u in addresses]
                      for t in team_ids}}


def person(user_id):
    return Caller(kind="user", id=user_id, organisation_id=OWNER["organisation_id"])


@pytest.fixture
def db(notifications_db):
    return notifications_db


@pytest.fixture
def catcher(tmp_path):
    with MailCatcher(tmp_path / "mail") as server:
        yield server


def settings_for(url, **overrides):
    return emails.EmailSettings.from_config({"SMTP_URL": url, "PUBLIC_URL": "https://concord.example.org",
                                             "EMAIL_FROM": "Concord <concord@example.org>",
                                             "EMAIL_RETRY_SECONDS": 0.2, "EMAIL_RETRY_MAX_SECONDS": 0.2,
                                             **overrides})


def tell(db, event_type, data, email=True):
    event = {"id": str(uuid.uuid4()), "type": event_type, "data": data}
    with unit_of_work(db, "notifications", None, new_request_id()) as uow:
        logic.tell(uow, event, email)
    return event


def resolve(db, settings):
    with unit_of_work(db, "notifications", None, new_request_id()) as uow:
        return emails.resolve(uow, settings, directory)


def rows(db, **where):
    with db.connect() as conn:
        query = select(OutgoingEmail.__table__)
        for column, value in where.items():
            query = query.where(OutgoingEmail.__table__.c[column] == value)
        return conn.execute(query).all()


def set_prefs(db, user_id, payload):
    with unit_of_work(db, "notifications", person(user_id), new_request_id()) as uow:
        return emails.set_preferences(uow, payload)


# -- the rules table --------------------------------------------------------------------------------------------
def test_every_rule_has_a_sample_and_every_sample_tells_someone():
    assert {rule.event for rule in rules.RULES} - {"*.break_glass"} | {"profile.break_glass"} == set(SAMPLES)
    for event_type, data in SAMPLES.items():
        assert rules.notices_for(event_type, data), event_type
        assert rules.rule_for(event_type).kind in rules.KINDS


def test_the_issue_s_list_is_covered_by_rules():
    for event_type in ("case.action_set", "case.action_reminder_sent", "case.shared", "record.transfer_requested",
                       "record.transferred", "access_request.requested", "access_request.approved",
                       "access_request.denied", "case.break_glass", "profile.break_glass", "case.agenda_added",
                       "mash.research_requested", "case.community_trigger_activated"):
        assert rules.rule_for(event_type) is not None, event_type
    assert rules.rule_for("case.viewed") is None and rules.notices_for("case.viewed", COMMON) == []


def test_subjects_are_fixed_words_and_email_words_name_nothing():
    for event_type, data in SAMPLES.items():
        rule = rules.rule_for(event_type)
        for _, _, title, _ in rule.notices(event_type, data):
            assert not any(secret in title for secret in SECRETS), (event_type, title)
        assert not any(secret in rule.email for secret in SECRETS)


# -- no record content, for every rule ---------------------------------------------------------------------------
def test_no_email_of_any_rule_carries_record_content(db, catcher):
    settings = settings_for(catcher.url)
    for event_type, data in SAMPLES.items():
        tell(db, event_type, data)
    resolve(db, settings)
    set_prefs(db, CAL, {"email": "daily"})            # Cal's come as a digest: check its words too
    assert rows(db, status="pending")
    with db.begin() as conn:                           # Cal's rows predate the preference: digest them anyway
        conn.execute(update(OutgoingEmail.__table__).where(OutgoingEmail.__table__.c.user_id == CAL)
                     .values(status="digest"))
    with unit_of_work(db, "notifications", None, new_request_id()) as uow:
        assert emails.make_digests(uow) == 1
    while emails.send_due(db, settings)["sent"]:
        pass
    sent = rows(db, status="sent")
    messages = catcher.wait_for(len(sent))
    assert len(messages) == len(sent) > len(SAMPLES)
    for message in messages:
        raw = message.as_string()
        found = [secret for secret in SECRETS if secret.lower() in raw.lower()]
        assert not found, (message["Subject"], found)
        assert "https://concord.example.org/" in raw            # and each links to what happened
    digest = [m for m in messages if "daily summary" in m["Subject"]]
    assert len(digest) == 1 and digest[0]["To"] == "cal@example.org"
    # The in-app notifications do carry what the recipient may see (the e-mail uses its own words).
    with db.connect() as conn:
        bodies = " ".join(conn.execute(text("SELECT body FROM notifications")).scalars())
    assert "Visit Zebedee Quixote" in bodies


def test_an_email_says_what_happened_and_links_to_the_record(db, catcher):
    settings = settings_for(catcher.url)
    tell(db, "case.action_set", SAMPLES["case.action_set"])
    resolve(db, settings)
    emails.send_due(db, settings)
    [message] = catcher.wait_for(1)
    assert message["To"] == "ann@example.org" and message["Subject"] == "Concord: An action was set for you"
    body = message.get_content()
    assert "An action on a case was set for you" in body and f"https://concord.example.org/cases/{CASE['id']}" in body
    [row] = rows(db, status="sent")
    assert message["Message-ID"] == f"<{row.id}@example.org>"


# -- recipients --------------------------------------------------------------------------------------------------
def test_a_team_is_expanded_to_its_members_with_addresses_once_per_person_per_event(db, catcher):
    settings = settings_for(catcher.url)
    tell(db, "case.agenda_added", SAMPLES["case.agenda_added"])          # teams A and B: Ben is in both
    tell(db, "access_request.approved", {**COMMON, "requester_id": DOT})  # Dot has no address
    assert resolve(db, settings) == 3
    people = sorted(row.user_id for row in rows(db, status="pending"))
    assert people == sorted([ANN, BEN, CAL])
    assert {row.status for row in rows(db) if row.parent_id is None} == {"expanded"}


def test_without_an_smtp_server_emails_are_skipped_not_kept(db):
    tell(db, "case.action_set", SAMPLES["case.action_set"])
    resolve(db, settings_for(None))
    assert [row.status for row in rows(db)] == ["skipped"]


def test_in_app_only_writes_no_email(db):
    tell(db, "case.action_set", SAMPLES["case.action_set"], email=False)
    assert rows(db) == []


# -- preferences ---------------------------------------------------------------------------------------------------
def test_preferences_default_to_immediately_and_are_per_kind(db):
    with db.connect() as conn:
        from sqlalchemy.orm import Session
        with Session(bind=conn) as session:
            assert emails.get_preferences(session, person(ANN)) == {
                "email": "immediate", "kinds": {kind: "immediate" for kind in rules.KINDS}}
    answer = set_prefs(db, ANN, {"email": "off", "kinds": {"actions": "daily", "security": "immediate"}})
    assert answer["email"] == "off" and answer["kinds"]["actions"] == "daily"
    assert answer["kinds"]["security"] == "immediate" and answer["kinds"]["mash"] == "off"


@pytest.mark.parametrize("payload, field", [
    ({"email": "weekly"}, "email"), ({}, "email"), ({"email": "daily", "kinds": {"gossip": "off"}}, "kinds.gossip"),
    ({"email": "daily", "kinds": {"actions": "sometimes"}}, "kinds.actions"), ({"email": "off", "extra": 1}, "extra"),
    ({"email": "off", "kinds": ["actions"]}, "kinds"), (["email"], "_schema")])
def test_bad_preferences_are_refused_naming_the_field_and_nothing_is_written(db, payload, field):
    with pytest.raises(ValidationFailed) as refused:
        set_prefs(db, ANN, payload)
    assert field in refused.value.errors
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM email_preferences")).scalar() == 0


def test_only_a_person_has_preferences(db):
    for caller in (Caller(kind="system", id="system"), Caller(kind="client", id="c-1")):
        with pytest.raises(Forbidden):
            with unit_of_work(db, "notifications", caller, new_request_id()) as uow:
                emails.set_preferences(uow, {"email": "off"})


def test_each_preference_decides_what_happens_to_that_kind(db, catcher):
    settings = settings_for(catcher.url)
    set_prefs(db, ANN, {"email": "immediate", "kinds": {"meetings": "daily"}})
    set_prefs(db, BEN, {"email": "off"})
    set_prefs(db, CAL, {"email": "daily", "kinds": {"meetings": "immediate"}})
    tell(db, "case.agenda_added", SAMPLES["case.agenda_added"])          # meetings: Ann, Ben, Cal
    tell(db, "case.action_set", SAMPLES["case.action_set"])              # actions: Ann
    resolve(db, settings)
    status = {(row.user_id, row.kind): row.status for row in rows(db) if row.user_id}
    assert status == {(ANN, "meetings"): "digest", (BEN, "meetings"): "skipped", (CAL, "meetings"): "pending",
                      (ANN, "actions"): "pending"}


# -- the daily digest --------------------------------------------------------------------------------------------
def test_the_digest_is_one_email_per_person_grouped_by_kind(db, catcher):
    settings = settings_for(catcher.url)
    set_prefs(db, ANN, {"email": "daily"})
    set_prefs(db, BEN, {"email": "daily"})
    for event_type in ("case.action_set", "case.review_due", "case.agenda_added", "case.power_breached"):
        tell(db, event_type, SAMPLES[event_type])
    resolve(db, settings)
    waiting = {user: len(rows(db, status="digest", user_id=user)) for user in (ANN, BEN, CAL)}
    assert waiting == {ANN: 4, BEN: 3, CAL: 0}
    with unit_of_work(db, "notifications", None, new_request_id()) as uow:
        assert emails.make_digests(uow) == 2
    with unit_of_work(db, "notifications", None, new_request_id()) as uow:
        assert emails.make_digests(uow) == 0                               # nothing left: nothing twice
    assert not rows(db, status="digest") and len(rows(db, status="digested")) == 7
    emails.send_due(db, settings)
    messages = {m["To"]: m for m in catcher.wait_for(3)}                   # Ann's digest, Ben's, Cal's meeting
    body = messages["ann@example.org"].get_content()
    assert messages["ann@example.org"]["Subject"] == "Concord: Your daily summary: 4 notifications"
    sections = [rules.KINDS[k] for k in ("actions", "meetings", "cases")]
    assert [body.index(s) for s in sections] == sorted(body.index(s) for s in sections)
    assert body.count("https://concord.example.org/cases/") == 4
    assert "{PUBLIC_URL}" not in body


# -- the outbox: claiming, retrying, giving up --------------------------------------------------------------------
def test_two_workers_share_the_outbox_and_send_each_email_once(db, catcher):
    settings = settings_for(catcher.url)
    for _ in range(15):
        tell(db, "case.agenda_added", SAMPLES["case.agenda_added"])      # 3 people each: 45 e-mails
    resolve(db, settings)
    assert len(rows(db, status="pending")) == 45
    workers = [eventlet.spawn(emails.send_due, db, settings) for _ in range(2)]
    counts = [worker.wait() for worker in workers]
    assert sum(count["sent"] for count in counts) == 45
    messages = catcher.wait_for(45)
    assert len(messages) == 45 and len({m["Message-ID"] for m in messages}) == 45
    assert len(rows(db, status="sent")) == 45 and all(row.attempts == 1 for row in rows(db, status="sent"))
    assert emails.send_due(db, settings)["sent"] == 0


def test_a_refusing_server_delays_the_email_then_it_is_sent_once(db, catcher):
    settings = settings_for(catcher.url)
    tell(db, "case.action_set", SAMPLES["case.action_set"])
    resolve(db, settings)
    catcher.refuse()
    assert emails.send_due(db, settings) == {"sent": 0, "retrying": 1, "failed": 0}
    [row] = rows(db, status="pending")
    assert row.attempts == 1 and "451" in row.last_error
    assert emails.send_due(db, settings)["retrying"] == 0                  # not due yet: the backoff holds it
    catcher.refuse(False)
    eventlet.sleep(0.3)
    assert emails.send_due(db, settings)["sent"] == 1
    assert len(catcher.wait_for(1)) == 1 and rows(db, status="sent")[0].attempts == 2
    eventlet.sleep(0.3)
    assert emails.send_due(db, settings)["sent"] == 0 and len(catcher.messages()) == 1


def test_a_server_that_is_down_delays_the_email(db, catcher):
    settings = settings_for(catcher.url)
    tell(db, "case.action_set", SAMPLES["case.action_set"])
    resolve(db, settings)
    catcher.stop()
    assert emails.send_due(db, settings)["retrying"] == 1
    catcher.start()
    eventlet.sleep(0.3)
    assert emails.send_due(db, settings)["sent"] == 1 and len(catcher.wait_for(1)) == 1


def test_after_the_last_attempt_it_is_failed_and_operators_see_it(db, catcher, caplog):
    settings = settings_for(catcher.url, EMAIL_MAX_ATTEMPTS=2)
    tell(db, "case.action_set", SAMPLES["case.action_set"])
    tell(db, "access_request.approved", SAMPLES["access_request.approved"])
    resolve(db, settings)
    catcher.refuse()
    emails.send_due(db, settings)
    eventlet.sleep(0.3)
    with caplog.at_level("WARNING"):
        outcomes = [emails.send_due(db, settings) for _ in range(3)]
    assert sum(o["failed"] for o in outcomes) >= 1
    assert any("failed for good" in record.getMessage() for record in caplog.records)
    with db.connect() as conn:
        gauges = {name: value for name, _, value in emails.ops_gauges(conn)}
    assert gauges["concord_email_failed"] >= 1
    assert gauges["concord_email_pending"] == len(rows(db, status="pending"))
    # A row too old is given up on at its next failure, whatever its attempts.
    with db.begin() as conn:
        conn.execute(text("UPDATE outgoing_emails SET created_at = now() - interval '25 hours', attempts = 0, "
                          "next_attempt_at = now() WHERE status = 'pending'"))
    emails.send_due(db, settings_for(catcher.url))
    assert not rows(db, status="pending") and len(rows(db, status="failed")) == 2
    assert catcher.messages() == []


def test_starttls_with_authentication(db, tmp_path):
    with MailCatcher(tmp_path / "tls-mail", auth="concord:s3cret word", tls=True) as server:
        url = server.url.replace("s3cret word", "s3cret%20word")
        settings = settings_for(url)
        assert settings.smtp.tls == "starttls" and settings.smtp.password == "s3cret word"
        tell(db, "case.action_set", SAMPLES["case.action_set"])
        resolve(db, settings)
        assert emails.send_due(db, settings)["sent"] == 1
        assert len(server.wait_for(1)) == 1
        tell(db, "case.action_set", SAMPLES["case.action_set"])
        resolve(db, settings)
        wrong = settings_for(url.replace("s3cret%20word", "guess"))
        assert emails.send_due(db, wrong) == {"sent": 0, "retrying": 1, "failed": 0}
        assert "Authentication" in rows(db, status="pending")[0].last_error


@pytest.mark.parametrize("url, tls, port", [
    ("smtp://mail.example.org", "none", 25), ("smtp://u:p@mail.example.org:2525?starttls=1", "starttls", 2525),
    ("smtp+starttls://u:p@mail.example.org", "starttls", 587), ("smtps://u:p@mail.example.org", "implicit", 465)])
def test_smtp_urls(url, tls, port):
    parsed = emails.EmailSettings.from_config({"SMTP_URL": url}).smtp
    assert (parsed.tls, parsed.port, parsed.host) == (tls, port, "mail.example.org")
    assert "p@" not in parsed.describe()


def test_a_bad_smtp_url_is_refused():
    with pytest.raises(ValidationFailed):
        emails.EmailSettings.from_config({"SMTP_URL": "http://mail.example.org"})
