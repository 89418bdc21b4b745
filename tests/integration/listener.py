"""A test-only consumer of `testsrc` events, to exercise the common messaging library."""
from concord_common.events import reliable_event_handler


class Listener:
    name = "listener"

    received: list = []
    calls: list = []
    fail_times = 0

    @classmethod
    def reset(cls, fail_times=0):
        cls.received.clear()
        cls.calls.clear()
        cls.fail_times = fail_times

    @reliable_event_handler("testsrc", "thing.happened")
    def on_thing(self, event):
        Listener.calls.append(event["id"])
        if Listener.fail_times > 0:
            Listener.fail_times -= 1
            raise RuntimeError("the handler is failing on purpose")
        Listener.received.append(event)


QUEUE = "evt-testsrc-thing.happened--listener.on_thing"
