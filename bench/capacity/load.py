"""Step the offered rate with locust as a library (headless), one JSON line per event on stdout.

  .venv-capacity/bin/python bench/capacity/load.py --fixture F --steps 25,50,100 [--warm-up S] [--measure S]
      [--stop-after-miss N]

Run by bench/capacity_bench.py (the orchestrator), which reads the lines as they come: {"event": "measuring",
"offered": R} when a step's measured window opens (it samples CPU then), {"event": "step", …} with the step's
figures when it closes. Each step sets the locust users to workload.users_for(R) (each paced to
PAGES_PER_USER_PER_S from a random first moment), waits for them to spawn and warm up, clears the page log, measures
for --measure seconds and reports pages done in the window: achieved rate, p50/p95/p99, failures, and per page.
It stops after --stop-after-miss steps in a row that were not held (workload.held).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import gevent
from locust.env import Environment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import workload  # noqa: E402


def emit(event: dict) -> None:
    print(json.dumps(event), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--steps", default=",".join(str(s) for s in workload.DEFAULT_STEPS))
    parser.add_argument("--warm-up", type=float, default=10.0)
    parser.add_argument("--measure", type=float, default=30.0)
    parser.add_argument("--spawn-rate", type=float, default=50.0, help="locust users started per second")
    parser.add_argument("--stop-after-miss", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated pages (workload.MIX names): step each alone, "
                                                   "one after another, instead of the mix")
    args = parser.parse_args(argv)
    os.environ["CAPACITY_FIXTURE"] = args.fixture
    import locustfile                       # reads the fixture
    env = Environment(user_classes=[locustfile.Practitioner], host=locustfile.FIXTURE["url"])
    runner = env.create_local_runner()
    mix = list(locustfile.Practitioner.tasks)
    for page in [name.strip() for name in args.only.split(",") if name.strip()] or [None]:
        # A page alone: every user does only it (users pick from the class's task list before each task).
        locustfile.Practitioner.tasks = [getattr(locustfile.Practitioner, page)] if page else mix
        run_steps(env, runner, locustfile, args, page or "mix")
    runner.quit()
    emit({"event": "done", "pages_total": locustfile.DONE[0]})
    return 0


def run_steps(env, runner, locustfile, args, page: str) -> None:
    missed = 0
    for offered in [float(s) for s in args.steps.split(",") if s.strip()]:
        users = workload.users_for(offered)
        runner.start(users, spawn_rate=args.spawn_rate)
        deadline = time.monotonic() + users / args.spawn_rate + 30
        while runner.user_count < users and time.monotonic() < deadline:
            gevent.sleep(0.5)
        gevent.sleep(args.warm_up)
        locustfile.PAGES.clear()
        env.stats.reset_all()
        emit({"event": "measuring", "offered": offered, "page": page, "users": runner.user_count, "at": time.time()})
        started = time.monotonic()
        gevent.sleep(args.measure)
        pages = list(locustfile.PAGES)
        seconds = time.monotonic() - started
        step = workload.step_figures(pages, seconds, offered)
        step.update(page=page, users=runner.user_count, seconds=round(seconds, 1), load_average=list(os.getloadavg()),
                    locust_requests={name: {"count": entry.num_requests, "failures": entry.num_failures,
                                            "p95_ms": entry.get_response_time_percentile(0.95)}
                                     for (name, _method), entry in env.stats.entries.items()})
        emit({"event": "step", **step})
        missed = 0 if step["held"] else missed + 1
        if missed >= args.stop_after_miss:
            break


if __name__ == "__main__":
    sys.exit(main())
