"""The gauges a service reports at scrape time (concord_common.ops_metrics), read from the real broker and
databases: queue depth and consumers, outbox size and lag, scheduled jobs' last tick and due work, and the
audit chain's head age and last (scheduled) verification."""
from kombu import Connection, Exchange
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.audit.service import AuditService
from services.cases.service import CasesService
from tests import support


def samples(name: str) -> dict[tuple, float]:
    """{(label, value) pairs…: value} of one metric, as Prometheus would scrape it from this process."""
    found = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def labelled(name: str, **labels) -> float | None:
    want = set(labels.items())
    for key, value in samples(name).items():
        if want <= set(key):
            return value
    return None


def forge_an_event(amqp_uri):
    """An unsigned event on the cases exchange: the audit service refuses it straight to its dead-letter queue."""
    with Connection(amqp_uri) as conn:
        conn.Producer().publish({"id": "forged", "type": "case.created", "data": {}},
                                exchange=Exchange("cases.events", type="topic", durable=True),
                                routing_key="case.created", serializer="json")


def test_services_report_queues_outbox_schedules_and_the_audit_chain(service_config, run_services, amqp_uri):
    jobs = ("cases.review_due", "cases.action_reminders", "cases.powers_expire")
    fast = {"SCHEDULE_SECONDS": {"audit.verify": 2, **{job: 2 for job in jobs}}, "SCHEDULE_POLL_SECONDS": 0.5}
    run_services(service_config("audit", **fast), AuditService)
    run_services(service_config("cases", **fast), CasesService)

    # Queues: the RPC queue with its consumer; the audit service's event queues and their dead-letter queues.
    assert support.wait_for(lambda: labelled("concord_queue_consumers", service="cases", queue="rpc-cases"),
                            message="a consumer on rpc-cases") >= 1
    queues = {dict(key)["queue"] for key in samples("concord_queue_messages") if dict(key)["service"] == "audit"}
    assert "evt-cases-#--audit.ingest_cases" in queues and "rpc-audit" in queues
    # A dead-letter queue exists once something was dead-lettered, and then its depth is what the alert reads.
    forge_an_event(amqp_uri)
    support.wait_for(lambda: labelled("concord_queue_messages", service="audit",
                                      queue="evt-cases-#--audit.ingest_cases.dlq") == 1,
                     message="the forged event in the dead-letter queue")

    # The outbox of each, and the scheduled jobs: ticks that ran, and the work due. The cases database is shared
    # with earlier tests of this worker, so work may be due at start; once each job has ticked, none is left.
    for service in ("audit", "cases"):
        assert labelled("concord_outbox_pending", service=service) is not None
        assert labelled("concord_outbox_lag_seconds", service=service) is not None
    for job in jobs:
        support.wait_for(lambda: labelled("concord_scheduled_last_tick_timestamp_seconds", service="cases", job=job),
                         message=f"a tick of {job}")
        support.wait_for(lambda: labelled("concord_scheduled_due", service="cases", job=job) == 0,
                         message=f"no work left due for {job}")
    support.wait_for(lambda: labelled("concord_scheduled_last_tick_timestamp_seconds", service="audit",
                                      job="audit.verify"), message="a scheduled verification")

    # The verification it ran found the (empty) chain intact; every replica reports it from the database.
    assert support.wait_for(lambda: labelled("concord_audit_verified_ok", service="audit") is not None,
                            message="the verification's outcome")
    assert labelled("concord_audit_verified_ok", service="audit") == 1.0
    assert labelled("concord_audit_verified_timestamp_seconds", service="audit") > 1.7e9
