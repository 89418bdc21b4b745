"""Page timings: how long the main web pages take for a signed-in practitioner (issue 16's closing note).

  .venv/bin/python bench/pages_bench.py [--loads N] [--url URL --username U --password P] [--keep]

Times home (/), search (/profiles?q=…), a profile, a case, My actions (/actions) and notifications, each N
(default 10) loads one after another on one kept-alive browser session (after 2 unmeasured loads), and prints
the median and the maximum in ms for each, with the machine's load average (figures on a shared machine mean
little without it). The profile and case are the first the practitioner may open, found through the API.

With --url it measures a running system (the person must exist, e.g. `concord demo` seeds pc.khan). Without it,
it starts the five services and a gateway (bench/run.py's Cluster) on a vhost and databases of their own, seeds
the demo (concord_common/demo.py: profiles, a family, cases with actions and ASB records), signs in as the demo
practitioner, and removes everything afterwards (unless --keep).
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from concord_common import demo  # noqa: E402
from concord_common.context import SYSTEM  # noqa: E402

WARM_UP = 2


def web_session(url: str, username: str, password: str) -> requests.Session:
    """Signed in through the web form, as a browser is (the session cookie)."""
    session = requests.Session()
    session.headers["Accept"] = "text/html"
    form = session.get(url + "/sign-in", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed_in = session.post(url + "/sign-in", data={"username": username, "password": password,
                                                     "csrf_token": token}, allow_redirects=False, timeout=30)
    assert signed_in.status_code == 303, signed_in.text[:300]
    return session


def first_openable(session: requests.Session, url: str, path: str) -> dict:
    answer = session.get(url + path, headers={"Accept": "application/json"}, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    return next(item for item in answer.json()["items"] if item.get("access", "full") == "full")


def main_pages(session: requests.Session, url: str) -> dict:
    profile = first_openable(session, url, "/api/v1/profiles?q=av&limit=50")
    case = first_openable(session, url, "/api/v1/cases?status=open&limit=50")
    surname = (profile.get("family_name") or profile.get("display_name", "av").split()[-1])[:20]
    return {"home": "/", "search": f"/profiles?q={surname}", "profile": f"/profiles/{profile['id']}",
            "case": f"/cases/{case['id']}", "my actions": "/actions", "notifications": "/notifications"}


def time_pages(session: requests.Session, url: str, pages: dict, loads: int) -> dict:
    figures = {}
    for name, path in pages.items():
        for _ in range(WARM_UP):
            assert session.get(url + path, timeout=30).status_code == 200, (name, path)
        took = []
        for _ in range(loads):
            started = time.perf_counter()
            page = session.get(url + path, timeout=30)
            took.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200, (name, path, page.status_code)
        figures[name] = {"median_ms": round(statistics.median(took), 1), "max_ms": round(max(took), 1)}
    return figures


def report(figures: dict, loads: int) -> None:
    print(f"page load times, {loads} loads each (ms):")
    for name, figure in figures.items():
        print(f"  {name:<14} median {figure['median_ms']:>7.1f}   max {figure['max_ms']:>7.1f}")
    print(f"load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    print(json.dumps({"loads": loads, "pages": figures, "load_average": os.getloadavg()[0]}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--url", help="a running gateway; without it, a cluster of its own is started and seeded")
    parser.add_argument("--username", default=demo.DEMO_SIGN_IN)
    parser.add_argument("--password", default=demo.DEMO_PASSWORD)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.url:
        session = web_session(args.url, args.username, args.password)
        report(time_pages(session, args.url, main_pages(session, args.url), args.loads), args.loads)
        return
    cluster = bench_run.Cluster()
    try:
        cluster.start_all()
        url = cluster.gateway_url
        with cluster.rpc(SYSTEM) as rpc:
            demo.seed(url, rpc)
        session = web_session(url, args.username, args.password)
        report(time_pages(session, url, main_pages(session, url), args.loads), args.loads)
    finally:
        if not args.keep:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
