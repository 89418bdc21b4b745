"""The capacity test's arithmetic (bench/capacity/workload.py) and that the locust workload does the issue's mix.

No wall-clock: figures are made up here; the capacity run itself is `make capacity`, never part of `make test`.
"""
import ast
import importlib.util
from pathlib import Path

import pytest

CAPACITY = Path(__file__).resolve().parents[2] / "bench" / "capacity"
_spec = importlib.util.spec_from_file_location("capacity_workload", CAPACITY / "workload.py")
workload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workload)


def step(offered, achieved=None, p95=50.0, failure_rate=0.0, requests=100):
    return {"offered": offered, "achieved": offered if achieved is None else achieved, "p95_ms": p95,
            "failure_rate": failure_rate, "requests": requests}


def test_the_mix_is_the_issues():
    assert workload.MIX == {"search": 30, "profile": 25, "case": 20, "note": 10, "action": 10, "dashboard": 5}
    weights = workload.mix_weights()
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["search"] == pytest.approx(0.30) and weights["dashboard"] == pytest.approx(0.05)


def test_every_page_of_the_mix_is_a_locust_task_weighted_by_it():
    """The locustfile's @task(workload.MIX[name]) decorators: each page once, weighted by its share."""
    tree = ast.parse((CAPACITY / "locustfile.py").read_text())
    weighted = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "task":
                    (argument,) = decorator.args
                    assert isinstance(argument, ast.Subscript) and ast.unparse(argument.value) == "workload.MIX"
                    weighted.append(argument.slice.value)
    assert sorted(weighted) == sorted(workload.MIX)


@pytest.mark.parametrize("bad, why", [
    (step(100, p95=100.1), "p95 over 100 ms"),
    (step(100, failure_rate=0.01), "1 % failed"),
    (step(100, achieved=94.9), "under 95 % of the offered rate done"),
    (step(100, requests=0), "nothing measured"),
])
def test_a_step_is_held_only_within_every_limit(bad, why):
    assert workload.held(step(100, p95=100.0, failure_rate=0.0099, achieved=95.0))
    assert not workload.held(bad), why


def test_highest_held_is_the_last_held_step_before_the_first_miss():
    steps = [step(25), step(50), step(100, p95=120), step(150)]       # 150 "held" after a miss does not count
    assert workload.highest_held(steps) == 50
    assert workload.highest_held(list(reversed(steps))) == 50         # in order of the rate, however listed
    assert workload.highest_held([step(25, failure_rate=0.5), step(50)]) is None
    assert workload.highest_held([step(25), step(50), step(100)]) == 100
    assert workload.highest_held([]) is None


def test_offered_rate_is_users_times_their_pace():
    assert workload.users_for(200, per_user=0.5) == 400
    assert workload.users_for(25, per_user=0.5) == 50
    assert workload.users_for(1, per_user=0.5) == 2
    assert workload.users_for(0.1, per_user=0.5) == 1


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert workload.percentile(values, 0.95) == 95
    assert workload.percentile(values, 0.5) == 50
    assert workload.percentile([7.0], 0.99) == 7.0
    assert workload.percentile([], 0.95) is None


def test_step_figures_from_the_pages_done():
    pages = [("search", float(ms), True, "") for ms in range(1, 91)] + \
            [("note", 500.0, False, "POST /cases/x/notes: 500")] * 10
    figures = workload.step_figures(pages, seconds=10.0, offered=10)
    assert figures["requests"] == 100 and figures["achieved"] == 10.0
    assert figures["failure_rate"] == 0.1 and figures["p95_ms"] == 500.0 and figures["p50_ms"] == 50.0
    assert figures["pages"]["note"] == {"count": 10, "p50_ms": 500.0, "p95_ms": 500.0, "failures": 10}
    assert figures["failure_examples"] == ["POST /cases/x/notes: 500"]
    assert figures["held"] is False


def test_saturation_ranks_by_share_of_what_each_component_can_use():
    cpu = {"gateway": {"cpu_per_s": 0.9, "processes": 1},        # one Python process: 90 % of its core
           "profiles": {"cpu_per_s": 1.2, "processes": 2},       # two replicas: 60 % each
           "postgresql": {"cpu_per_s": 1.0, "processes": 30},    # every core: 50 % of 2
           "load generator": {"cpu_per_s": 0.99, "processes": 1},
           "audit": {"cpu_per_s": 0.0, "processes": 0}}
    ranked = workload.saturation(cpu, cores=2)
    assert [name for name, _ in ranked] == ["gateway", "profiles", "postgresql"]
    assert ranked[0][1] == pytest.approx(0.9) and ranked[2][1] == pytest.approx(0.5)


def test_cpu_cost_per_page_and_the_rates_it_allows():
    measured = {"offered": 25, "achieved": 5.0, "cpu": {
        "cases": {"cpu_per_s": 0.2, "processes": 1}, "gateway": {"cpu_per_s": 0.1, "processes": 1},
        "postgresql": {"cpu_per_s": 0.1, "processes": 20}, "load generator": {"cpu_per_s": 0.5, "processes": 1},
        "notifications": {"cpu_per_s": 0.0, "processes": 0}, "machine": {"busy_share": 1.0, "cores": 2}}}
    cost = workload.cpu_cost_ms(measured)
    assert cost == {"cases": 40.0, "gateway": 20.0, "postgresql": 20.0}     # the load generator is not Concord
    limits = workload.ceilings(cost, cores=2)
    assert limits == {"cases": 25.0, "gateway": 50.0, "machine": 25.0}       # 2000 ms of CPU a second / 80 ms
    assert workload.ceilings(cost, cores=2, replicas=2, utilisation=0.5)["cases"] == 25.0
    assert workload.cpu_cost_ms({"achieved": 0, "cpu": {}}) == {}


def test_a_mixed_page_makes_the_requests_and_calls_its_pages_make_weighted_by_the_mix():
    assert set(workload.REQUESTS_PER_PAGE) == set(workload.MIX) == set(workload.CALLS_PER_PAGE)
    # search 30 %, profile 25 %, case 20 %, dashboard 5 % one request; note and action 10 % each two (POST, page)
    assert workload.per_mixed_page(workload.REQUESTS_PER_PAGE) == pytest.approx(0.30 + 0.25 + 0.20 + 0.2 + 0.2 + 0.05)
    assert workload.per_mixed_page(workload.CALLS_PER_PAGE) == pytest.approx(
        0.30 * 2 + 0.25 * 3 + 0.20 * 2 + 0.10 * 3 + 0.10 * 4 + 0.05 * 8)
    assert workload.per_mixed_page({page: 7 for page in workload.MIX}) == pytest.approx(7)


def test_the_page_floor_is_its_requests_calls_and_what_recording_a_read_adds_to_a_call():
    # 1.2 requests at 1 ms, 2.85 calls at 4 ms, 1.6 recorded reads each 10 - 4 ms more than a call
    assert workload.page_floor_ms(1.0, 4.0, 10.0) == pytest.approx(1.2 + 2.85 * 4 + 1.6 * 6)
    assert workload.page_floor_ms(1.0, 4.0, 10.0, recorded_reads=0) == pytest.approx(1.2 + 2.85 * 4)
    # a read measured cheaper than a call (noise) adds nothing rather than taking CPU away
    assert workload.page_floor_ms(0.5, 4.0, 3.0) == pytest.approx(0.6 + 2.85 * 4)
