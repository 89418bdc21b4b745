"""The permissions migrations build exactly what models.py describes, and step back down cleanly."""
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from concord_common import migrate
from services.permissions import models
from tests import support

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "permissions" / "migrations"
MESSAGING_TABLES = {"outbox", "processed_messages"}     # from concord_common (0001), not models.py
COMMON_TABLES = MESSAGING_TABLES | {"idempotency_keys"}  # from concord_common (0004)


def _table_of(diff) -> str | None:
    item = diff[1]
    table = getattr(item, "table", None)
    return getattr(table, "name", None) or getattr(item, "name", None)


def test_migrations_match_the_models_and_downgrade(service_config):
    config = service_config("permissions")
    config["DATABASE_NAME"] = config["DATABASE_NAME"] + "_migrations"
    url = support.database_url_for(config)
    migrate.upgrade(url, MIGRATIONS)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diffs = [diff for diff in compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
                     if _table_of(diff) not in COMMON_TABLES]
        assert diffs == []

        with engine.begin() as conn:
            alembic_config = Config()
            alembic_config.set_main_option("script_location", str(MIGRATIONS))
            alembic_config.attributes["connection"] = conn
            command.downgrade(alembic_config, "0001")
        assert set(inspect(engine).get_table_names()) == MESSAGING_TABLES | {"alembic_version"}
        migrate.upgrade(url, MIGRATIONS)
        assert set(models.Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
