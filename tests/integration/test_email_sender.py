"""The notifications service's e-mail sender as it runs (its timer, real broker, real PostgreSQL, a real SMTP
server in its own process): an e-mail the server keeps refusing is retried and then failed, and operators see it
in the scrape-time gauges (concord_email_pending, concord_email_failed) and a log line; once the server accepts
again, a new e-mail goes out."""
import uuid

from sqlalchemy import create_engine, text

from services.notifications.service import NotificationsService
from tests import support
from tests.integration.test_ops_metrics import labelled
from tests.mail import MailCatcher


def queue_one(engine, address="ann@example.org") -> str:
    row_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO outgoing_emails (id, recipient_type, recipient_id, user_id, address, kind, subject, body, "
            "link, status) VALUES (:id, 'user', :user, :user, :address, 'actions', 'An action was set for you', "
            "'An action on a case was set for you.', '/notifications', 'pending')"),
            {"id": row_id, "user": str(uuid.uuid4()), "address": address})
    return row_id


def status(engine, row_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT status, attempts FROM outgoing_emails WHERE id = :id"), {"id": row_id}).one()


def test_a_refusing_server_is_retried_then_failed_and_operators_see_it(service_config, run_services, tmp_path,
                                                                      caplog):
    with MailCatcher(tmp_path / "mail") as catcher:
        catcher.refuse()
        config = service_config("notifications", SMTP_URL=catcher.url, EMAIL_POLL_SECONDS=0.2,
                                EMAIL_RETRY_SECONDS=0.2, EMAIL_RETRY_MAX_SECONDS=0.2, EMAIL_MAX_ATTEMPTS=3)
        run_services(config, NotificationsService)
        engine = create_engine(support.database_url_for(config))
        try:
            with caplog.at_level("WARNING"):
                refused = queue_one(engine)
                support.wait_for(lambda: status(engine, refused).status == "failed", timeout=30,
                                 message="the refused e-mail failed")
            assert status(engine, refused).attempts == 3
            assert any("failed for good" in record.getMessage() for record in caplog.records)
            # The database may hold other tests' rows (one per run and worker): the gauges say what it holds.
            def counted(*statuses):
                with engine.connect() as conn:
                    return conn.execute(text("SELECT count(*) FROM outgoing_emails WHERE status = ANY(:s)"),
                                        {"s": list(statuses)}).scalar()
            failed = counted("failed")
            assert failed >= 1
            support.wait_for(lambda: labelled("concord_email_failed", service="notifications") == failed, timeout=15,
                             message=f"concord_email_failed = {failed}")
            assert labelled("concord_email_pending", service="notifications") == counted("new", "pending")
            assert catcher.messages() == []

            catcher.refuse(False)
            accepted = queue_one(engine, "ben@example.org")
            support.wait_for(lambda: status(engine, accepted).status == "sent", timeout=30, message="sent")
            [message] = catcher.wait_for(1)
            assert message["To"] == "ben@example.org" and message["Message-ID"] == f"<{accepted}@localhost>"
            assert status(engine, refused).status == "failed"           # given up on: not sent behind one's back
        finally:
            engine.dispose()
