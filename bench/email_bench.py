"""E-mail benchmark: what the e-mail outbox adds to the notification write path, and how fast the sender empties it
into a local SMTP server.

  .venv/bin/python bench/email_bench.py [--events N] [--emails M] [--keep]

1. Creates and migrates a notifications database of its own (`concordbench_email_<id>_notifications`).
2. The write path: N events (default 2000) of each of two shapes — an action set for one person (one notification)
   and a case put on an agenda for three teams (three notifications) — handled by `logic.tell` in a transaction
   each, as the event handler does, alternately in-app only (`email=False`: Concord before e-mail) and with the
   e-mail outbox (`email=True`: one `outgoing_emails` row per notification, written in the same transaction).
   Prints p50/p95/p99 ms and the difference; the floor is the outbox row alone, one INSERT in its own transaction
   in plain SQL on one connection.
3. The sender: M e-mails (default 3000) resolved to addresses and sent by `emails.send_due` (claim with FOR UPDATE
   SKIP LOCKED, send, mark sent: a transaction each) to concord_common.mailcatcher (aiosmtpd, writing each message
   to a file) in its own process, by one worker and then by two workers at once (threads). Prints e-mails/s.
Figures in bench/results/email_latest.json. The database is dropped afterwards (unless --keep).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from concord_common import migrate  # noqa: E402
from concord_common.db import make_engine, unit_of_work  # noqa: E402
from services.notifications import emails, logic  # noqa: E402

RESULTS = HERE / "results" / "email_latest.json"
MIGRATIONS = ROOT / "services" / "notifications" / "migrations"
TEAMS = [str(uuid.uuid4()) for _ in range(3)]
PEOPLE = [str(uuid.uuid4()) for _ in range(30)]


def event(shape: str) -> dict:
    case = {"type": "case", "id": str(uuid.uuid4())}
    owner = {"organisation_id": str(uuid.uuid4()), "team_id": TEAMS[0]}
    if shape == "action":
        data = {"record": case, "owner": owner, "reference": "ASB-2026-000001",
                "action": {"title": "Visit the flat", "due": "2026-12-24",
                           "assignee": {"user_id": PEOPLE[0], "team_id": TEAMS[0]}}}
        return {"id": str(uuid.uuid4()), "type": "case.action_set", "data": data}
    data = {"record": case, "owner": owner, "meeting": {"title": "ASB panel", "starts_at": "2026-12-20T10:00:00Z"},
            "attendee_team_ids": TEAMS, "access_until": "2026-12-27"}
    return {"id": str(uuid.uuid4()), "type": "case.agenda_added", "data": data}


def directory(user_ids, team_ids):
    """The permissions service's answer (email_recipients), here from memory: ten people per team."""
    return {"users": [{"id": u, "email": f"{u[:8]}@example.org"} for u in user_ids],
            "teams": {t: [{"id": u, "email": f"{u[:8]}@example.org"} for u in PEOPLE[i * 10:(i + 1) * 10]]
                      for i, t in enumerate(TEAMS) if t in team_ids}}


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000    # noqa: E731
    return {"p50_ms": round(pick(0.50), 3), "p95_ms": round(pick(0.95), 3), "p99_ms": round(pick(0.99), 3),
            "mean_ms": round(statistics.mean(ordered) * 1000, 3)}


def write_path(engine, events: int) -> dict:
    timings = {(shape, mail): [] for shape in ("action", "agenda") for mail in (False, True)}
    for _ in range(50):                                                     # warm-up
        with unit_of_work(engine, "notifications") as uow:
            logic.tell(uow, event("agenda"), True)
    for index in range(events * 2):
        for shape in ("action", "agenda"):
            mail = bool(index % 2)
            the_event = event(shape)
            started = time.perf_counter()
            with unit_of_work(engine, "notifications") as uow:
                logic.tell(uow, the_event, mail)
            timings[(shape, mail)].append(time.perf_counter() - started)
    found = {}
    for shape in ("action", "agenda"):
        without, with_ = percentiles(timings[(shape, False)]), percentiles(timings[(shape, True)])
        found[shape] = {"in_app_only": without, "with_email_outbox": with_,
                        "added_p50_ms": round(with_["p50_ms"] - without["p50_ms"], 3),
                        "added_mean_ms": round(with_["mean_ms"] - without["mean_ms"], 3)}
    return found


def sql_floor(url: str, samples: int) -> dict:
    import psycopg
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    timings = []
    with psycopg.connect(plain) as conn:
        for _ in range(samples):
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("INSERT INTO outgoing_emails (id, event_id, recipient_type, recipient_id, kind, subject, "
                             "body, link, status) VALUES (%s, %s, 'user', %s, 'actions', 'An action was set for you', "
                             "'An action on a case was set for you.', '/cases/x', 'new')",
                             (str(uuid.uuid4()), str(uuid.uuid4()), PEOPLE[0]))
            timings.append(time.perf_counter() - started)
        conn.execute("DELETE FROM outgoing_emails WHERE notification_id IS NULL AND parent_id IS NULL "
                     "AND link = '/cases/x'")
    return percentiles(timings)


def catcher(directory_path: Path) -> tuple[subprocess.Popen, str]:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "concord_common.mailcatcher", "--port", str(port),
                                "--dir", str(directory_path)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"smtp://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("mail catcher did not start")


def sender(engine, settings, count: int, workers: int) -> dict:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outgoing_emails"))
    made = 0
    while made < count:                          # an agenda event: 30 people (3 teams of 10)
        with unit_of_work(engine, "notifications") as uow:
            logic.tell(uow, event("agenda"), True)
        made += 30
    while True:
        with unit_of_work(engine, "notifications") as uow:
            if not emails.resolve(uow, settings, directory):
                break
    with engine.connect() as conn:
        pending = conn.execute(text("SELECT count(*) FROM outgoing_emails WHERE status = 'pending'")).scalar()
    sent = [0] * workers

    def work(slot):
        while True:
            done = emails.send_due(engine, settings, limit=200)["sent"]
            if not done:
                return
            sent[slot] += done
    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        twice = conn.execute(text("SELECT count(*) FROM outgoing_emails "
                                  "WHERE status = 'sent' AND attempts > 1")).scalar()
    return {"emails": pending, "sent_by_worker": sent, "seconds": round(seconds, 2),
            "emails_per_s": round(sum(sent) / seconds, 1), "sent_more_than_once": twice}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    server = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"concordbench_email_{uuid.uuid4().hex[:6]}_notifications"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url, MIGRATIONS)
    engine = make_engine(url, pool_size=4)
    mail_dir = Path(tempfile.mkdtemp(prefix="concord-email-bench-"))
    process = None
    try:
        results = {"events_per_shape_and_mode": args.events, "load_average_before": os.getloadavg()}
        results["write_path"] = write_path(engine, args.events)
        results["sql_floor_outbox_insert"] = sql_floor(url, args.events)
        process, smtp_url = catcher(mail_dir)
        settings = emails.EmailSettings.from_config({"SMTP_URL": smtp_url})
        results["sender"] = {f"{workers}_worker{'s' * (workers > 1)}": sender(engine, settings, args.emails, workers)
                             for workers in (1, 2)}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
        print("E-mail outbox on the notification write path (one event handled = one transaction):")
        for shape, words in (("action", "action set for one person (1 notification)"),
                             ("agenda", "case on an agenda for 3 teams (3 notifications)")):
            found = results["write_path"][shape]
            print(f"  {words}:")
            for mode in ("in_app_only", "with_email_outbox"):
                p = found[mode]
                print(f"    {mode:<18} p50 {p['p50_ms']:7.3f}  p95 {p['p95_ms']:7.3f}  p99 {p['p99_ms']:7.3f}  "
                      f"mean {p['mean_ms']:7.3f} ms")
            print(f"    added: p50 {found['added_p50_ms']:+.3f} ms, mean {found['added_mean_ms']:+.3f} ms")
        floor = results["sql_floor_outbox_insert"]
        print(f"  floor, one outbox INSERT in its own transaction (plain SQL): p50 {floor['p50_ms']:.3f} "
              f"p95 {floor['p95_ms']:.3f} ms")
        print("Sender to a local SMTP server (aiosmtpd, a file per message), claim-send-mark per e-mail:")
        for label, found in results["sender"].items():
            print(f"  {label}: {found['emails']} e-mails in {found['seconds']} s = {found['emails_per_s']} e-mails/s "
                  f"(by worker {found['sent_by_worker']}; sent more than once: {found['sent_more_than_once']})")
        print(f"figures in {RESULTS.relative_to(ROOT)}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        engine.dispose()
        if not args.keep:
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            for path in mail_dir.glob("*"):
                path.unlink()
            mail_dir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
