"""Pieces every nameko service class uses: caller context, metrics, ping."""
import functools
import inspect
import time
import weakref

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from sqlalchemy import text

from concord_common import context as ctx
from concord_common import metrics
from concord_common.errors import ConcordError
from concord_common.logs import INSTANCE


def rpc(fn=None, **kwargs):
    """nameko's @rpc, with Concord's typed errors treated as expected (not logged as crashes),
    and exactly-once under an Idempotency-Key (see `idempotent`)."""
    kwargs.setdefault("expected_exceptions", (ConcordError,))
    # nameko's decorator ignores keyword arguments when handed the function itself.
    decorate = Rpc.decorator(**kwargs)

    def apply(method):
        return decorate(idempotent(method))
    return apply if fn is None else apply(fn)


def idempotent(method):
    """If the call carries an Idempotency-Key (the gateway sets it on writes), run the method once per
    key in the service's own database and replay its answer after that. The key is taken out of the
    context first, so calls this method makes to other services do not carry it."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        context = getattr(self, "context", None)
        key = context.take_idempotency_key() if isinstance(context, RequestContext) else None
        db = getattr(self, "db", None)
        if key is None or not hasattr(db, "idempotent"):
            return method(self, *args, **kwargs)
        operation = f"{self.name}.{method.__name__}"
        return db.idempotent(key, operation, args, kwargs, lambda: method(self, *args, **kwargs))
    run.__signature__ = inspect.signature(method)       # nameko checks calls against it
    return run


class RequestContext:
    """What a worker sees as `self.context`: the caller and the request id."""

    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx

    @property
    def caller(self) -> ctx.Caller:
        return ctx.caller_from_context_data(self._worker_ctx.data)

    @property
    def request_id(self) -> str:
        return self._worker_ctx.data.get(ctx.REQUEST_ID_KEY)

    def take_idempotency_key(self) -> str | None:
        return self._worker_ctx.data.pop(ctx.IDEMPOTENCY_KEY, None)

    def set_idempotency_key(self, key: str | None) -> None:
        """Gateway only: the RPC calls this worker makes carry the request's Idempotency-Key."""
        if key:
            self._worker_ctx.data[ctx.IDEMPOTENCY_KEY] = key

    def authenticate(self, caller: ctx.Caller) -> None:
        """Gateway only: from now on RPC calls and events of this worker carry `caller`."""
        self._worker_ctx.data[ctx.CALLER_KEY] = caller.to_json()
        ctx.set_current(caller, self.request_id)


class CallContext(DependencyProvider):
    """Sets the log context for each worker and times it."""

    def __init__(self):
        self._started = weakref.WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        if not data.get(ctx.REQUEST_ID_KEY):
            data[ctx.REQUEST_ID_KEY] = ctx.new_request_id()
        ctx.set_current(ctx.caller_from_context_data(data), data[ctx.REQUEST_ID_KEY])
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
            metrics.WORKER_SECONDS.labels(self.container.service_name, worker_ctx.entrypoint.method_name,
                                          outcome).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        ctx.clear_current()

    def get_dependency(self, worker_ctx):
        return RequestContext(worker_ctx)


def ping(service_name: str, engine=None) -> dict:
    """The answer of every service's `ping` RPC: alive, and its database answers."""
    answer = {"service": service_name, "instance": INSTANCE, "database": None}
    if engine is not None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        answer["database"] = "ok"
    return answer
