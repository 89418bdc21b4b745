import pytest

from concord_common import rolling, supervise


def test_all_is_every_service_then_the_gateway():
    assert rolling.components(["all"]) == ["profiles", "cases", "permissions", "audit", "notifications", "gateway"]
    assert rolling.components(["cases", "gateway"]) == ["cases", "gateway"]
    with pytest.raises(SystemExit):
        rolling.components(["cases", "nope"])


def test_a_replica_has_time_to_finish_its_work_before_sigkill():
    assert "stopwaitsecs=40" in supervise.render_config()


def test_a_replica_that_never_answers_stops_the_rollout(monkeypatch):
    monkeypatch.setenv("OPS_PORT_BASE", "1")           # nothing listens on ports 1…
    with pytest.raises(rolling.NotReady, match="profiles-0's /healthz"):
        rolling.wait_ready("profiles", 0, None, "amqp://unused", "http://unused", timeout=0.3)
