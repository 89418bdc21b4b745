"""`concord restart --rolling COMPONENT…|all`: replace the replicas of a component one at a time under `concord up`.

Each replica is restarted by supervisord (SIGTERM: a service finishes the work in hand and its unacked messages go
back to the queue for the other replicas; a gateway drains, gateway/drain.py) and the next waits until the new
process is ready:

* its ops port answers /healthz as a new process (another instance id);
* a service: its RPC queue has as many consumers as the component has replicas again;
* the gateway: /readyz answers 200 (every service answers it).
"""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from concord_common import supervise
from concord_common.settings import SERVICE_NAMES

COMPONENTS = (*SERVICE_NAMES, "gateway")
READY_TIMEOUT = 120.0


class NotReady(RuntimeError):
    pass


def components(names: list[str]) -> list[str]:
    if not names or names == ["all"]:
        return list(COMPONENTS)
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown:
        raise SystemExit(f"unknown component {', '.join(unknown)}; one of: all, {', '.join(COMPONENTS)}")
    return names


def _get_json(url: str, timeout: float = 2.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (OSError, ValueError):
        return 0, {}


def instance(component: str, n: int) -> str | None:
    """The instance id (host:pid) the replica's ops port answers with, or None while it does not answer."""
    status, body = _get_json(f"http://127.0.0.1:{supervise.ops_port_base(component) + n}/healthz")
    return body.get("instance") if status == 200 else None


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise NotReady(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


def wait_ready(component: str, n: int, old_instance: str | None, amqp_uri: str, gateway_url: str,
               timeout: float = READY_TIMEOUT) -> None:
    name = f"{component}-{n}"
    _wait(lambda: instance(component, n) not in (None, old_instance), f"{name}'s /healthz (a new process)", timeout)
    if component == "gateway":
        _wait(lambda: _get_json(f"{gateway_url}/readyz", timeout=5)[0] == 200, "the gateway's /readyz", timeout)
        return
    from concord_common.rpc import count_consumers
    wanted = supervise.replicas(component)
    _wait(lambda: count_consumers(amqp_uri, component) >= wanted, f"{wanted} consumers on rpc-{component}", timeout)


def supervisorctl(*args) -> str:
    result = subprocess.run([str(Path(sys.executable).parent / "supervisorctl"), "-c", str(supervise.CONF), *args],
                            capture_output=True, text=True)
    if result.returncode != 0 or "ERROR" in result.stdout:
        raise NotReady(f"supervisorctl {' '.join(args)}: {result.stdout.strip()} {result.stderr.strip()}")
    return result.stdout


def rolling_restart(names: list[str], amqp_uri: str, gateway_url: str, say=print,
                    timeout: float = READY_TIMEOUT) -> dict[str, float]:
    """Restart every replica of each component in turn; seconds each component took."""
    took = {}
    for component in components(names):
        started = time.monotonic()
        for n in range(supervise.replicas(component)):
            old = instance(component, n)
            replica_started = time.monotonic()
            supervisorctl("restart", f"{component}:{component}-{n}")     # SIGTERM, wait for the exit, start
            wait_ready(component, n, old, amqp_uri, gateway_url, timeout)
            say(f"{component}-{n}: ready again in {time.monotonic() - replica_started:.1f}s")
        took[component] = round(time.monotonic() - started, 2)
        say(f"{component}: every replica replaced in {took[component]:.1f}s")
    return took
