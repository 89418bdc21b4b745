from concord_common.events import dead_letter_queue, dead_letter_queue_name, retry_queue
from services.audit.ingest import action_of


def test_actions_come_from_event_types():
    assert action_of("profile.created") == "created"
    assert action_of("profile.break_glass") == "break_glass"
    assert action_of("access_request.requested") == "access_requested"
    assert action_of("access_request.approved") == "access_approved"
    assert action_of("record.transferred") == "transferred"


def test_retry_queues_dead_letter_back_to_the_handler_queue():
    queue = retry_queue("evt-a-b--c.d", 1.5)
    assert queue.name == "evt-a-b--c.d.retry.1500ms"
    assert queue.queue_arguments == {"x-message-ttl": 1500, "x-dead-letter-exchange": "",
                                     "x-dead-letter-routing-key": "evt-a-b--c.d", "x-queue-type": "quorum",
                                     "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    classic = retry_queue("evt-a-b--c.d", 1.5, quorum=False)          # QUORUM_QUEUES=false
    assert classic.queue_arguments == {"x-message-ttl": 1500, "x-dead-letter-exchange": "",
                                       "x-dead-letter-routing-key": "evt-a-b--c.d"}
    assert dead_letter_queue("evt-a-b--c.d").queue_arguments == {"x-queue-type": "quorum"}
    assert dead_letter_queue_name("evt-a-b--c.d") == "evt-a-b--c.d.dlq"
