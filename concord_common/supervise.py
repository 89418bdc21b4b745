"""`concord up|down|status`: every component as N supervised processes.

supervisord (pinned, from PyPI) restarts a process that dies. Services run as
REPLICAS processes each consuming the same queues; the gateway runs as
GATEWAY_REPLICAS processes bound to one address with SO_REUSEPORT, so the
kernel balances connections between them.
"""
import os
import subprocess
import sys
from pathlib import Path

from concord_common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("CONCORD_VAR", ROOT / "var"))
CONF = VAR / "supervisord.conf"
OPS_PORT_BASE = {name: 9110 + 10 * index for index, name in enumerate(SERVICE_NAMES)}


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
    for component in (*SERVICE_NAMES, "gateway"):
        ops = ""
        if component in OPS_PORT_BASE:
            ops = f'environment=OPS_PORT="{OPS_PORT_BASE[component]}%(process_num)d"\n'
        sections.append(f"""[program:{component}]
command={concord} serve {component}
process_name=%(program_name)s-%(process_num)d
numprocs={replicas(component)}
{ops}autorestart=true
startsecs=2
startretries=10
stopsignal=TERM
stopwaitsecs=20
stdout_logfile={VAR}/log/%(program_name)s-%(process_num)d.log
stdout_logfile_maxbytes=20MB
redirect_stderr=true
""")
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


def down() -> None:
    if CONF.exists():
        supervisorctl("shutdown")


def status() -> int:
    return supervisorctl("status")
