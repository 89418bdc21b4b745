"""Who is really calling from behind load balancers: the client's address, and whether it used TLS.

`TRUSTED_PROXIES` names the proxies in front of the gateway: a number of hops ("1": compose's nginx) or
comma-separated addresses and networks ("10.0.0.0/8, 172.16.0.0/12"). Each trusted proxy appends the
address it saw to X-Forwarded-For, so the client is the rightmost hop that no trusted proxy is; hops to
the left of it were written by the client and mean nothing. The old switch `TRUST_FORWARDED_FOR=true`
means one hop. With neither, forwarded headers are ignored: the peer is the client.
"""
import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str | None) -> Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _switched_on(value) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class TrustedProxies:
    hops: int = 0
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> "TrustedProxies":
        """Raises ValueError on a setting that is neither a count nor addresses (the gateway must not start)."""
        setting = str(config.get("TRUSTED_PROXIES") or "").strip()
        if not setting:
            return cls(hops=1 if _switched_on(config.get("TRUST_FORWARDED_FOR")) else 0)
        if setting.isdigit():
            return cls(hops=int(setting))
        try:
            return cls(networks=tuple(ipaddress.ip_network(part.strip(), strict=False)
                                      for part in setting.split(",") if part.strip()))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES must be a number of hops or addresses/CIDRs: {exc}") from None

    def _trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def trusts_peer(self, peer: str | None) -> bool:
        """Whether the connection itself comes from a trusted proxy (so its X-Forwarded-* headers count)."""
        return self.hops > 0 or self._trusted(_address(peer))

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str | None:
        if not forwarded_for or not self.trusts_peer(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        if self.hops:
            if len(hops) < self.hops:           # fewer hops than proxies: not what our proxies sent
                return peer
            found = _address(hops[-self.hops])
            return str(found) if found is not None else peer
        nearest = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:                 # a trusted proxy never writes this: keep what it told us
                return nearest
            if not self._trusted(address):
                return str(address)
            nearest = str(address)
        return nearest                           # every hop is one of ours

    def forwarded_https(self, peer: str | None, forwarded_proto: str | None) -> bool:
        """X-Forwarded-Proto as the nearest trusted proxy set it."""
        if not forwarded_proto or not self.trusts_peer(peer):
            return False
        return forwarded_proto.split(",")[-1].strip().lower() == "https"


def resolve(request, proxies: TrustedProxies) -> None:
    """Rewrite the request's remote address and scheme to the client's (as werkzeug's ProxyFix does), so
    everything after this (sign-in's source address, secure cookies, HSTS) reads the real ones."""
    peer = request.remote_addr
    client = proxies.client_address(peer, request.headers.get("X-Forwarded-For"))
    https = request.scheme == "https" or proxies.forwarded_https(peer, request.headers.get("X-Forwarded-Proto"))
    request.environ["concord.peer_address"] = peer
    request.remote_addr = request.environ["REMOTE_ADDR"] = client
    if https:
        request.scheme = request.environ["wsgi.url_scheme"] = "https"
