"""Where a webhook may point: https, and never at a private, loopback or link-local address.

Checked when a subscription is made and again at every delivery (the name is resolved again and the request
goes to the very address that was checked, so a name that re-resolves to 127.0.0.1 after the first check —
DNS rebinding — is refused, not followed). WEBHOOKS_ALLOW_PRIVATE lets private addresses through (make run,
tests); WEBHOOKS_ALLOW_HTTP lets plain http through (make run only). No nameko here.
"""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class UrlRefused(Exception):
    """Why the URL may not be used, in words for the subscriber."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str                 # as written (for SNI, the certificate check and the Host header)
    port: int
    path: str                 # path and query
    addresses: tuple          # the vetted addresses the name resolved to; deliveries connect to the first

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def refused_address(address: str) -> str | None:
    """Why `address` may not receive webhooks, or None: only globally routable unicast addresses may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_unspecified or ip.is_reserved or ip.is_multicast or not ip.is_global:
        return "a private or reserved address"
    return None


def resolve(host: str, port: int) -> tuple:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlRefused(f"The host {host} could not be resolved.")
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UrlRefused(f"The host {host} could not be resolved.")
    return addresses


def parse(url) -> tuple:
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("Give the https URL that should receive the events.")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlRefused("That is not a URL.")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("The URL must start https:// and name a host.")
    if parts.username or parts.password:
        raise UrlRefused("The URL must not carry a user name or password; the signature authenticates Concord.")
    if parts.fragment:
        raise UrlRefused("The URL must not have a #fragment.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check(url, allow_private: bool = False, allow_http: bool = False) -> Target:
    """The Target to deliver to, or UrlRefused saying why not."""
    scheme, host, port, path = parse(url)
    if scheme != "https" and not allow_http:
        raise UrlRefused("The URL must use https.")
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            why = refused_address(address)
            if why:
                raise UrlRefused(f"The host {host} resolves to {why} ({address}); webhooks go to public addresses "
                                 f"only.")
    return Target(scheme, host, port, path, addresses)
