"""RPC from outside the cluster (the operators' CLI, tests, benchmarks), each call signed.

    with signed_rpc(config, keyring, caller) as rpc:
        rpc.permissions.admin_create(username, password)

Like nameko's ClusterRpcProxy, but the caller travels as an assertion
(concord_common.trust) made for each call's service and method just before it
is sent, so a long-lived proxy never sends an expired one.
"""
from nameko.standalone.rpc import ClusterRpcProxy

from concord_common import context as ctx
from concord_common import trust


class _Method:
    def __init__(self, signed, service: str, method: str):
        self._signed, self._service, self._method = signed, service, method

    def _proxy(self):
        return self._signed.method_proxy(self._service, self._method)

    def __call__(self, *args, **kwargs):
        return self._proxy()(*args, **kwargs)

    def call_async(self, *args, **kwargs):
        return self._proxy().call_async(*args, **kwargs)


class _Service:
    def __init__(self, signed, service: str):
        self._signed, self._service = signed, service

    def __getattr__(self, method: str) -> _Method:
        if method.startswith("_"):
            raise AttributeError(method)
        return _Method(self._signed, self._service, method)


class SignedClusterRpc:
    def __init__(self, config: dict, keyring: trust.Keyring, caller: ctx.Caller | None = None,
                 timeout: float | None = None, request_id: str | None = None):
        self.keyring, self.caller, self.timeout = keyring, caller, timeout
        self._request_id = request_id or ctx.new_request_id()
        self._proxy = ClusterRpcProxy(config, context_data={ctx.REQUEST_ID_KEY: self._request_id}, timeout=timeout)
        self._cluster = None

    def method_proxy(self, service: str, method: str):
        # One thread per proxy (as nameko's): the context is set just before the call reads it.
        self._proxy._worker_ctx.data[ctx.CALLER_KEY] = trust.rpc_assertion(
            self.keyring, self.caller.to_json() if self.caller else None, service, method, self._request_id,
            self.timeout or 60)
        return getattr(getattr(self._cluster, service), method)

    def start(self):
        self._cluster = self._proxy.start()
        return self

    def stop(self):
        self._proxy.stop()

    def __getattr__(self, service: str) -> _Service:
        if service.startswith("_"):
            raise AttributeError(service)
        return _Service(self, service)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def signed_rpc(config: dict, keyring: trust.Keyring, caller: ctx.Caller | None = None, **kwargs) -> SignedClusterRpc:
    return SignedClusterRpc(config, keyring, caller, **kwargs)


def operator_rpc(config: dict, timeout: float = 60) -> SignedClusterRpc:
    """As the system, signed with the operators' key (`concord keys init` made it; or CONCORD_SIGNING_KEY),
    on the operators' broker account where `concord broker setup` made one."""
    from concord_common.broker import component_uri
    config = {**config, "AMQP_URI": component_uri(config["AMQP_URI"], trust.OPERATOR)}
    return SignedClusterRpc(config, trust.keyring_for({}, trust.OPERATOR, verifies=False), ctx.SYSTEM, timeout=timeout)
