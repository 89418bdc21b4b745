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
# SIGTERM, then this long to finish the work in hand (a gateway: drain, GATEWAY_DRAIN_SECONDS) before SIGKILL;
# as Kubernetes' terminationGracePeriodSeconds. A loaded service can take 15 s to stop.
STOP_WAIT_SECONDS = 40


def ops_port_base(component: str) -> int:
    """Replica n of the k-th component (the services, then the gateway) serves /healthz and /metrics on
    OPS_PORT_BASE + 100k + n."""
    order = (*SERVICE_NAMES, "gateway")
    return int(os.environ.get("OPS_PORT_BASE", "9100")) + 100 * order.index(component)


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
            environment = f'CONCORD_REPLICA="{n}",OPS_PORT="{ops_port_base(component) + n}"'
            sections.append(f"""[program:{name}]
command={concord} serve {component}
environment={environment}
autorestart=true
startsecs=2
startretries=10
stopsignal=TERM
stopwaitsecs={STOP_WAIT_SECONDS}
stdout_logfile={VAR}/log/{name}.log
stdout_logfile_maxbytes=20MB
redirect_stderr=true
""")
        sections.append(f"[group:{component}]\nprograms={','.join(names)}\n")
    sections += mail_catcher_section()
    return "\n".join(sections)


def mail_catcher_section() -> list[str]:
    """`make run`'s local mail catcher (MAIL_CATCHER=host:port): every e-mail Concord sends, kept in var/mail/."""
    where = os.environ.get("MAIL_CATCHER")
    if not where:
        return []
    host, _, port = where.rpartition(":")
    return [f"""[program:mailcatcher]
command={sys.executable} -m concord_common.mailcatcher --host {host or '127.0.0.1'} --port {port} --dir {VAR}/mail
autorestart=true
startsecs=1
stopsignal=TERM
stdout_logfile={VAR}/log/mailcatcher.log
redirect_stderr=true
"""]


def supervisorctl(*args) -> int:
    return subprocess.call([str(Path(sys.executable).parent / "supervisorctl"), "-c", str(CONF), *args])


def up() -> None:
    from concord_common import trust
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    trust.init_keys(trust.keys_dir())       # the components sign callers (docs/security.md); kept if there
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
