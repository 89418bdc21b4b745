"""Least-privilege RabbitMQ accounts: each component connects as its own user.

`concord broker setup` creates the vhost, one user per component (password in
the keys directory, `broker-<component>.password`, made once) and permissions
that allow only that component's own queues and exchanges:

  rpc-<c>, rpc.reply-<c>-<uuid>        its RPC queue and reply queues
  evt-<source>-<type>--<c>.<method>    its event queues (and their .retry.<n>ms / .dlq queues)
  <c>.events                           the exchange it publishes events to
  nameko-rpc                           RPC requests and replies (topic permissions below)
  <source>.events                      read (bind) only for the sources it consumes

On the topic exchange nameko-rpc, topic permissions say which routing keys a
user may publish (the services it calls, and replies) and bind (its own
`<c>.*` and reply ids): no component can bind a queue that receives another's
calls, such as `permissions.authenticate` with a password in it. Idempotent:
users that exist get their password and permissions set again.
"""
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from concord_common import record_types, trust
from concord_common.settings import SERVICE_NAMES

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REPLY_QUEUE_OWNER = {trust.OPERATOR: "standalone_rpc_proxy"}      # nameko's name for a standalone proxy
# Which services each component calls (tests/unit/test_broker_permissions.py holds it to the code). The audit
# service asks a record's owning service whether a reader may read its log; permissions asks owners to apply
# grants and transfers: both reach every record-owning service of the registry.
RECORD_OWNERS = record_types.owning_services()
CALLS = {"gateway": SERVICE_NAMES, "profiles": ("permissions",), "cases": ("permissions", "profiles"),
         "permissions": RECORD_OWNERS, "audit": ("permissions", *RECORD_OWNERS),
         "notifications": ("permissions",),            # permissions: e-mail addresses (email_recipients)
         trust.OPERATOR: ("permissions", "audit", "cases")}     # cases: the demo's actions
CONSUMES = {"gateway": ("permissions",), "audit": SERVICE_NAMES, "notifications": ("permissions", "profiles", "cases")}
USER_PREFIX = "concord-"
MONITOR = "monitor"      # a broker user, not a component: it only reads queue depths


def _any(*patterns) -> str:
    return "^(" + "|".join(patterns) + ")$"


def permissions_for(component: str) -> dict:
    """{configure, write, read, topic_write, topic_read} regexes of one component's broker user."""
    replies = rf"rpc\.reply-{REPLY_QUEUE_OWNER.get(component, component)}-{UUID}"
    if component == trust.OPERATOR:          # RPC (CALLS); reads and replays dead letters
        queues, own_exchanges, dead_letters = [replies], [], [r"evt-.*\.dlq"]
    else:
        queues, own_exchanges, dead_letters = [f"rpc-{component}", replies, rf"evt-.*--{component}\..*"], \
            [rf"{component}\.events"], []
    sources = [rf"{source}\.events" for source in CONSUMES.get(component, ())]
    callees = "|".join(CALLS.get(component, ())) or "-"
    return {
        "configure": _any(*queues, *own_exchanges, *sources, "nameko-rpc"),
        "write": _any(*queues, *own_exchanges, "nameko-rpc", r"amq\.default"),
        "read": _any(*queues, *sources, *dead_letters, "nameko-rpc"),
        "topic_write": _any(rf"({callees})\.[a-z_0-9]+", UUID),
        "topic_read": _any(rf"{component}\.\*", UUID),
    }


def password_path(component: str, directory: Path | None = None) -> Path:
    return (directory or trust.keys_dir()) / f"broker-{component}.password"


def ensure_password(component: str, directory: Path | None = None) -> str:
    path = password_path(component, directory)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        # hex: a url-safe token may start with '-', which rabbitmqctl reads as an option (1 in 64 setups failed)
        path.write_text(secrets.token_hex(24) + "\n")
    return path.read_text().strip()


def component_uri(uri: str, component: str, directory: Path | None = None,
                  user_prefix: str = USER_PREFIX) -> str:
    """`uri` with the component's own broker user, if it has one (CONCORD_BROKER_PASSWORD[_FILE] in the
    environment, or the password file `concord broker setup` wrote); else `uri` unchanged."""
    password = os.environ.get("CONCORD_BROKER_PASSWORD")
    if not password and os.environ.get("CONCORD_BROKER_PASSWORD_FILE"):
        password = Path(os.environ["CONCORD_BROKER_PASSWORD_FILE"]).read_text().strip()
    path = password_path(component, directory)
    if not password and path.exists():
        password = path.read_text().strip()
    if not password:
        return uri
    user = os.environ.get("CONCORD_BROKER_USER") or user_prefix + component
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{quote(user, safe='')}:{quote(password, safe='')}@{host}", parts.path,
                       parts.query, parts.fragment))


def vhost_of(uri: str) -> str:
    path = urlsplit(uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


class _Ctl:
    """rabbitmqctl on this machine, else the management HTTP API (port 15672) with the admin URI's user."""

    def __init__(self, admin_uri: str):
        parts = urlsplit(admin_uri)
        self.ctl = shutil.which("rabbitmqctl") if parts.hostname in ("127.0.0.1", "localhost") else None
        self.api = f"http://{parts.hostname}:15672/api"
        self.auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
        self.admin = self.auth[0]

    def _run(self, *args):
        subprocess.run([self.ctl, "-q", *args], check=True, capture_output=True)

    def _http(self, method, path, body=None):
        import requests
        response = requests.request(method, self.api + path, json=body, auth=self.auth, timeout=10)
        if response.status_code not in (200, 201, 204, 404) or (response.status_code == 404 and method != "DELETE"):
            response.raise_for_status()

    def vhost(self, name):
        if self.ctl:
            subprocess.run([self.ctl, "-q", "add_vhost", name], capture_output=True)     # exists: fine
        else:
            self._http("PUT", f"/vhosts/{quote(name, safe='')}")

    def user(self, name, password, tags=""):
        if self.ctl:
            if subprocess.run([self.ctl, "-q", "add_user", name, password], capture_output=True).returncode:
                self._run("change_password", name, password)
            self._run("set_user_tags", name, *[tag for tag in tags.split(",") if tag])
        else:
            self._http("PUT", f"/users/{quote(name, safe='')}", {"password": password, "tags": tags})

    def permissions(self, vhost, user, configure, write, read):
        if self.ctl:
            self._run("set_permissions", "-p", vhost, user, configure, write, read)
        else:
            self._http("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                       {"configure": configure, "write": write, "read": read})

    def topic_permissions(self, vhost, user, exchange, write, read):
        if self.ctl:
            self._run("set_topic_permissions", "-p", vhost, user, exchange, write, read)
        else:
            self._http("PUT", f"/topic-permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                       {"exchange": exchange, "write": write, "read": read})

    def queues(self, vhost) -> list[dict]:
        """[{name, type, consumers, arguments: {key: value}}] of the vhost's queues."""
        if self.ctl:
            out = subprocess.run([self.ctl, "-q", "list_queues", "-p", vhost, "name", "type", "consumers",
                                  "arguments", "--formatter", "json"], check=True, capture_output=True, text=True)
            rows = json.loads(out.stdout or "[]")
            for row in rows:
                row["arguments"] = {key: value for key, _, value in row["arguments"]}
            return rows
        return [{"name": q["name"], "type": q.get("type", "classic"), "consumers": q.get("consumers", 0),
                 "arguments": q.get("arguments") or {}}
                for q in self._get(f"/queues/{quote(vhost, safe='')}")]

    def bindings(self, vhost, queue) -> list[tuple[str, str]]:
        """(exchange, routing key) of the queue's bindings, but the default exchange's."""
        if self.ctl:
            out = subprocess.run([self.ctl, "-q", "list_bindings", "-p", vhost, "source_name", "destination_name",
                                  "destination_kind", "routing_key", "--formatter", "json"], check=True,
                                 capture_output=True, text=True)
            rows = json.loads(out.stdout or "[]")
        else:
            rows = [dict(b, source_name=b["source"], destination_name=b["destination"],
                         destination_kind=b["destination_type"])
                    for b in self._get(f"/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}/bindings")]
        return [(row["source_name"], row["routing_key"]) for row in rows
                if row["destination_kind"] == "queue" and row["destination_name"] == queue and row["source_name"]]

    def _get(self, path):
        import requests
        response = requests.get(self.api + path, auth=self.auth, timeout=10)
        response.raise_for_status()
        return response.json()

    def delete_user(self, name):
        if self.ctl:
            subprocess.run([self.ctl, "-q", "delete_user", name], capture_output=True)
        else:
            self._http("DELETE", f"/users/{quote(name, safe='')}")


def setup(admin_uri: str, vhost: str | None = None, directory: Path | None = None,
          user_prefix: str = USER_PREFIX, components=trust.COMPONENTS) -> dict:
    """Create the vhost, the users and their permissions (again, harmlessly, if they exist).
    The admin user of `admin_uri` gets full rights on the vhost (to run `concord dlq` and set up)."""
    ctl = _Ctl(admin_uri)
    vhost = vhost or vhost_of(admin_uri)
    ctl.vhost(vhost)
    ctl.permissions(vhost, ctl.admin, ".*", ".*", ".*")
    users = {}
    for component in components:
        user = user_prefix + component
        ctl.user(user, ensure_password(component, directory))
        rules = permissions_for(component)
        ctl.permissions(vhost, user, rules["configure"], rules["write"], rules["read"])
        ctl.topic_permissions(vhost, user, "nameko-rpc", rules["topic_write"], rules["topic_read"])
        users[component] = user
    # Reads queue depths over the management API (KEDA scales the services on them; Prometheus exporters):
    # the `monitoring` tag, and a vhost permission that allows no configure, write or read of any queue.
    monitor = user_prefix + MONITOR
    ctl.user(monitor, ensure_password(MONITOR, directory), tags="monitoring")
    ctl.permissions(vhost, monitor, "^$", "^$", "^$")
    users[MONITOR] = monitor
    return users


def remove_users(admin_uri: str, users) -> None:
    ctl = _Ctl(admin_uri)
    for user in users:
        ctl.delete_user(user)
