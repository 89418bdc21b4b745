import pytest
from marshmallow import Schema, fields
from nameko.exceptions import deserialize, serialize

from concord_common import errors


def test_typed_errors_survive_the_rpc_round_trip():
    original = errors.ValidationFailed("bad", {"a.b": ["must be set"]})
    again = deserialize(serialize(original))
    assert type(again) is errors.ValidationFailed
    assert again.detail == "bad" and again.errors == {"a.b": ["must be set"]}
    assert again.status == 422


def test_not_found_never_echoes_what_was_asked_for():
    assert errors.NotFound("profile 123 is restricted").detail == errors.NotFound().detail
    assert deserialize(serialize(errors.NotFound("x"))).args == errors.NotFound().args


@pytest.mark.parametrize("cls,status", [
    (errors.MalformedRequest, 400), (errors.Unauthenticated, 401), (errors.Forbidden, 403),
    (errors.NotFound, 404), (errors.Conflict, 409), (errors.PreconditionFailed, 412),
    (errors.ValidationFailed, 422), (errors.TooManyRequests, 429), (errors.ServiceUnavailable, 503),
    (errors.ServiceTimeout, 504)])
def test_each_error_has_one_status(cls, status):
    assert cls.status == status


def test_nested_messages_flatten_to_field_paths():
    messages = {"name": ["required"], "addresses": {0: {"postcode": ["bad postcode"]}}, "_schema": ["x"]}
    assert errors.validation_errors(messages) == {
        "name": ["required"], "addresses.0.postcode": ["bad postcode"], "_schema": ["x"]}


class Thing(Schema):
    n = fields.Integer(required=True)


def test_load_or_fail():
    assert errors.load_or_fail(Thing(), {"n": 1}) == {"n": 1}
    with pytest.raises(errors.ValidationFailed) as failed:
        errors.load_or_fail(Thing(), {"n": "x", "extra": 1})
    assert set(failed.value.errors) == {"n", "extra"}
    with pytest.raises(errors.MalformedRequest):
        errors.load_or_fail(Thing(), ["n"])
