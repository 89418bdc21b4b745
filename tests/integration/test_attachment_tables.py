"""The shared attachment tables (concord_common/attachments/tables.py) are exactly the ones profiles migration
0004 created, so profiles moved onto them with no data migration; and each service's models match its
migrations for them."""
from pathlib import Path
from types import SimpleNamespace

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from concord_common import migrate
from concord_common.attachments.tables import create_attachment_tables
from tests import support

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _catalog(conn, schema: str, table: str) -> dict:
    """Columns, constraints, indexes and storage of one table, with its schema's name taken out."""
    regclass = f"{schema}.{table}"

    def rows(sql):
        return [tuple(str(value).replace(f"{schema}.", "") for value in row)
                for row in conn.execute(text(sql), {"schema": schema, "table": table, "rel": regclass})]
    conn.execute(text(f"SET search_path TO {schema}"))
    return {
        "columns": rows("SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                        "WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position"),
        "constraints": rows("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                            "WHERE conrelid = CAST(:rel AS regclass) ORDER BY conname"),
        "indexes": rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :schema "
                        "AND tablename = :table ORDER BY indexname"),
        "storage": rows("SELECT attname, attstorage FROM pg_attribute WHERE attrelid = CAST(:rel AS regclass) "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"),
    }


def _migrated(service_config, service):
    config = service_config(service)
    config["DATABASE_NAME"] = config["DATABASE_NAME"] + "_attachment_tables"
    url = support.database_url_for(config)
    migrate.upgrade(url, SERVICES / service / "migrations")
    return create_engine(url)


def _table_of(diff) -> str | None:
    if isinstance(diff, list):                  # a column's changes: [("modify_…", schema, table, column, …)]
        return diff[0][2]
    item = diff[1]
    return getattr(getattr(item, "table", None), "name", None) or getattr(item, "name", None)


def _differences(engine, metadata, names) -> list:
    with engine.connect() as conn:
        return [diff for diff in compare_metadata(MigrationContext.configure(conn), metadata)
                if _table_of(diff) in names]


def test_the_shared_definition_is_what_profiles_migration_0004_made(service_config):
    from services.profiles import models
    engine = _migrated(service_config, "profiles")
    names = ("profile_attachments", "profile_attachment_contents")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA shared"))
            conn.execute(text("CREATE TABLE shared.profiles (id uuid PRIMARY KEY)"))
            conn.execute(text("SET search_path TO shared"))
            create_attachment_tables(SimpleNamespace(get_bind=lambda: conn, execute=lambda sql: conn.execute(text(sql))),
                                     "profile", "profiles", kinds=("document", "photo"))
        with engine.connect() as conn:
            for name in names:
                assert _catalog(conn, "shared", name) == _catalog(conn, "public", name), name
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA shared CASCADE"))
        engine.dispose()                         # connections that had the search path changed
        assert _differences(engine, models.Base.metadata, names) == []
    finally:
        engine.dispose()


def test_the_cases_models_match_their_migration(service_config):
    from services.cases import models
    engine = _migrated(service_config, "cases")
    try:
        assert _differences(engine, models.Base.metadata, ("case_attachments", "case_attachment_contents")) == []
        with engine.connect() as conn:
            storage = dict(_catalog(conn, "public", "case_attachment_contents")["storage"])
        assert storage["content"] == "e"          # out of line, uncompressed
    finally:
        engine.dispose()
