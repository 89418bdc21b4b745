"""The capacity test's arithmetic, with no dependencies (imported by the orchestrator in .venv, by the locust
side in .venv-capacity, and by tests/unit/test_capacity_workload.py).

- MIX: what practitioners do, as shares of pages (issue 18): search 30 %, open a profile 25 %, open a case 20 %,
  add a note 10 %, update an action 10 %, the home dashboard 5 %.
- A step offers a rate (pages/s); it is *held* when p95 <= 100 ms, failures < 1 % and the achieved rate is at least
  95 % of the offered one (held()). highest_held() is the highest offered rate held, among steps run in order
  (a step after the first one not held does not count: the system has already fallen over once).
- users_for(): locust users each do at most PAGES_PER_USER_PER_S pages a second (locustfile.wait_time), so the
  offered rate is users x that.
- page_floor_ms(): the least CPU a mixed page can cost, from what one HTTP request, one RPC call and one recorded
  read cost (bench/floor_bench.py measures them) and how many of each a page of the mix makes.
- saturation(): which component is busiest, given CPU seconds per second per process (a Python process is one core
  at most: a replica at 0.95 is saturated; PostgreSQL and RabbitMQ use every core).
"""
from __future__ import annotations

import math

MIX = {"search": 30, "profile": 25, "case": 20, "note": 10, "action": 10, "dashboard": 5}
DEFAULT_STEPS = (25, 50, 100, 150, 200, 300)
P95_LIMIT_MS = 100.0
FAILURE_LIMIT = 0.01
ACHIEVED_SHARE = 0.95
PAGES_PER_USER_PER_S = 0.5          # one page every 2 s per locust user: 200 pages/s = 400 users
# Components as the orchestrator names them; services and the gateway are single-threaded Python processes.
PYTHON_COMPONENTS = ("gateway", "profiles", "cases", "permissions", "audit", "notifications")
SHARED_COMPONENTS = ("postgresql", "rabbitmq")
# Each page of the mix, counted in gateway/web: HTTP requests (a note or an action is a POST and the case page it
# redirects to) and RPC calls (the header's unread count is one on every page shown); recorded reads a mixed page
# as make capacity measured them (audit entries ÷ pages, 7 December 2026: a page built in one call records one).
REQUESTS_PER_PAGE = {"search": 1, "profile": 1, "case": 1, "note": 2, "action": 2, "dashboard": 1}
CALLS_PER_PAGE = {"search": 2, "profile": 3, "case": 2, "note": 3, "action": 4, "dashboard": 8}
RECORDED_READS_PER_PAGE = 1.6


def mix_weights() -> dict:
    """The shares as fractions summing to 1."""
    total = sum(MIX.values())
    return {name: share / total for name, share in MIX.items()}


def per_mixed_page(counts: dict) -> float:
    """A per-page count (REQUESTS_PER_PAGE, CALLS_PER_PAGE) weighted by the mix."""
    weights = mix_weights()
    return sum(weights[page] * counts[page] for page in MIX)


def page_floor_ms(http_ms: float, call_ms: float, recorded_read_ms: float,
                  recorded_reads: float = RECORDED_READS_PER_PAGE) -> float:
    """The least CPU (ms) a mixed page can cost however little its queries do: its HTTP requests, its calls each as
    cheap as a ping, and its recorded reads each costing what a small profile's did beyond a call."""
    return (per_mixed_page(REQUESTS_PER_PAGE) * http_ms + per_mixed_page(CALLS_PER_PAGE) * call_ms
            + recorded_reads * max(0.0, recorded_read_ms - call_ms))


def users_for(rate: float, per_user: float = PAGES_PER_USER_PER_S) -> int:
    return max(1, math.ceil(rate / per_user))


def held(step: dict) -> bool:
    """step: offered, achieved (pages/s), p95_ms, failure_rate (0..1), requests."""
    if not step.get("requests"):
        return False
    return (step["p95_ms"] <= P95_LIMIT_MS and step["failure_rate"] < FAILURE_LIMIT
            and step["achieved"] >= ACHIEVED_SHARE * step["offered"])


def highest_held(steps: list[dict]) -> float | None:
    """The highest offered rate held, stepping up in the order run; None if even the first was not held."""
    best = None
    for step in sorted(steps, key=lambda s: s["offered"]):
        if not held(step):
            break
        best = step["offered"]
    return best


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of already sorted values (share in 0..1)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def utilisation(component: str, cpu_per_s: float, processes: int, cores: int) -> float:
    """Busy share of what the component can use: Python processes one core each, the rest every core."""
    if component in SHARED_COMPONENTS:
        return cpu_per_s / max(1, cores)
    return cpu_per_s / max(1, processes)


def saturation(cpu: dict, cores: int) -> list[tuple[str, float]]:
    """cpu: component -> {"cpu_per_s": …, "processes": n}. Components by utilisation, busiest first."""
    ranked = [(name, utilisation(name, figures["cpu_per_s"], figures["processes"], cores))
              for name, figures in cpu.items() if name != "load generator" and figures.get("processes")]
    return sorted(ranked, key=lambda item: item[1], reverse=True)


def step_figures(pages: list, seconds: float, offered: float) -> dict:
    """A step's figures from the pages done in its measured window: (name, ms, ok, detail) each."""
    times = sorted(ms for _, ms, _, _ in pages)
    failures = sum(1 for _, _, ok, _ in pages if not ok)
    step = {"offered": offered, "requests": len(pages), "achieved": round(len(pages) / seconds, 1) if seconds else 0.0,
            "failures": failures, "failure_rate": round(failures / len(pages), 4) if pages else 0.0,
            **{f"p{q}_ms": round(percentile(times, q / 100) or 0.0, 1) for q in (50, 95, 99)}}
    per_page = {}
    for name in MIX:
        mine = sorted(ms for page, ms, _, _ in pages if page == name)
        if mine:
            per_page[name] = {"count": len(mine), "p50_ms": round(percentile(mine, 0.5), 1),
                              "p95_ms": round(percentile(mine, 0.95), 1),
                              "failures": sum(1 for page, _, ok, _ in pages if page == name and not ok)}
    step["pages"] = per_page
    step["failure_examples"] = sorted({detail for _, _, ok, detail in pages if not ok})[:5]
    step["held"] = held(step)
    return step


def cpu_cost_ms(step: dict) -> dict:
    """CPU milliseconds each component spent per page done in a step (the load generator and machine left out).
    Unlike latency on a shared machine, this changes little with what else runs: the model scales it."""
    achieved = step.get("achieved") or 0
    if not achieved:
        return {}
    return {name: round(figures["cpu_per_s"] / achieved * 1000, 1) for name, figures in step["cpu"].items()
            if name not in ("machine", "load generator") and figures.get("processes")}


def ceilings(cost_ms: dict, cores: int, replicas: int = 1, utilisation: float = 1.0) -> dict:
    """Pages/s at which each Python component's replicas (one core each) and the whole machine (every component
    on `cores` cores) would be busy to `utilisation`, given CPU ms per page."""
    found = {name: round(replicas * utilisation * 1000 / ms, 1) for name, ms in cost_ms.items()
             if ms > 0 and name in PYTHON_COMPONENTS}
    total = sum(cost_ms.values())
    if total:
        found["machine"] = round(cores * utilisation * 1000 / total, 1)
    return found
