"""`concord audit …`: the audit service's commands in the operators' tool (entry point `concord.cli`)."""
import json
import sys

from concord_common.cli import component_config, print_problem, system_rpc

USAGE = """\
  concord audit verify           recompute the audit hash chain and check its signed checkpoints
  concord audit export --organisation ID [--format csv|json] [--from T] [--to T] [--action A] [-o FILE]
                                 an organisation's audit log (through the audit service; audited)
  concord audit keygen           a new Ed25519 key for AUDIT_SIGNING_KEY (and its public key)
"""


def register(commands) -> None:
    audit = commands.add_parser("audit", help="the audit log: verify it, export it, make a signing key")
    audit.add_argument("action", choices=["verify", "export", "keygen"])
    audit.add_argument("--organisation", help="export: the organisation whose records' log is exported")
    audit.add_argument("--format", choices=["csv", "json"], default="csv", help="export: CSV, or JSON lines")
    audit.add_argument("--from", dest="from_", help="export: entries at or after this time (ISO 8601)")
    audit.add_argument("--to", help="export: entries before this time (ISO 8601)")
    audit.add_argument("--action", dest="audit_action", help="export: only entries with this action")
    audit.add_argument("-o", "--output", help="export: write to this file instead of standard output")
    audit.set_defaults(run=run)


def run(args, parser) -> int:
    if args.action == "keygen":
        return keygen()
    if args.action == "verify":
        return verify()
    if not args.organisation:
        parser.error("audit export needs --organisation ID")
    return export(args)


def keygen() -> int:
    from services.audit.checkpoints import load_private_key, new_key_text, public_key_text
    private = new_key_text()
    print(f"AUDIT_SIGNING_KEY={private}")
    print(f"# public key (for AUDIT_VERIFY_KEYS once this key is retired): "
          f"{public_key_text(load_private_key(private))}")
    return 0


def verify() -> int:
    """Straight from the database, as its owner: the running service need not be up, nor trusted."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from concord_common.db import database_url
    from services.audit import checkpoints, verification
    config = component_config("audit")
    engine = create_engine(database_url(config), poolclass=NullPool)
    try:
        result = verification.verify(engine, checkpoints.trusted_keys(config),
                                     checkpoints.Settings.from_config(config))
    finally:
        engine.dispose()
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def export(args) -> int:
    from concord_common.audit_client import export_pages, to_csv
    from concord_common.errors import ConcordError
    query = {key: value for key, value in (("from", args.from_), ("to", args.to), ("action", args.audit_action),
                                           ("format", args.format), ("limit", 5000)) if value}
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    count = 0
    try:
        with system_rpc() as rpc:
            for number, page in enumerate(export_pages(rpc.audit.organisation_export, args.organisation, query)):
                if args.format == "csv":
                    out.write(to_csv(page["items"], header=number == 0))
                else:
                    out.writelines(json.dumps(item, sort_keys=True) + "\n" for item in page["items"])
                count += len(page["items"])
    except ConcordError as exc:
        return print_problem(exc)
    finally:
        if args.output:
            out.close()
    print(f"exported {count} audit entries", file=sys.stderr)
    return 0
