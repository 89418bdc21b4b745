"""What the architecture itself costs a page, in CPU, before any query does work (issue 18's capacity goal).

  .venv/bin/python bench/floor_bench.py [--requests N]

Starts one process of each service and the gateway (bench/run.py's Cluster: a vhost and databases of their own,
removed at the end), signs in through the API, then sends N (default 2,000) of each of these requests one after
another and, meanwhile, reads from /proc the CPU time of every process involved (capacity_bench's CpuSampler: the
services, the gateway, the PostgreSQL backends on the bench's databases, RabbitMQ's beam.smp, this client):

  healthz       GET /healthz: HTTP in the gateway, nothing else (no RPC, no database);
  readyz        GET /readyz: the same and five RPC calls in parallel, one to each service's `ping` (SELECT 1);
  profile read  GET /api/v1/profiles/{id}: one RPC to the profiles service, a small profile's reads, and the read
                recorded (an outbox row, the relay, a broker message, the audit service's signed, chained insert).

From them: the CPU of one RPC call and of one recorded read, beyond the HTTP request. With what a mixed page of
the capacity test makes of each (bench/capacity/workload.py counts them), the floor a page cannot go below with
these parts, whatever its queries cost, is printed with the pages a second the machine's cores could serve at it.
Figures go to bench/results/floor_latest.json.
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_capacity_bench", HERE / "capacity_bench.py")
capacity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(capacity)      # loads bench/run.py (which monkey-patches eventlet, as our processes do)
bench_run = capacity.bench_run
workload = capacity.workload            # the mix and what each of its pages makes: requests, calls, recorded reads

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from concord_common.settings import SERVICE_NAMES  # noqa: E402

RESULTS = HERE / "results" / "floor_latest.json"
CORES = os.cpu_count() or 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests of each kind (default 2000)")
    return parser.parse_args(argv)


def measure(cluster, name: str, request, count: int) -> dict:
    """`count` requests one after another: latency and CPU ms a request by component (this client apart)."""
    bench_run.warm_up(request, 100)
    time.sleep(2)                           # the warm-up's audit events recorded before the window opens
    sampler = capacity.CpuSampler(cluster, os.getpid())     # this process is the load generator
    sampler.start()
    latency, _ = bench_run.sequential(request, count)
    time.sleep(2)                           # … and this window's, inside it (the relay polls, audit consumes)
    used = sampler.stop()
    per_request = {component: round(figures["cpu_seconds"] * 1000 / count, 2)
                   for component, figures in sorted(used.items()) if component != "machine"}
    system = round(sum(ms for component, ms in per_request.items() if component != "load generator"), 2)
    print(f"  {name:<13} p50 {latency['p50_ms']:6.2f} ms  CPU {system:6.2f} ms a request  "
          + ", ".join(f"{component} {ms:.2f}" for component, ms in per_request.items()), flush=True)
    return {"latency": latency, "cpu_ms": per_request, "cpu_ms_system": system}


def run(cluster, args) -> dict:
    cluster.start_all()
    base = cluster.gateway_url
    bench_run.sign_in(base)
    session = requests.Session()
    profile_id = bench_run.post_profile(session, base)

    def get(path):
        def request():
            answer = session.get(base + path, headers=bench_run.AUTH, timeout=30)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
        return request

    print(f"{args.requests} requests of each kind, one after another; CPU ms a request by component:", flush=True)
    figures = {"healthz": measure(cluster, "healthz", get("/healthz"), args.requests),
               "readyz": measure(cluster, "readyz", get("/readyz"), args.requests),
               "profile_read": measure(cluster, "profile read", get(f"/api/v1/profiles/{profile_id}"),
                                       args.requests)}
    http = figures["healthz"]["cpu_ms_system"]
    per_call = (figures["readyz"]["cpu_ms_system"] - http) / len(SERVICE_NAMES)
    per_read = figures["profile_read"]["cpu_ms_system"] - http
    floor = workload.page_floor_ms(http, per_call, per_read)
    figures["derived"] = {"http_ms": http, "rpc_call_ms": round(per_call, 2), "recorded_read_ms": round(per_read, 2),
                          "http_per_page": round(workload.per_mixed_page(workload.REQUESTS_PER_PAGE), 2),
                          "calls_per_page": round(workload.per_mixed_page(workload.CALLS_PER_PAGE), 2),
                          "recorded_reads_per_page": workload.RECORDED_READS_PER_PAGE,
                          "page_floor_ms": round(floor, 1), "pages_per_s_on_cores": round(CORES * 1000 / floor),
                          "cheapest_page_ms": round(http + per_read, 1), "cores": CORES}
    return figures


def main(argv=None) -> int:
    args = parse_args(argv)
    cluster = bench_run.Cluster()
    load_before = os.getloadavg()
    try:
        figures = run(cluster, args)
    finally:
        cluster.close()
    derived = figures["derived"]
    print(f"\nHTTP request alone {derived['http_ms']} ms of CPU; one RPC call (ping, SELECT 1) "
          f"{derived['rpc_call_ms']} ms; one small profile read, recorded, {derived['recorded_read_ms']} ms.")
    print(f"A mixed page ({derived['http_per_page']} requests, {derived['calls_per_page']} calls, "
          f"{derived['recorded_reads_per_page']} recorded reads) "
          f"costs at least ~{derived['page_floor_ms']} ms of CPU however small its reads: at most "
          f"~{derived['pages_per_s_on_cores']} pages/s on {CORES} cores; the cheapest page (one request, one "
          f"recorded read) {derived['cheapest_page_ms']} ms.")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"figures": figures, "load_average_before": load_before,
                                   "commit": bench_run.git_commit(), "requests": args.requests}, indent=2) + "\n")
    print(f"figures: {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
