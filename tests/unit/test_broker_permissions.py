"""Each component's broker account may publish calls only to the services it calls: the table in
concord_common/broker.py must follow the code, or a component is refused by the broker at run time
(only `make run` and compose use the per-component accounts; the suite's whole systems do not)."""
import re
from pathlib import Path

import pytest

from concord_common import broker
from concord_common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"""\.call(?:_as_system)?\(\s*["']([a-z_]+)["']""")


def called_by(service: str) -> set[str]:
    found = set()
    for path in (ROOT / "services" / service).rglob("*.py"):
        found |= set(CALL.findall(path.read_text()))
    return found - {service}


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_a_component_calls_is_in_its_broker_permissions(service):
    missing = called_by(service) - set(broker.CALLS[service])
    assert not missing, f"{service} calls {sorted(missing)}: add them to broker.CALLS[{service!r}]"


def test_the_calls_reach_the_broker_permissions():
    topics = re.compile(broker.permissions_for("cases")["topic_write"])
    assert topics.match("profiles.get_profile") and topics.match("permissions.get_team")
    assert not topics.match("audit.record_entries") and not topics.match("permissions.authenticate.x")


def test_the_record_owners_are_reached_by_audit_and_permissions():
    for component in ("audit", "permissions"):
        assert {"profiles", "cases"} <= set(broker.CALLS[component])


def test_generated_passwords_are_safe_on_a_command_line(tmp_path):
    """rabbitmqctl reads an argument starting with '-' as an option: a url-safe token did, 1 time in 64."""
    for component in ("gateway", "profiles", "cases", "permissions", "audit", "notifications"):
        password = broker.ensure_password(component, tmp_path)
        assert re.fullmatch(r"[0-9a-f]{48}", password), password
        assert broker.ensure_password(component, tmp_path) == password          # kept, not remade
