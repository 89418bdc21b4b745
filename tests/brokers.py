"""RabbitMQ nodes of a test's own, on spare ports, for tests that stop, kill or cluster brokers: a throwaway node
(tests/e2e/test_broker_outage.py) and a three-node cluster (tests/integration/test_broker_cluster.py).
Skipped by their tests where rabbitmq-server is not installed or a node cannot start."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests import support


class ThrowawayBroker:
    """A second RabbitMQ node on spare ports, with its data in a temporary folder (kept across restarts)."""

    def __init__(self, folder: Path, home: Path | None = None):
        wrapper = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
        self.script = Path(os.path.realpath(wrapper)).parent / "rabbitmq-server"   # not the su-ing wrapper
        self.port, self.dist_port = support.free_port(), support.free_port()
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\nloopback_users = none\n")
        (folder / "enabled_plugins").write_text("[].\n")          # no management listener to collide with
        (folder / "rabbitmq-env.conf").write_text("")
        self.name = f"concordtest{self.port}@localhost"
        # HOME holds the Erlang cookie: nodes that share one can cluster, and rabbitmqctl with it reaches them.
        self.env = {**os.environ, "HOME": str(home or folder),
                    "RABBITMQ_NODENAME": self.name, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                    "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"), "RABBITMQ_LOG_BASE": str(folder / "log"),
                    "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
                    "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
                    "ERL_EPMD_ADDRESS": "127.0.0.1"}
        self.process = None

    def start(self, timeout: float = 90) -> float:
        """Start the node; returns the moment (monotonic) it accepted AMQP connections."""
        self.process = subprocess.Popen([str(self.script)], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited with {self.process.returncode}")
            if support.amqp_reachable(self.uri):
                return time.monotonic()
            time.sleep(0.1)
        raise RuntimeError(f"the throwaway broker did not accept connections within {timeout:g}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the node (the Erlang VM and its helpers): no clean shutdown, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def ctl(self, *args, timeout: float = 120) -> str:
        ctl = Path(self.script).parent / "rabbitmqctl"
        return subprocess.run([str(ctl), "-n", self.name, *args], env=self.env, check=True, capture_output=True,
                              text=True, timeout=timeout).stdout


class ThrowawayCluster:
    """Three throwaway nodes sharing a cookie, joined into one cluster. `uri` lists all three (kombu fails over
    to the next when one is gone)."""

    def __init__(self, folder: Path, size: int = 3):
        home = folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(f"CONCORDTESTCLUSTER{support.free_port()}")
        cookie.chmod(0o400)
        self.nodes = [ThrowawayBroker(folder / f"node{n}", home=home) for n in range(size)]
        self.uri = ";".join(node.uri for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start(timeout=120)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")
        running = first.ctl("cluster_status", "--formatter", "json")
        if any(node.name not in running for node in self.nodes):
            raise RuntimeError(f"the nodes did not form one cluster: {running}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
