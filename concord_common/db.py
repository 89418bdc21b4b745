"""PostgreSQL access for services: engine, unit of work, and the nameko provider.

A unit of work is one transaction. Events raised in it go to the outbox table
in that same transaction; the relay publishes them once it has committed.
"""
import logging
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool  # noqa: F401  (re-exported for migrate)

from concord_common import context as ctx
from concord_common.bulk_insert import copy_rows
from concord_common.messaging_tables import outbox, processed_messages

log = logging.getLogger(__name__)


def make_green() -> None:
    """Make psycopg wait through eventlet-patched select() even if it was imported early."""
    import psycopg.waiting as waiting
    waiting.wait = waiting.wait_select


def database_url(config: dict, name: str | None = None) -> str:
    """The service's own database: DATABASE_URL (server) + DATABASE_NAME."""
    base = make_url(config.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    return base.set(database=name or config["DATABASE_NAME"]).render_as_string(hide_password=False)


def make_engine(url: str, pool_size: int = 10):
    make_green()
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         pool_recycle=1800)


def event_envelope(source: str, event_type: str, data: dict, caller: ctx.Caller | None,
                   request_id: str | None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "source": source,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "request_id": request_id,
        "caller": (caller or ctx.SYSTEM).summary(),
        "data": data,
    }


class UnitOfWork:
    """One transaction; `add_event` queues an event in the outbox within it."""

    def __init__(self, engine, source: str, caller, request_id, on_commit=None):
        self.session = Session(engine, expire_on_commit=False)
        self.source = source
        self.caller = caller
        self.request_id = request_id
        self.on_commit = on_commit
        self.events: list[dict] = []
        self.committed_events: list[dict] = []
        self._held_reads = None         # [record type, record id, [(event type, data)]] inside reads_as_one

    def add_event(self, event_type: str, data: dict) -> dict:
        envelope = event_envelope(self.source, event_type, data, self.caller, self.request_id)
        if self._held_reads is not None and is_read_of(event_type, data, *self._held_reads[:2]):
            self._held_reads[1] = data["record"]["id"]
            self._held_reads[2].append((event_type, data))
            return envelope
        headers = {"nameko.request_id": self.request_id or envelope["id"]}
        if self.caller is not None:
            headers["nameko." + ctx.CALLER_KEY] = self.caller.to_json()
        self.session.execute(insert(outbox).values(
            id=envelope["id"], exchange=f"{self.source}.events", event_type=event_type,
            envelope=envelope, headers=headers))
        self.events.append(envelope)
        return envelope

    def add_events(self, events: list[tuple[str, dict]]) -> list[dict]:
        """Many events in one COPY (a bulk import's batch): the same outbox rows as `add_event` each."""
        headers = {} if self.caller is None else {"nameko." + ctx.CALLER_KEY: self.caller.to_json()}
        rows, envelopes = [], []
        for event_type, data in events:
            envelope = event_envelope(self.source, event_type, data, self.caller, self.request_id)
            rows.append({"id": envelope["id"], "exchange": f"{self.source}.events", "event_type": event_type,
                         "envelope": envelope,
                         "headers": {"nameko.request_id": self.request_id or envelope["id"], **headers}})
            envelopes.append(envelope)
        copy_rows(self.session, outbox, rows)
        self.events.extend(envelopes)
        return envelopes

    @contextmanager
    def reads_as_one(self, record_type: str):
        """The reads of one record (the first of `record_type` read) made inside (`<type>.viewed`,
        `<type>.<part>_viewed`) are recorded as one `<type>.viewed` event naming the parts read: a page built in
        one call is one view in the audit trail, not one per section (a case page was nine entries, six of them
        counted as page views), and one outbox row, broker message and chained entry instead of nine. Anything
        else (a denial, a search) is recorded as it happens. What was read before an error is still recorded."""
        self._held_reads = [record_type, None, []]
        try:
            yield
        finally:
            held, self._held_reads = self._held_reads[2], None
            if held:
                self.add_event(f"{record_type}.viewed", one_read(held))

    def already_processed(self, message_id: str, consumer: str) -> bool:
        """Claim `message_id` for `consumer`; True if an earlier delivery already did."""
        claimed = self.session.execute(
            pg_insert(processed_messages).values(consumer=consumer, message_id=message_id)
            .on_conflict_do_nothing().returning(processed_messages.c.message_id)).first()
        return claimed is None

    def commit(self):
        self.session.commit()
        if self.events and self.on_commit:
            self.on_commit()
        self.committed_events, self.events = self.events, []


def is_read_of(event_type: str, data: dict, record_type: str, record_id: str | None) -> bool:
    """A read of that record (of any record of the type while `record_id` is None)."""
    kind, _, verb = event_type.partition(".")
    record = data.get("record") if isinstance(data.get("record"), dict) else {}
    return (kind == record_type and (verb == "viewed" or verb.endswith("_viewed")) and bool(record.get("id"))
            and record_id in (None, record["id"]))


def one_read(reads: list[tuple[str, dict]]) -> dict:
    """The data of one `<type>.viewed` event standing for several reads of the record: the record's own view
    (level, break glass …; else the first read) with `parts`, every part read in order."""
    base = next((data for event_type, data in reads if event_type.endswith(".viewed") and "part" not in data),
                reads[0][1])
    parts = []
    for event_type, data in reads:
        part = data.get("part") or (None if event_type.endswith(".viewed")
                                    else event_type.split(".", 1)[1].removesuffix("_viewed"))
        if part and part not in parts:
            parts.append(part)
    return {**{key: value for key, value in base.items() if key != "part"}, "parts": parts}


@contextmanager
def unit_of_work(engine, source: str, caller=None, request_id=None, on_commit=None):
    uow = UnitOfWork(engine, source, caller, request_id, on_commit)
    try:
        yield uow
        uow.commit()
    except BaseException:
        uow.session.rollback()
        raise
    finally:
        uow.session.close()


@contextmanager
def _inside(uow):
    """An inner `with db.unit_of_work()` inside an open one: the outer commits or rolls back."""
    yield uow


class DatabaseAccess:
    """What a worker sees as `self.db`."""

    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._joined = None

    @property
    def engine(self):
        return self._provider.engine

    def unit_of_work(self):
        if self._joined is not None:        # inside `idempotent`: one transaction for the key and the write
            return _inside(self._joined)
        data = self._worker_ctx.data
        return unit_of_work(self._provider.engine, self._provider.container.service_name,
                            ctx.caller_from_context_data(data), data.get(ctx.REQUEST_ID_KEY),
                            on_commit=self._provider.relay.wake)

    def separate_unit_of_work(self):
        """A unit of work of its own even inside another (which may roll back): for what must be
        recorded although the call fails (a refused attempt to open a record)."""
        data = self._worker_ctx.data
        return unit_of_work(self._provider.engine, self._provider.container.service_name,
                            ctx.caller_from_context_data(data), data.get(ctx.REQUEST_ID_KEY),
                            on_commit=self._provider.relay.wake)

    def idempotent(self, key: str, operation: str, args, kwargs, run):
        """Run `run()` once per (caller, key, operation): its writes, the key and its answer commit
        together; a repeat gets the stored answer (concord_common.idempotency)."""
        from concord_common import idempotency
        caller = ctx.caller_from_context_data(self._worker_ctx.data)
        who = f"{caller.kind}:{caller.id}"
        fingerprint = idempotency.request_hash(operation, args, kwargs)
        with self.unit_of_work() as uow:
            first, stored = idempotency.claim(uow.session, who, key, operation, fingerprint)
            if not first:
                return stored
            self._joined = uow
            try:
                answer = run()
            finally:
                self._joined = None
            idempotency.store(uow.session, who, key, operation, answer)
        # What the write raised went out with the commit; publish before replying, as a plain call could.
        self.publish_now(uow.committed_events)
        return answer

    def publish_now(self, events: list[dict]) -> None:
        """Publish these committed events in this worker, before it replies.

        For events others must have seen by the time the caller hears back
        (e.g. "drop cached sessions"): the rows committed with the change as
        usual; this only moves their publication before the reply.
        """
        if events:
            self._provider.relay.relay_now([event["id"] for event in events])

    def read(self):
        """A read-only session, closed afterwards."""
        return Session(self._provider.engine)


class Database(DependencyProvider):
    """Owns the service database: creates and migrates it, runs the outbox relay."""

    def __init__(self, migrations_dir):
        self.migrations_dir = migrations_dir
        self.engine = None
        self.relay = None

    def setup(self):
        from concord_common import migrate, trust
        from concord_common.outbox import OutboxRelay

        config = self.container.config
        self.url = database_url(config)
        migrate.upgrade(self.url, self.migrations_dir)
        self.engine = make_engine(self.url, int(config.get("DB_POOL_SIZE", 10)))
        self.relay = OutboxRelay(self.engine, config["AMQP_URI"],
                                 poll_interval=float(config.get("OUTBOX_POLL_INTERVAL", 1.0)),
                                 enabled=bool(config.get("OUTBOX_RELAY", True)),
                                 keyring=trust.keyring_for(config, self.container.service_name))

    def start(self):
        self.relay.start(self.container.spawn_managed_thread)

    def stop(self):
        self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self, worker_ctx)
