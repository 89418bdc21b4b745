"""`concord`: the operators' command-line tool (its commands: USAGE).

A service adds its own commands through the `concord.cli` entry-point group
(pyproject.toml `[project.entry-points]`): a module with `register(subparsers)`,
which gives each parser it adds `run=` a function (args, parser) -> exit code,
and `USAGE` lines for the help text. This module names no service.
"""
import argparse
import json
import sys
from importlib.metadata import entry_points

COMMANDS_GROUP = "concord.cli"
USAGE = """`concord`: the operators' command-line tool.

  concord serve COMPONENT        run one process of a service or the gateway
  concord migrate [SERVICE…]     create and migrate service databases
  concord up | down | status     all components under supervisord (make run / make stop)
  concord restart --rolling COMPONENT…|all
                                 replace replicas one at a time, each ready before the next (docs/deployment.md)
  concord wait-ready [--url U]   wait until the gateway's /readyz answers 200
  concord seed [--url U]         load the demo data set through the gateway
  concord dlq list|show|replay   dead-lettered events
  concord outbox list SERVICE    events not yet published (e.g. unroutable)
  concord admin create --username NAME --password-stdin
                                 create a system administrator (or reset their password)
  concord keys init              a signing key per component and trusted.pub in var/keys (kept if there)
  concord keys new               print a new caller-signing key and its trusted line (compose, rotation)
  concord broker setup [--vhost V]  a vhost and a least-privilege broker user per component (idempotent)
  concord broker quorum-queues [--vhost V]  make classic event and RPC queues quorum, keeping messages (services stopped)
"""


def component_config(component):
    from concord_common.settings import component_config_path, load_config
    return load_config(component_config_path(component))


def system_rpc():
    """RPC as the system itself, signed with the operators' key (docs/security.md)."""
    from concord_common.signed_rpc import operator_rpc
    return operator_rpc(component_config("permissions"))


def _keys(args) -> int:
    """`concord keys init|new`."""
    from concord_common import trust
    if args.action == "new":
        private = trust.new_private_key_text()
        print(f"CONCORD_SIGNING_KEY={private}")
        print(f"# trusted key line: <component>:{trust.public_key_text(trust.private_key(private))}")
        return 0
    from concord_common import broker
    directory = trust.keys_dir()
    created = trust.init_keys(directory)
    for component in (*trust.COMPONENTS, broker.MONITOR):   # the broker users' passwords (`concord broker setup`)
        broker.ensure_password(component, directory)
    print(f"keys in {directory}: " + (f"created {', '.join(created)}" if created else "all present"))
    return 0


def _restart(args) -> int:
    """`concord restart [--rolling] COMPONENT…|all` (concord_common/rolling.py)."""
    from concord_common import rolling, supervise
    names = rolling.components(args.components)
    if not args.rolling:
        return supervise.supervisorctl("restart", *[f"{name}:*" for name in names])
    from concord_common import demo
    try:
        took = rolling.rolling_restart(names, component_config("permissions")["AMQP_URI"], demo.gateway_url(),
                                       timeout=args.timeout)
    except rolling.NotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("rolling restart done: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in took.items()))
    return 0


def print_problem(exc) -> int:
    print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
    for field, messages in (exc.errors or {}).items():
        print(f"  {field}: {' '.join(messages)}", file=sys.stderr)
    return 2


def service_commands() -> list:
    """The modules services contribute commands from, by entry-point name."""
    return [entry.load() for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry: entry.name)]


def main(argv=None):
    contributed = service_commands()
    usage = USAGE + "".join(getattr(module, "USAGE", "") for module in contributed)
    parser = argparse.ArgumentParser(prog="concord", description=usage,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one process of a component")
    serve.add_argument("component")
    migrate = commands.add_parser("migrate", help="create and migrate service databases")
    migrate.add_argument("services", nargs="*")
    commands.add_parser("up", help="start every component under supervisord")
    commands.add_parser("down", help="stop everything started by `up`")
    commands.add_parser("status", help="show supervised processes")
    restart = commands.add_parser("restart", help="restart components started by `up`")
    restart.add_argument("components", nargs="+", metavar="COMPONENT", help="a service, gateway, or all")
    restart.add_argument("--rolling", action="store_true",
                         help="one replica at a time, each ready again before the next (otherwise all at once)")
    restart.add_argument("--timeout", type=float, default=120, help="seconds a replica may take to be ready")
    wait = commands.add_parser("wait-ready", help="wait for the gateway's /readyz")
    wait.add_argument("--url", default=None)
    wait.add_argument("--timeout", type=float, default=120)
    seed = commands.add_parser("seed", help="load the demo data set through the gateway")
    seed.add_argument("--url", default=None)
    dlq = commands.add_parser("dlq", help="dead-lettered events")
    dlq.add_argument("action", choices=["list", "show", "replay"])
    dlq.add_argument("queue", nargs="?")
    dlq.add_argument("--limit", type=int, default=None)
    admin = commands.add_parser("admin", help="system administrators")
    admin.add_argument("action", choices=["create"])
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", required=True,
                       help="read the password from standard input (never from the command line)")
    keys = commands.add_parser("keys", help="the keys that sign callers between components")
    keys.add_argument("action", choices=["init", "new"])
    broker = commands.add_parser("broker", help="the broker's vhost and one least-privilege user per component")
    broker.add_argument("action", choices=["setup", "quorum-queues"])
    broker.add_argument("--vhost", help="default: the vhost of AMQP_URI")
    out = commands.add_parser("outbox", help="events waiting in a service's outbox")
    out.add_argument("action", choices=["list"])
    out.add_argument("service")
    for module in contributed:
        module.register(commands)
    args = parser.parse_args(argv)

    if getattr(args, "run", None) is not None:
        return args.run(args, parser)

    if args.command == "serve":
        import eventlet
        eventlet.monkey_patch()
        from concord_common.runner import serve as run_component
        return run_component(args.component)

    if args.command == "migrate":
        from pathlib import Path

        from concord_common import migrate as migrations
        from concord_common.db import database_url
        from concord_common.settings import SERVICE_NAMES
        root = Path(__file__).resolve().parent.parent
        for service in args.services or SERVICE_NAMES:
            migrations.upgrade(database_url(component_config(service)), root / "services" / service / "migrations")
            print(f"{service}: migrated")
        return 0

    if args.command in ("up", "down", "status"):
        from concord_common import supervise
        return getattr(supervise, args.command)() or 0

    if args.command == "restart":
        return _restart(args)

    if args.command in ("wait-ready", "seed"):
        from concord_common import demo
        url = args.url or demo.gateway_url()
        if args.command == "wait-ready":
            return 0 if demo.wait_ready(url, args.timeout) else 1
        with system_rpc() as rpc:
            users = demo.seed(url, rpc)
        print(f"demo data loaded; every demo user's password is {demo.DEMO_PASSWORD!r}:")
        for user in users:
            extra = f"  ({', '.join(user['roles'])})" if user.get("roles") else ""
            print(f"  {user['username']:<18} {user['role']:<13} {user['team']}, {user['organisation']}{extra}")
        return 0

    if args.command == "admin":
        from concord_common.errors import ConcordError
        password = sys.stdin.readline().rstrip("\r\n")
        try:
            with system_rpc() as rpc:
                result = rpc.permissions.admin_create(args.username, password)
        except ConcordError as exc:
            return print_problem(exc)
        print(f"system administrator {result['username']} {'created' if result['created'] else 'updated'}")
        return 0

    if args.command == "dlq":
        from concord_common import operations
        amqp_uri = component_config("audit")["AMQP_URI"]
        if args.action == "list":
            for queue, count in operations.dead_letter_counts(amqp_uri).items():
                print(f"{count:8d}  {queue}.dlq")
            return 0
        if not args.queue:
            parser.error("dlq show|replay needs the handler's queue name (see `concord dlq list`)")
        if args.action == "show":
            for item in operations.peek_dead_letters(amqp_uri, args.queue, args.limit or 20):
                print(json.dumps(item, default=str))
            return 0
        moved = operations.replay_dead_letters(amqp_uri, args.queue, args.limit)
        print(f"replayed {moved} event(s) into {args.queue}")
        return 0

    if args.command == "keys":
        return _keys(args)

    if args.command == "broker" and args.action == "quorum-queues":
        from concord_common import queue_migration
        done = queue_migration.migrate(component_config("permissions")["AMQP_URI"], args.vhost)
        print(f"{len(done)} classic event queue(s) now quorum")
        return 0
    if args.command == "broker":
        from concord_common import broker as accounts
        users = accounts.setup(component_config("permissions")["AMQP_URI"], args.vhost)
        print(f"broker users ({', '.join(users.values())}); passwords in {accounts.password_path('gateway').parent}")
        return 0

    if args.command == "outbox":
        from concord_common import operations
        from concord_common.db import database_url
        for row in operations.pending_outbox(database_url(component_config(args.service))):
            print(json.dumps(row, default=str))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
