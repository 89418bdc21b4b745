import json
import logging

from concord_common import context, logs


def test_caller_round_trips_through_json():
    caller = context.Caller(kind="user", id="u1", organisation_id="o1",
                            teams=({"id": "t1", "role": "spoc"},), roles=("org_admin",), display_name="Pat")
    assert context.Caller.from_json(caller.to_json()) == caller
    assert context.Caller.from_json(None) == context.Caller()
    assert caller.summary() == {"kind": "user", "id": "u1", "organisation_id": "o1", "teams": ["t1"]}


def test_log_lines_are_json_with_request_id_and_caller():
    formatter = logs.JsonFormatter("profiles")
    context.set_current(context.Caller(kind="user", id="u9"), "req-123")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        line = json.loads(formatter.format(record))
    finally:
        context.clear_current()
    assert line["msg"] == "hello world" and line["component"] == "profiles"
    assert line["request_id"] == "req-123" and line["caller"]["id"] == "u9"


def test_expected_errors_log_without_a_traceback():
    formatter = logs.JsonFormatter("gateway")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        record = logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1,
                                   "(expected) error handling worker", (), (ValueError, exc, exc.__traceback__))
    line = json.loads(formatter.format(record))
    assert "exc" not in line and line["level"] == "info"
