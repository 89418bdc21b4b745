"""The alert rules and the Grafana dashboard (deploy/observability) name only metrics Concord exports, parse
as PromQL (promtool, Debian's `prometheus` package), and the alerts fire when they should (promtool's own
rule unit tests, alerts-test.yaml)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import concord_common.metrics  # noqa: F401  (registers the process metrics)
from concord_common import ops_metrics

HERE = Path(__file__).resolve().parents[2] / "deploy" / "observability"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (apt install prometheus) not installed")
METRIC = re.compile(r"\b(concord_[a-z0-9_]+)\b")


def exported() -> set[str]:
    """Every series name Concord's processes can expose: the registered metrics (with their _bucket, _count,
    _sum and _total series) and the scrape-time gauges."""
    names = set(ops_metrics.GAUGES)
    for collector in list(REGISTRY._collector_to_names):
        for family in getattr(collector, "describe", lambda: [])() or ():
            names.update(sample.name for sample in family.samples)
            names.add(family.name)
            if family.type == "histogram":
                names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
            elif family.type == "counter":
                names.add(f"{family.name}_total")
    return names


def alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load((HERE / "alerts.yaml").read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def dashboard() -> dict:
    return json.loads((HERE / "grafana-dashboard.json").read_text())


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def test_every_metric_named_is_one_concord_exports():
    known = exported()
    named = {name for expr in [*alert_expressions().values(), *dashboard_expressions()] for name in
             METRIC.findall(expr)}
    assert named and not named - known, f"not exported by any Concord process: {sorted(named - known)}"


def test_what_operations_asked_for_is_watched():
    """Latency by route and method, queue depth and consumers, outbox lag and size, dead letters, the audit
    chain, scheduled work: each on the dashboard; the five conditions the runbook names, alerted."""
    on_dashboard = " ".join(dashboard_expressions())
    for name in ("concord_worker_seconds_bucket", "concord_rpc_call_seconds_bucket", "concord_queue_messages",
                 "concord_queue_consumers", "concord_outbox_lag_seconds", "concord_outbox_pending",
                 "concord_events_dead_lettered_total", "concord_audit_head_age_seconds", "concord_scheduled_due"):
        assert name in on_dashboard, name
    assert {"ConcordDeadLetters", "ConcordOutboxLagging", "ConcordRpcSlow", "ConcordAuditVerificationFailed",
            "ConcordServiceWithoutConsumers"} <= set(alert_expressions())


def test_the_dashboard_is_well_formed():
    board = dashboard()
    assert board["uid"] and board["title"] and board["templating"]["list"][0]["type"] == "datasource"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["title"] and set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["targets"]
        assert all(target["refId"] and target["expr"] for target in panel["targets"])


@needs_promtool
def test_the_alert_rules_parse_and_fire_when_they_should():
    checked = subprocess.run([PROMTOOL, "check", "rules", str(HERE / "alerts.yaml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([PROMTOOL, "test", "rules", "alerts-test.yaml"], cwd=HERE, capture_output=True,
                            text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_the_dashboard_queries_parse(tmp_path):
    """promtool checks PromQL in rule files: each dashboard query becomes a recording rule, only to be parsed."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"concord:dashboard_query:{n}", "expr": expr} for n, expr in enumerate(dashboard_expressions())]}]}
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
