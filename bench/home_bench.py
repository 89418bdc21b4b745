"""Home page benchmark: how long the dashboard (GET /) takes for the demo practitioner.

  .venv/bin/python bench/home_bench.py [--loads N] [--keep]

Starts the five services and a gateway (bench/run.py's Cluster) on a vhost and databases of their own, seeds the
demo (directory, profiles, family, cases: concord_common/demo.py), signs in through the web form as the demo
practitioner, opens each demo case and profile the practitioner may see (so "Records you opened recently" has
something to name), warms up with 3 loads, then times N (default 10) loads of GET / one after another on a
kept-alive connection. Prints the median and the maximum in ms, and the machine's load average (figures taken
on a shared machine mean little without it). Everything is removed afterwards (unless --keep).
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("concord_bench_run", HERE / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)     # monkey-patches eventlet, as our processes do

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from concord_common import demo  # noqa: E402
from concord_common.context import SYSTEM  # noqa: E402


def web_session(url: str, username: str) -> requests.Session:
    session = requests.Session()
    form = session.get(url + "/sign-in", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed_in = session.post(url + "/sign-in", data={"username": username, "password": demo.DEMO_PASSWORD,
                                                     "csrf_token": token}, allow_redirects=False, timeout=30)
    assert signed_in.status_code == 303, signed_in.text[:300]
    return session


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    cluster = bench_run.Cluster()
    try:
        cluster.start_all()
        url = cluster.gateway_url
        with cluster.rpc(SYSTEM) as rpc:
            demo.seed(url, rpc)
        api = demo._signed_in(url, demo.DEMO_SIGN_IN)
        for path in ("/api/v1/cases?limit=50", "/api/v1/profiles?q=av&limit=50"):
            for item in requests.get(url + path, headers=api, timeout=30).json()["items"]:
                if item["access"] == "full":
                    kind = "cases" if path.startswith("/api/v1/cases") else "profiles"
                    requests.get(f"{url}/api/v1/{kind}/{item['id']}", headers=api, timeout=30)
        home = web_session(url, demo.DEMO_SIGN_IN)
        for _ in range(3):
            assert home.get(url + "/", timeout=30).status_code == 200
        took = []
        for _ in range(args.loads):
            started = time.perf_counter()
            page = home.get(url + "/", timeout=30)
            took.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200 and "Records you opened recently" in page.text
        print(f"GET / x{args.loads}: median {statistics.median(took):.1f} ms, max {max(took):.1f} ms "
              f"(all: {', '.join(f'{value:.1f}' for value in took)}); load average {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
