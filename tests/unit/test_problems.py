import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import pytest

from concord_common import errors
from gateway.http import problem_from_exception, read_json


def test_concord_errors_become_problem_json():
    response = problem_from_exception(errors.ValidationFailed("bad", {"name": ["required"]}))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = json.loads(response.get_data())
    assert body == {"type": "https://concord.example/problems/validation-failed", "title": "Your request has errors",
                    "status": 422, "detail": "bad", "errors": {"name": ["required"]}}


def test_unexpected_errors_hide_their_details():
    response = problem_from_exception(RuntimeError("password=hunter2 in /srv/app.py"))
    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)


def request_with(body: bytes, content_length=None):
    builder = EnvironBuilder(method="POST", data=body, content_type="application/json")
    request = Request(builder.get_environ())
    return request


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"text"', b"\xff\xfe"])
def test_unreadable_bodies_are_malformed(body):
    with pytest.raises(errors.MalformedRequest):
        read_json(request_with(body))


def test_oversized_body_is_refused_before_reading():
    with pytest.raises(errors.MalformedRequest):
        read_json(request_with(b'{"a": "' + b"x" * 100 + b'"}'), max_bytes=50)


def test_a_json_object_is_read():
    assert read_json(request_with(b'{"a": 1}')) == {"a": 1}
