"""E-mail for notifications, through an outbox (docs/notifications.md). No nameko here.

1. `tell_with_email` — in the very statement that stores a notification (in the event handler's transaction),
   one `outgoing_emails` row addressed as the notification is (a person or a team): status `new`. Nothing
   leaves the database here, so a mail server that is down cannot fail or slow the event's handling.
2. `resolve` — the sender loop asks the permissions service (as the notifications service itself) for the
   active members and e-mail addresses of those people and teams, and expands each `new` row into one row per
   person (one per person per event, even if two of their teams are told), whose status follows that person's
   preference for the rule's kind: `pending` (immediately), `digest` (daily) or `skipped` (off). Disabled people
   and people without an address get no row.
3. `send_due` — one transaction per e-mail: claim a due `pending` row with SELECT … FOR UPDATE SKIP LOCKED, send
   it, mark it `sent`, commit. The row stays locked while it is sent, so two replicas never both send it; a
   refusal or an absent server leaves it `pending` with a later `next_attempt_at` (backoff), and after
   EMAIL_MAX_ATTEMPTS tries or EMAIL_GIVE_UP_HOURS it is `failed` (a log line; concord_email_failed).
   The one window: the server accepted the message and the process died (or the database went away) before
   the commit — then it is sent again, with the same Message-ID, which mail systems use to drop duplicates.
4. `make_digests` — once a day (a scheduled job: one replica per tick) each person's `digest` rows become one
   e-mail, sent as in 3.
"""
import json
import logging
import smtplib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from concord_common import ops_metrics
from concord_common.errors import Forbidden, ValidationFailed
from concord_common.logs import INSTANCE
from services.notifications.models import EmailPreference, OutgoingEmail
from services.notifications.rules import KINDS, link_for
from services.notifications.smtp import Mailer, SmtpSettings, parse_url

log = logging.getLogger(__name__)

CHOICES = ("immediate", "daily", "off")
DEFAULT_CHOICE = "immediate"
STATUS_FOR = {"immediate": "pending", "daily": "digest", "off": "skipped"}
PUBLIC_URL_MARK = "{PUBLIC_URL}"          # in a stored body; the sender puts PUBLIC_URL there
DIGEST_KIND = "digest"
DIGEST_MAX_LINES = 100


@dataclass(frozen=True)
class EmailSettings:
    smtp: SmtpSettings | None             # None: no SMTP_URL, e-mail is off for everyone
    public_url: str
    sender: str
    retry_seconds: float
    retry_max_seconds: float
    max_attempts: int
    give_up_seconds: float
    batch: int

    @classmethod
    def from_config(cls, config: dict) -> "EmailSettings":
        url = config.get("SMTP_URL")
        return cls(smtp=parse_url(str(url)) if url else None,
                   public_url=str(config.get("PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
                   sender=str(config.get("EMAIL_FROM") or "Concord <concord@localhost>"),
                   retry_seconds=float(config.get("EMAIL_RETRY_SECONDS") or 30),
                   retry_max_seconds=float(config.get("EMAIL_RETRY_MAX_SECONDS") or 3600),
                   max_attempts=int(config.get("EMAIL_MAX_ATTEMPTS") or 30),
                   give_up_seconds=float(config.get("EMAIL_GIVE_UP_HOURS") or 24) * 3600,
                   batch=int(config.get("EMAIL_BATCH") or 100))

    def backoff(self, attempts: int) -> float:
        return min(self.retry_max_seconds, self.retry_seconds * 2 ** max(0, attempts - 1))


# -- 1. queue, with the notification ---------------------------------------------------------------------------
# The notifications of one event (and an e-mail for each), in one statement: built once (a text statement whose
# compiled form is cached), the rows travel as one JSON array. Measured in bench/email_bench.py.
_INSERT_NOTIFICATIONS = """
        INSERT INTO notifications (id, recipient_type, recipient_id, kind, title, body, record_type, record_id,
                                   event_id)
        SELECT id, recipient_type, recipient_id, kind, title, body, record_type, record_id, event_id
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, recipient_type text, recipient_id text, kind text,
             title text, body text, record_type text, record_id text, event_id text)"""
_TELL = text(_INSERT_NOTIFICATIONS)
_TELL_WITH_EMAIL = text(f"""
    WITH written AS ({_INSERT_NOTIFICATIONS}
        RETURNING id, event_id, recipient_type, recipient_id, title)
    INSERT INTO outgoing_emails (id, event_id, notification_id, recipient_type, recipient_id, kind, subject, body,
                                 link, status)
    SELECT gen_random_uuid(), event_id, id, recipient_type, recipient_id, :kind, title, :body, :link, 'new'
    FROM written""")


def tell_in_app(session, rows: list[dict]) -> None:
    """Store an event's notifications (`rows`: the notifications table's columns) and no e-mail."""
    session.execute(_TELL, {"rows": json.dumps(rows)})


def tell_with_email(session, rows: list[dict], rule, record: dict) -> None:
    """Store an event's notifications (`rows`: the notifications table's columns) and, in the same statement, an
    e-mail for each: addressed as the notification is, in the rule's own words (never the in-app body), its
    subject the notification's fixed title."""
    session.execute(_TELL_WITH_EMAIL, {"rows": json.dumps(rows), "kind": rule.kind, "body": rule.email,
                                       "link": link_for(record)})


# -- preferences ------------------------------------------------------------------------------------------------
def _preferences(session, user_id: str) -> dict:
    row = session.get(EmailPreference, user_id)
    default = row.email if row else DEFAULT_CHOICE
    chosen = dict(row.kinds) if row else {}
    return {"email": default, "kinds": {kind: chosen.get(kind, default) for kind in KINDS}}


def get_preferences(session, caller, described: bool = False) -> dict:
    """The caller's e-mail preferences: `email` for every kind, and each kind's own (`kinds`)."""
    if caller.kind != "user":
        raise Forbidden("Only a person has e-mail preferences.")
    answer = _preferences(session, caller.id)
    if described:
        answer["descriptions"] = dict(KINDS)
    return answer


def check_preferences(payload) -> tuple[str, dict]:
    """(default, {kind: choice}) from a PUT body, or ValidationFailed naming each bad field."""
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.", {"_schema": ["Send a JSON object with `email`."]})
    errors: dict[str, list[str]] = {}
    choices = f"One of: {', '.join(CHOICES)}."
    for field in payload:
        if field not in ("email", "kinds"):
            errors[field] = ["Unknown field."]
    default = payload.get("email")
    if default not in CHOICES:
        errors["email"] = [choices if "email" in payload else "Missing data for required field. " + choices]
    kinds = payload.get("kinds", {})
    if not isinstance(kinds, dict):
        errors["kinds"] = ["An object of {kind: choice}."]
        kinds = {}
    for kind, choice in kinds.items():
        if kind not in KINDS:
            errors[f"kinds.{kind}"] = [f"Unknown kind of notification; one of: {', '.join(KINDS)}."]
        elif choice not in CHOICES:
            errors[f"kinds.{kind}"] = [choices]
    if errors:
        raise ValidationFailed("Your e-mail preferences have errors.", errors)
    return default, {kind: choice for kind, choice in kinds.items() if choice != default}


def set_preferences(uow, payload) -> dict:
    """Replace the caller's preferences: `email` for every kind, `kinds` for those that differ."""
    caller = uow.caller
    if caller is None or caller.kind != "user":
        raise Forbidden("Only a person has e-mail preferences.")
    default, kinds = check_preferences(payload)
    uow.session.execute(insert(EmailPreference).values(user_id=caller.id, email=default, kinds=kinds)
                        .on_conflict_do_update(index_elements=[EmailPreference.user_id],
                                               set_={"email": default, "kinds": kinds, "updated_at": func.now()}))
    return _preferences(uow.session, caller.id)


def _choices_of(session, user_ids) -> dict[str, dict]:
    rows = session.execute(select(EmailPreference).where(EmailPreference.user_id.in_(list(user_ids)))).scalars()
    return {row.user_id: {"email": row.email, "kinds": dict(row.kinds)} for row in rows}


def choice_for(choices: dict, user_id: str, kind: str) -> str:
    mine = choices.get(user_id)
    if mine is None:
        return DEFAULT_CHOICE
    return mine["kinds"].get(kind, mine["email"])


# -- 2. resolve: people and addresses ---------------------------------------------------------------------------
def resolve(uow, settings: EmailSettings, directory, limit: int = 500) -> int:
    """Expand `new` rows into one row per person. `directory(user_ids, team_ids)` is the permissions service's
    email_recipients: {"users": [{"id", "email"}], "teams": {team_id: [{"id", "email"}]}} of active people with
    an address. Returns how many rows were expanded; raises (rolls back, retried next time) if the directory
    cannot be asked."""
    session = uow.session
    rows = session.execute(select(OutgoingEmail).where(OutgoingEmail.status == "new")
                           .order_by(OutgoingEmail.created_at).limit(limit)
                           .with_for_update(skip_locked=True)).scalars().all()
    if not rows:
        return 0
    if settings.smtp is None:
        for row in rows:
            row.status, row.last_error = "skipped", "e-mail is off: SMTP_URL is not set"
        return len(rows)
    user_ids = sorted({row.recipient_id for row in rows if row.recipient_type == "user"})
    team_ids = sorted({row.recipient_id for row in rows if row.recipient_type == "team"})
    found = directory(user_ids, team_ids)
    people = {person["id"]: person["email"] for person in found.get("users") or ()}
    teams = {team_id: [(m["id"], m["email"]) for m in members]
             for team_id, members in (found.get("teams") or {}).items()}
    everyone = set(people) | {user_id for members in teams.values() for user_id, _ in members}
    choices = _choices_of(session, everyone)
    for row in rows:
        if row.recipient_type == "user":
            members = [(row.recipient_id, people[row.recipient_id])] if row.recipient_id in people else []
        else:
            members = teams.get(row.recipient_id) or []
        for user_id, address in members:
            status = STATUS_FOR[choice_for(choices, user_id, row.kind)]
            session.execute(insert(OutgoingEmail).values(
                id=str(uuid.uuid4()), event_id=row.event_id, notification_id=row.notification_id, parent_id=row.id,
                recipient_type="user", recipient_id=user_id, user_id=user_id, address=address, kind=row.kind,
                subject=row.subject, body=row.body, link=row.link, status=status, created_at=row.created_at,
                last_error="off in the person's preferences" if status == "skipped" else None,
            ).on_conflict_do_nothing())       # one e-mail per person per event
        row.status = "expanded"
    return len(rows)


# -- 3. send ----------------------------------------------------------------------------------------------------
def message_id(row_id: str, settings: EmailSettings) -> str:
    domain = settings.sender.rsplit("@", 1)[-1].strip(" >") or "concord"
    return f"<{row_id}@{domain}>"


def compose(row: OutgoingEmail, settings: EmailSettings) -> EmailMessage:
    """The message for one outbox row: its fixed words and links, never anything of a record's."""
    base = settings.public_url
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = row.address
    message["Subject"] = f"Concord: {row.subject}"
    message["Message-ID"] = message_id(row.id, settings)       # stable: a resend is recognisably the same
    message["Date"] = formatdate(row.created_at.timestamp() if row.created_at else None, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    body = row.body.replace(PUBLIC_URL_MARK, base)
    link = f"\n\n{base}{row.link}" if row.link else ""
    message.set_content(f"{body}{link}\n\n--\nYou get this e-mail because of your notification settings in "
                        f"Concord; change them at {base}/notifications/preferences\n")
    return message


def send_due(engine, settings: EmailSettings, mailer: Mailer | None = None, limit: int | None = None) -> dict:
    """Send due `pending` e-mails, one transaction each (claim, send, mark). Stops at the first failure (the
    server is probably away: the rest wait for the next round). Counts by outcome."""
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    if settings.smtp is None:
        return counts
    mailer = mailer or Mailer(settings.smtp)
    try:
        for _ in range(limit or settings.batch):
            with Session(engine) as session, session.begin():
                row = session.execute(select(OutgoingEmail).where(OutgoingEmail.status == "pending",
                                                                  OutgoingEmail.next_attempt_at <= func.now())
                                      .order_by(OutgoingEmail.next_attempt_at).limit(1)
                                      .with_for_update(skip_locked=True)).scalar_one_or_none()
                if row is None:
                    break
                row.attempts += 1
                try:
                    mailer.send(compose(row, settings))
                except (smtplib.SMTPException, OSError) as exc:
                    counts[_failed(session, row, settings, exc)] += 1
                    break
                row.status, row.sent_at, row.sent_by, row.last_error = "sent", func.now(), INSTANCE, None
                counts["sent"] += 1
    finally:
        mailer.close()
    return counts


def _failed(session, row: OutgoingEmail, settings: EmailSettings, exc) -> str:
    error = f"{type(exc).__name__}: {exc}"[:500]
    age = session.execute(select(func.extract("epoch", func.now() - row.created_at))).scalar() or 0
    row.last_error = error
    if row.attempts >= settings.max_attempts or float(age) >= settings.give_up_seconds:
        row.status = "failed"
        log.warning("e-mail %s to user %s failed for good after %d attempts: %s", row.id, row.user_id,
                    row.attempts, error, extra={"fields": {"email_id": row.id, "user_id": row.user_id,
                                                           "attempts": row.attempts, "error": error}})
        return "failed"
    row.next_attempt_at = func.now() + timedelta(seconds=settings.backoff(row.attempts))
    log.info("e-mail %s not sent (attempt %d), retrying: %s", row.id, row.attempts, error,
             extra={"fields": {"email_id": row.id, "attempts": row.attempts, "error": error}})
    return "retrying"


# -- 4. the daily digest ----------------------------------------------------------------------------------------
def make_digests(uow, tick=None) -> int:
    """One e-mail per person from their `digest` rows (oldest first, grouped by kind). Returns how many."""
    session = uow.session
    rows = session.execute(select(OutgoingEmail).where(OutgoingEmail.status == "digest")
                           .order_by(OutgoingEmail.user_id, OutgoingEmail.created_at)
                           .with_for_update(skip_locked=True)).scalars().all()
    by_person: dict[str, list[OutgoingEmail]] = defaultdict(list)
    for row in rows:
        by_person[row.user_id].append(row)
    for user_id, items in by_person.items():
        digest_id = str(uuid.uuid4())
        session.add(OutgoingEmail(id=digest_id, recipient_type="user", recipient_id=user_id, user_id=user_id,
                                  address=items[-1].address, kind=DIGEST_KIND, status="pending",
                                  subject=f"Your daily summary: {len(items)} notification{'s' * (len(items) != 1)}",
                                  body=digest_body(items), link="/notifications"))
        session.flush()
        session.execute(update(OutgoingEmail).where(OutgoingEmail.id.in_([item.id for item in items]))
                        .values(status="digested", digest_id=digest_id))
    return len(by_person)


def digest_body(items) -> str:
    """What happened, by kind, each with its link: the rules' fixed words only."""
    lines = [f"Since your last summary, {len(items)} thing{'s' * (len(items) != 1)} happened in Concord "
             f"that you asked to hear about once a day:"]
    by_kind: dict[str, list] = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item)
    shown = 0
    for kind, description in KINDS.items():
        if not by_kind.get(kind):
            continue
        lines.append(f"\n{description}:")
        for item in by_kind[kind]:
            if shown >= DIGEST_MAX_LINES:
                break
            lines.append(f"- {item.subject}: {PUBLIC_URL_MARK}{item.link or '/notifications'}")
            shown += 1
    if shown < len(items):
        lines.append(f"\n… and {len(items) - shown} more on your notifications page.")
    return "\n".join(lines)


# -- for operators ----------------------------------------------------------------------------------------------
@ops_metrics.service_gauges("notifications")
def ops_gauges(conn):
    """concord_email_pending, concord_email_failed, concord_email_oldest_pending_seconds (ops_metrics)."""
    pending, failed, oldest = conn.execute(text(
        "SELECT count(*) FILTER (WHERE status IN ('new', 'pending')), count(*) FILTER (WHERE status = 'failed'), "
        "coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status IN ('new', 'pending'))), 0) "
        "FROM outgoing_emails WHERE status IN ('new', 'pending', 'failed')")).one()
    yield "concord_email_pending", [], pending
    yield "concord_email_failed", [], failed
    yield "concord_email_oldest_pending_seconds", [], float(oldest)
