"""Many rows into one table with COPY, on a session's own connection (so inside its transaction).

An executemany INSERT still runs one statement per row on the server (psycopg pipelines them, but each is
planned and executed); COPY ... FROM STDIN streams every row into one command — for a bulk import's batch of
hundreds of profiles, their child rows, history and events, the difference is most of the write's cost.
Triggers and constraints apply as for INSERT. Columns not given take their defaults.
"""
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Table
from sqlalchemy.exc import DBAPIError


def copy_rows(session, table: Table, rows: list[dict]) -> None:
    """Write `rows` (dicts with the same keys) to `table`. A JSON column's None is written as JSON null, as
    SQLAlchemy writes a None it is given (JSON.none_as_null is off). The driver's errors are raised as SQLAlchemy's
    (an IntegrityError for a unique key, as an INSERT through the session would raise)."""
    if not rows:
        return
    columns = list(rows[0])
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]
    command = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    raw = session.connection().connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(command) as copy:
            for row in rows:
                copy.write_row([Jsonb(row[name]) if json else row[name] for name, json in zip(columns, as_json)])
    except psycopg.Error as exc:
        raise DBAPIError.instance(command.as_string(raw), None, exc, psycopg.Error) from exc
