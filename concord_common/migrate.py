"""Create a service's database on demand and bring it to the newest migration.

Replicas start together, so migrations run under a PostgreSQL advisory lock.
"""
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from concord_common import db


def ensure_database(url: str) -> None:
    """CREATE DATABASE if it is missing (connecting to the server's `postgres` db)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext('concord-create-db'))"))
            try:
                exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": target.database}).scalar()
                if not exists:
                    conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext('concord-create-db'))"))
    finally:
        admin.dispose()


def upgrade(url: str, migrations_dir: Path, revision: str = "head") -> None:
    ensure_database(url)
    engine = create_engine(url, poolclass=db.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('concord-migrate'))"))
            config = Config()
            config.set_main_option("script_location", str(migrations_dir))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def run_env() -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Run migrations with `concord migrate`, which passes a connection.")
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()
