"""`concord up|down|status`: every component as N supervised processes.

supervisord (pinned, from PyPI) restarts a process that dies. Services run as
REPLICAS processes each consuming the same queues; the gateway runs as
GATEWAY_REPLICAS processes bound to one address with SO_REUSEPORT, so the
kernel balances connections between them.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

from concord_common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("CONCORD_VAR", ROOT / "var"))
CONF = VAR / "supervisord.conf"


def ops_port_base(service: str) -> int:
    """Replica n of the k-th service serves /healthz and /metrics on OPS_PORT_BASE + 100k + n."""
    return int(os.environ.get("OPS_PORT_BASE", "9100")) + 100 * SERVICE_NAMES.index(service)


def replicas(component: str) -> int:
    specific = os.environ.get(f"REPLICAS_{component.upper()}")
    default = os.environ.get("GATEWAY_REPLICAS" if component == "gateway" else "REPLICAS", "2")
    return max(1, int(specific or default))


def render_config() -> str:
    concord = Path(sys.executable).parent / "concord"
    sections = [f"""[unix_http_server]
file={VAR}/supervisor.sock

[supervisord]
logfile={VAR}/log/supervisord.log
pidfile={VAR}/supervisord.pid
directory={ROOT}
childlogdir={VAR}/log

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{VAR}/supervisor.sock
"""]
    # One [program] per replica (not numprocs) so each can get its own ops port.
    for component in (*SERVICE_NAMES, "gateway"):
        names = [f"{component}-{n}" for n in range(replicas(component))]
        for n, name in enumerate(names):
            environment = f'CONCORD_REPLICA="{n}"'
            if component in SERVICE_NAMES:
                environment += f',OPS_PORT="{ops_port_base(component) + n}"'
            sections.append(f"""[program:{name}]
command={concord} serve {component}
environment={environment}
autorestart=true
startsecs=2
startretries=10
stopsignal=TERM
stopwaitsecs=20
stdout_logfile={VAR}/log/{name}.log
stdout_logfile_maxbytes=20MB
redirect_stderr=true
""")
        sections.append(f"[group:{component}]\nprograms={','.join(names)}\n")
    return "\n".join(sections)


def supervisorctl(*args) -> int:
    return subprocess.call([str(Path(sys.executable).parent / "supervisorctl"), "-c", str(CONF), *args])


def up() -> None:
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    CONF.write_text(render_config())
    if (VAR / "supervisord.pid").exists() and supervisorctl("pid") == 0:
        supervisorctl("reread")
        supervisorctl("update")
        supervisorctl("restart", "all")
        return
    subprocess.check_call([str(Path(sys.executable).parent / "supervisord"), "-c", str(CONF)])


def down(timeout: float = 60) -> None:
    """Stop every process (each finishes the work in hand) and wait until they are gone."""
    pidfile = VAR / "supervisord.pid"
    if not CONF.exists() or not pidfile.exists():
        return
    pid = int(pidfile.read_text().strip() or 0)
    supervisorctl("shutdown")
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def status() -> int:
    return supervisorctl("status")
