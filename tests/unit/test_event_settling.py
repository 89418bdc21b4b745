"""Acknowledging an event on a connection the broker dropped (a node killed) must not kill the service container:
the broker delivers the event again and its consumer takes it once (concord_common/events.py, `settle`)."""
import logging

import pytest

from concord_common.events import ReliableEventHandler, settle


class DroppedConnection:
    """A queue consumer whose socket the broker closed: every write fails as the socket does."""

    def __init__(self, error):
        self.error, self.tried = error, []

    def ack_message(self, message):
        self.tried.append(("ack", message))
        raise self.error

    requeue_message = ack_message


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "pipe")])
def test_an_ack_on_a_dropped_connection_is_logged_not_raised(error, caplog):
    handler = object.__new__(ReliableEventHandler)          # no container: only the settling is under test
    handler.queue_consumer = DroppedConnection(error)
    with caplog.at_level(logging.WARNING, logger="concord_common.events"):
        handler.handle_message_processed("delivery-1")
    assert handler.queue_consumer.tried == [("ack", "delivery-1")]
    assert "delivers it again" in caplog.text


def test_other_errors_still_raise():
    def broken(message):
        raise ValueError("a bug, not a dropped connection")
    with pytest.raises(ValueError):
        settle(broken, "delivery-1")
