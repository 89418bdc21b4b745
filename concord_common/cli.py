"""`concord`: the operators' command-line tool.

  concord serve COMPONENT        run one process of a service or the gateway
  concord migrate [SERVICE…]     create and migrate service databases
  concord up | down | status     all components under supervisord (make run / make stop)
  concord wait-ready [--url U]   wait until the gateway's /readyz answers 200
  concord seed [--url U]         load the demo data set through the gateway
  concord dlq list|show|replay   dead-lettered events
  concord outbox list SERVICE    events not yet published (e.g. unroutable)
  concord admin create --username NAME --password-stdin
                                 create a system administrator (or reset their password)
  concord audit verify           recompute the audit hash chain and check its signed checkpoints
  concord audit export --organisation ID [--format csv|json] [--from T] [--to T] [--action A] [-o FILE]
                                 an organisation's audit log (through the audit service; audited)
  concord audit keygen           a new Ed25519 key for AUDIT_SIGNING_KEY (and its public key)
"""
import argparse
import json
import sys


def _config(component):
    from concord_common.settings import component_config_path, load_config
    return load_config(component_config_path(component))


def _system_rpc():
    """RPC as the system itself: only operators with broker access can do this."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from concord_common.context import SYSTEM, new_request_id
    return ClusterRpcProxy(_config("permissions"), timeout=60,
                           context_data={"caller": SYSTEM.to_json(), "request_id": new_request_id()})


def _print_problem(exc) -> int:
    print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
    for field, messages in (exc.errors or {}).items():
        print(f"  {field}: {' '.join(messages)}", file=sys.stderr)
    return 2


def _audit(args, parser) -> int:
    """`concord audit verify|export|keygen`."""
    if args.action == "keygen":
        from services.audit.checkpoints import load_private_key, new_key_text, public_key_text
        private = new_key_text()
        print(f"AUDIT_SIGNING_KEY={private}")
        print(f"# public key (for AUDIT_VERIFY_KEYS once this key is retired): "
              f"{public_key_text(load_private_key(private))}")
        return 0
    config = _config("audit")
    if args.action == "verify":
        # Straight from the database, as its owner: the running service need not be up, nor trusted.
        from sqlalchemy import create_engine

        from concord_common.db import NullPool, database_url
        from services.audit import checkpoints, verification
        engine = create_engine(database_url(config), poolclass=NullPool)
        try:
            result = verification.verify(engine, checkpoints.trusted_keys(config),
                                         checkpoints.Settings.from_config(config))
        finally:
            engine.dispose()
        print(json.dumps(result, indent=2))
        return 0 if result["ok"] else 1
    if not args.organisation:
        parser.error("audit export needs --organisation ID")
    from concord_common.audit_client import export_pages, to_csv
    from concord_common.errors import ConcordError
    query = {key: value for key, value in (("from", args.from_), ("to", args.to), ("action", args.audit_action),
                                           ("format", args.format), ("limit", 5000)) if value}
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    count = 0
    try:
        with _system_rpc() as rpc:
            for number, page in enumerate(export_pages(rpc.audit.organisation_export, args.organisation, query)):
                if args.format == "csv":
                    out.write(to_csv(page["items"], header=number == 0))
                else:
                    out.writelines(json.dumps(item, sort_keys=True) + "\n" for item in page["items"])
                count += len(page["items"])
    except ConcordError as exc:
        return _print_problem(exc)
    finally:
        if args.output:
            out.close()
    print(f"exported {count} audit entries", file=sys.stderr)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="concord", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one process of a component")
    serve.add_argument("component")
    migrate = commands.add_parser("migrate", help="create and migrate service databases")
    migrate.add_argument("services", nargs="*")
    commands.add_parser("up", help="start every component under supervisord")
    commands.add_parser("down", help="stop everything started by `up`")
    commands.add_parser("status", help="show supervised processes")
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
    audit = commands.add_parser("audit", help="the audit log: verify it, export it, make a signing key")
    audit.add_argument("action", choices=["verify", "export", "keygen"])
    audit.add_argument("--organisation", help="export: the organisation whose records' log is exported")
    audit.add_argument("--format", choices=["csv", "json"], default="csv", help="export: CSV, or JSON lines")
    audit.add_argument("--from", dest="from_", help="export: entries at or after this time (ISO 8601)")
    audit.add_argument("--to", help="export: entries before this time (ISO 8601)")
    audit.add_argument("--action", dest="audit_action", help="export: only entries with this action")
    audit.add_argument("-o", "--output", help="export: write to this file instead of standard output")
    out = commands.add_parser("outbox", help="events waiting in a service's outbox")
    out.add_argument("action", choices=["list"])
    out.add_argument("service")
    args = parser.parse_args(argv)

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
            migrations.upgrade(database_url(_config(service)), root / "services" / service / "migrations")
            print(f"{service}: migrated")
        return 0

    if args.command in ("up", "down", "status"):
        from concord_common import supervise
        return getattr(supervise, args.command)() or 0

    if args.command in ("wait-ready", "seed"):
        from concord_common import demo
        url = args.url or demo.gateway_url()
        if args.command == "wait-ready":
            return 0 if demo.wait_ready(url, args.timeout) else 1
        with _system_rpc() as rpc:
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
            with _system_rpc() as rpc:
                result = rpc.permissions.admin_create(args.username, password)
        except ConcordError as exc:
            return _print_problem(exc)
        print(f"system administrator {result['username']} {'created' if result['created'] else 'updated'}")
        return 0

    if args.command == "dlq":
        from concord_common import operations
        amqp_uri = _config("audit")["AMQP_URI"]
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

    if args.command == "audit":
        return _audit(args, parser)

    if args.command == "outbox":
        from concord_common import operations
        from concord_common.db import database_url
        for row in operations.pending_outbox(database_url(_config(args.service))):
            print(json.dumps(row, default=str))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
