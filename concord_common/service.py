"""Pieces every nameko service class uses: caller context, metrics, ping."""
import functools
import inspect
import logging
import time
import weakref

from nameko.exceptions import ContainerBeingKilled, MalformedRequest
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, RpcConsumer
from sqlalchemy import exc as sa_exc, text

from concord_common import context as ctx
from concord_common import metrics, refusals, trust
from concord_common.access.records import record_denial
from concord_common.errors import ConcordError, NotFound, ServiceUnavailable, Unauthenticated
from concord_common.events import QUORUM, quorum_queues
from concord_common.logs import INSTANCE
from concord_common.ops_metrics import OpsMetrics

log = logging.getLogger(__name__)


class QuorumRpcConsumer(RpcConsumer):
    """nameko's RPC queue (`rpc-<service>`), as a quorum queue where QUORUM_QUEUES is on: requests waiting for a
    worker survive the loss of a broker node (a classic durable queue on a dead node cannot even be declared
    again until that node returns)."""

    def setup(self):
        super().setup()
        if quorum_queues(self.container.config):
            self.queue.queue_arguments = dict(QUORUM)


class VerifiedRpc(Rpc):
    """nameko's RPC entrypoint that believes a caller only from a valid signed assertion
    (concord_common.trust), checked before anything else: no worker runs for a refused call,
    which is answered Unauthenticated and audited (concord_common.refusals).

    `system_callers`: the issuers whose "system" caller this method accepts (the operators'
    CLI by default; e.g. only "permissions" for apply_access_grant).
    """
    verifies_caller = True
    rpc_consumer = QuorumRpcConsumer()

    def __init__(self, system_callers=(trust.OPERATOR,), **kwargs):
        self.system_callers = tuple(system_callers)
        super().__init__(**kwargs)

    def setup(self):
        super().setup()
        self.keyring = trust.keyring_for(self.container.config, self.container.service_name)

    def handle_message(self, body, message):
        context_data = self.unpack_message_headers(message)
        service = self.container.service_name
        try:
            caller, request_id = trust.verify_rpc(self.keyring, context_data.get(ctx.CALLER_KEY), service,
                                                  self.method_name, self.system_callers)
        except trust.Refused as refused:
            refusals.report(self.container.config, self.keyring, service, self.method_name, refused, context_data)
            raise Unauthenticated("The caller's identity could not be verified.")   # the reply says so
        context_data[ctx.CALLER_KEY] = caller.to_json()
        if request_id:
            context_data[ctx.REQUEST_ID_KEY] = request_id
        try:
            args, kwargs = body["args"], body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`")
        self.check_signature(args, kwargs)
        try:
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=functools.partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)


def rpc(fn=None, **kwargs):
    """An RPC entrypoint: the signed caller verified first (VerifiedRpc), Concord's typed errors treated
    as expected (not logged as crashes), and exactly-once under an Idempotency-Key (see `idempotent`)."""
    kwargs.setdefault("expected_exceptions", (ConcordError,))
    # nameko's decorator ignores keyword arguments when handed the function itself.
    decorate = VerifiedRpc.decorator(**kwargs)

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
        try:
            if key is None or not hasattr(db, "idempotent"):
                return method(self, *args, **kwargs)
            operation = f"{self.name}.{method.__name__}"
            return db.idempotent(key, operation, args, kwargs, lambda: method(self, *args, **kwargs))
        except sa_exc.OperationalError as failed:        # an entrypoint that used self.db directly
            raise database_unavailable(self.name, failed) from failed
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

    @property
    def route(self) -> str | None:
        """The gateway's "METHOD /route/<param>" this call serves, if it came from one."""
        return self._worker_ctx.data.get(ctx.ROUTE_KEY)

    @property
    def entrypoint(self) -> str:
        """"service.method" of this worker."""
        return f"{self._worker_ctx.service_name}.{self._worker_ctx.entrypoint.method_name}"

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
    """Sets the log context for each worker and times it.

    Only entrypoints that verify the signed caller (VerifiedRpc, VerifiedEventHandler) may hand a
    worker a caller: from any other (a timer, nameko's own handlers) whatever `caller` the message
    carried is dropped, so an unverified path can only ever act for nobody.
    """

    def __init__(self):
        self._started = weakref.WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        if not getattr(worker_ctx.entrypoint, "verifies_caller", False):
            data.pop(ctx.CALLER_KEY, None)
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


def database_unavailable(service: str, failed: Exception) -> ServiceUnavailable:
    """What a caller hears when the service's database refused or dropped the connection, ran out of
    connections, or cancelled or rolled back the statement (PostgreSQL's operational errors, all passing): a 503
    to retry (the gateway adds Retry-After), not a 500. Nothing was committed: the unit of work rolled back.
    The cause is logged here, where it happened; the caller hears no database detail."""
    log.warning("%s: database unavailable for this call (%s)", service, type(getattr(failed, "orig", failed))
                .__name__, extra={"error": str(getattr(failed, "orig", failed))[:300]})
    return ServiceUnavailable(f"The {service} service cannot reach its database just now; try again in a few "
                              f"seconds.")


class ServiceBase:
    """What every service's nameko class shares: one transaction per call, the same way everywhere.

    The class declares `db = Database(...)`, `context = CallContext()` and, to call
    other services, `remote = ServiceRpc()`. Entrypoints stay one line:
    `return self.write(logic.create_case, payload)`. Every service reports its queues, outbox and
    scheduled jobs to Prometheus (`ops`, concord_common.ops_metrics).
    """

    ops = OpsMetrics()

    def write(self, fn, *args, **kwargs):
        """`fn(uow, *args)` in one unit of work: its writes and events commit together, or none do.
        A refusal to open a record that exists is recorded all the same (see `_record_denial`)."""
        try:
            with self.db.unit_of_work() as uow:
                uow.origin = self._origin()
                return fn(uow, *args, **kwargs)
        except NotFound as refused:
            self._record_denial(refused)
            raise
        except sa_exc.OperationalError as failed:
            raise database_unavailable(self.name, failed) from failed

    def read(self, fn, *args, **kwargs):
        """`fn(session, caller, *args)` on a read-only session (for reads that record no event)."""
        try:
            with self.db.read() as session:
                return fn(session, self.context.caller, *args, **kwargs)
        except NotFound as refused:
            self._record_denial(refused)
            raise
        except sa_exc.OperationalError as failed:
            raise database_unavailable(self.name, failed) from failed

    def _record_denial(self, refused: NotFound) -> None:
        """A NotFound for a record that exists (concord_common.access.records.hidden) becomes the event
        `<type>.denied` (audit action `denied`: who, which record, through which route), committed in a
        unit of work of its own — the call's own one has rolled back. The caller still gets the very
        NotFound a random id gets."""
        denied = getattr(refused, "denied", None)
        if denied is None:
            return
        with self.db.separate_unit_of_work() as uow:
            uow.origin = self._origin()
            record_denial(uow, denied)

    def _origin(self) -> dict:
        """Where this call came from, for the audit of a refusal: the RPC and the gateway's route."""
        return {"rpc": self.context.entrypoint, "route": self.context.route}


def ping(service_name: str, engine=None) -> dict:
    """The answer of every service's `ping` RPC: alive, and its database answers."""
    answer = {"service": service_name, "instance": INSTANCE, "database": None}
    if engine is not None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        answer["database"] = "ok"
    return answer
