"""The practitioners' workload for locust (runs in .venv-capacity only: gevent, never beside eventlet).

Each locust user is one browser tab of a signed-in demo practitioner (the session and CSRF cookies the
orchestrator got by signing in through the web form; many users share a practitioner as tabs would) and does
one page every 1 / PAGES_PER_USER_PER_S seconds from a random first moment (wait_time), choosing by the issue's
mix (workload.MIX):

  search     GET /profiles?q=<a seeded person's name>
  profile    GET /profiles/<id>                    (a profile the practitioner's team leads)
  case       GET /cases/<id>                       (a case the team leads)
  note       POST /cases/<id>/notes (CSRF token), then the case page it redirects to
  action     POST /cases/<id>/actions/<action id>  (in progress, due date moved), then the case page
  dashboard  GET /                                 (home: My actions, recently viewed, …)

A page is timed from the first byte sent to the last byte of the page shown (a POST's 303 and the GET it leads
to are one page, as the browser shows one). Pages are recorded in PAGES (name, ms, ok) for load.py; locust's
own per-request statistics are kept too.
"""
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import gevent
from locust import FastHttpUser, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402

FIXTURE = json.loads(Path(os.environ["CAPACITY_FIXTURE"]).read_text())
PERIOD = 1 / workload.PAGES_PER_USER_PER_S     # seconds between one tab's pages
PAGES: list = []            # (name, ms, ok, detail) of every page done; load.py reads and clears it
DONE = [0]                  # every page done, warm-ups too (for rows written per page)
SIGNED_OUT_MARK = b'name="password"'
_next_practitioner = iter(range(10 ** 9))


def record(name: str, started: float, ok: bool, detail: str = "") -> None:
    PAGES.append((name, (time.perf_counter() - started) * 1000, ok, detail))
    DONE[0] += 1


class Practitioner(FastHttpUser):
    host = FIXTURE["url"]
    connection_timeout = 30.0
    network_timeout = 30.0

    def on_start(self):
        people = FIXTURE["practitioners"]
        self.person = people[next(_next_practitioner) % len(people)]
        self.team = FIXTURE["teams"][self.person["team"]]
        self.headers = {"Cookie": self.person["cookie"], "Accept": "text/html"}
        self.rng = random.Random()
        # Each tab starts at a random moment of its period and keeps to it (wait_time). With locust's
        # constant_throughput every tab's first wait is counted from the moment the class was set up, so all the
        # tabs of a step asked at the same instant every 2 s and each page waited behind all the others: at
        # 2 pages/s four pages at once, a burst no real set of practitioners makes (p50 165 ms where the same
        # rate, spread, takes 65).
        gevent.sleep(self.rng.uniform(0, PERIOD))
        self.next_page_at = time.perf_counter()

    def wait_time(self):
        """Until this tab's next page is due: one every PERIOD seconds, or at once if the last one overran."""
        now = time.perf_counter()
        start = max(self.next_page_at + PERIOD, now)
        self.next_page_at = start
        return start - now

    def _get(self, name: str, path: str, started: float) -> None:
        with self.client.get(path, headers=self.headers, name=name, allow_redirects=False,
                             catch_response=True) as page:
            ok = page.status_code == 200 and SIGNED_OUT_MARK not in (page.content or b"")
            if ok:
                page.success()
            else:
                page.failure(f"{page.status_code}")
        record(name, started, ok, "" if ok else f"GET {path}: {page.status_code}")

    def _post(self, name: str, path: str, form: dict, started: float) -> None:
        form = {**form, "csrf_token": self.person["csrf"]}
        with self.client.post(path, data=form, headers=self.headers, name=name + " (POST)", allow_redirects=False,
                              catch_response=True) as sent:
            moved = sent.status_code == 303
            target = sent.headers.get("Location") if moved else None
            if moved:
                sent.success()
            else:
                sent.failure(f"{sent.status_code}")
        if not target:
            record(name, started, False, f"POST {path}: {sent.status_code}")
            return
        self._get(name, target if target.startswith("/") else "/" + target.split("/", 3)[-1], started)

    @task(workload.MIX["search"])
    def search(self):
        started = time.perf_counter()
        self._get("search", "/profiles?q=" + self.rng.choice(self.team["searches"]).replace(" ", "+"), started)

    @task(workload.MIX["profile"])
    def profile(self):
        started = time.perf_counter()
        self._get("profile", "/profiles/" + self.rng.choice(self.team["profiles"]), started)

    @task(workload.MIX["case"])
    def case(self):
        started = time.perf_counter()
        self._get("case", "/cases/" + self.rng.choice(self.team["cases"]), started)

    @task(workload.MIX["note"])
    def note(self):
        started = time.perf_counter()
        case_id = self.rng.choice(self.team["cases"])
        self._post("note", f"/cases/{case_id}/notes",
                   {"kind": "update", "text": f"Capacity test: visited, spoke to the family ({self.rng.random():.6f})."},
                   started)

    @task(workload.MIX["action"])
    def action(self):
        started = time.perf_counter()
        case_id, action_id = self.rng.choice(self.team["actions"])
        due = date.today() + timedelta(days=self.rng.randint(1, 120))
        self._post("action", f"/cases/{case_id}/actions/{action_id}",
                   {"status": "in_progress", "note": "", "due-day": str(due.day), "due-month": str(due.month),
                    "due-year": str(due.year), "from": ""}, started)

    @task(workload.MIX["dashboard"])
    def dashboard(self):
        started = time.perf_counter()
        self._get("dashboard", "/", started)
