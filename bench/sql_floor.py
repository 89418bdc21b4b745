"""The direct-SQL floor of a service read: the statements the service's own logic runs, replayed on one psycopg
connection (no RPC, no gateway, no Python between them), so a benchmark can time the service and its floor side by
side in one run, on the same database, interleaved.

capture(database_url, source, caller, fn, *args) runs `fn(uow, *args)` in a unit of work as `caller` (the service's
logic, in this process) and returns the statements it sent with their parameters. replay(conn, statements, swap)
sends them again in one transaction and commits, with parameter values swapped (another profile's id, another
search's terms); an INSERT gets a fresh `id`, so the outbox rows it writes are new ones, as the service's are.
"""
import uuid

from sqlalchemy import create_engine, event

from concord_common.context import new_request_id
from concord_common.db import unit_of_work


def capture(database_url: str, source: str, caller, fn, *args) -> list[tuple[str, dict]]:
    engine = create_engine(database_url, pool_size=1)
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, dict(parameters) if isinstance(parameters, dict) else parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with unit_of_work(engine, source, caller, new_request_id()) as uow:
            fn(uow, *args)
    finally:
        engine.dispose()
    return sent


def _swapped(value, swap: dict):
    if isinstance(value, str):
        for old, new in swap.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_swapped(item, swap) for item in value)
    return value


def replay(conn, statements, swap: dict | None = None) -> None:
    """One transaction on a psycopg connection (not in autocommit), committed."""
    swap = swap or {}
    with conn.cursor() as cursor:
        for statement, parameters in statements:
            if isinstance(parameters, dict):
                parameters = {key: _swapped(value, swap) for key, value in parameters.items()}
                if statement.lstrip().upper().startswith("INSERT") and "id" in parameters:
                    parameters["id"] = str(uuid.uuid4())
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    conn.commit()
