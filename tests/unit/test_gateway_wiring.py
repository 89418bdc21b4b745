"""The gateway serves every route and page class written for it, and the registry agrees with the services.

A class in gateway/routes/ or gateway/web/ with HTTP entrypoints serves nothing until
GatewayService (gateway/service.py) inherits it: forgetting that answers 404 for a whole
feature, so this test names the class instead.
"""
import importlib
import inspect
import pkgutil

import pytest

import gateway.routes
import gateway.web
from concord_common import record_types
from concord_common.runner import service_class
from concord_common.settings import SERVICE_NAMES
from gateway.service import GatewayService


def _route_classes():
    for package in (gateway.routes, gateway.web):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and any(
                        getattr(member, "nameko_entrypoints", None) for member in vars(cls).values()):
                    yield cls


ROUTE_CLASSES = sorted(_route_classes(), key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def test_route_classes_are_found():
    names = {cls.__name__ for cls in ROUTE_CLASSES}
    assert {"ProfileRoutes", "RecordRoutes", "WebPages", "ProfilePages"} <= names


@pytest.mark.parametrize("cls", ROUTE_CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_route_class_is_combined_into_the_gateway(cls):
    assert issubclass(GatewayService, cls), \
        f"{cls.__module__}.{cls.__name__} has routes but gateway/service.py does not combine it into GatewayService"


def test_every_record_type_is_owned_by_a_service_that_declares_it():
    for record_type in record_types.REGISTRY:
        assert record_type.service in SERVICE_NAMES, record_type
    for name in SERVICE_NAMES:
        declared = set(getattr(service_class(name), "record_kinds", {}) or {})
        owned = {record_type.name for record_type in record_types.owned_by(name)}
        # a service declares a RecordKind for each type the registry gives it, and no other
        assert declared == owned, (name, declared ^ owned)


def test_registry_lookups():
    case = record_types.by_name("case")
    assert (case.service, case.path, case.scope) == ("cases", "cases", "cases")
    assert record_types.by_path("families").name == "family"
    assert record_types.by_name("nothing") is None and record_types.by_path("nothing") is None
    assert record_types.api_path({"type": "family", "id": "f1"}) == "/api/v1/families/f1"
    assert record_types.api_path({"type": "unknown", "id": "x"}) == "/api/v1/records/x"
    assert set(record_types.paths()) == {"profiles", "families", "cases"}
