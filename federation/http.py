"""Outbound HTTP for federation: one httpx client setup, and the private-address guard.

Every outbound request (fetches, WebFinger look-ups, deliveries) goes to a URL checked by
:func:`check_url`: http(s) only, and its host must not resolve to a private, loopback, link-local, multicast
or reserved address unless the operator allows it (``COSERVER_ALLOW_PRIVATE_ADDRESSES``; tests do).
Redirects are never followed automatically, so each hop is checked by the caller.

Limitation: the address is checked when resolved, not pinned for the connection (a DNS-rebinding attacker
with a TTL of zero could race it); the same trade-off Mastodon's Ruby client made until it pinned sockets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from coserver import __version__
from coserver.config import Settings

ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"


class UnsafeURL(Exception):
    """The URL may not be fetched (scheme, or an address the node may not reach)."""


class UnresolvableHost(UnsafeURL):
    """The host name does not resolve (maybe temporarily: callers may retry)."""


def user_agent(settings: Settings) -> str:
    return f"coserver/{__version__} (+{settings.base_url})"


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


async def check_url(url: str, *, allow_private: bool) -> str:
    """Validate ``url`` for an outbound request; returns its host. Raises :class:`UnsafeURL`."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURL(f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials are refused")
    host = parts.hostname
    if allow_private:
        return host
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise UnsafeURL(f"{host} is a local name")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise UnresolvableHost(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for ip in addresses:
        if _forbidden(ip):
            raise UnsafeURL(f"{host} resolves to a non-public address ({ip})")
    return host


def make_client(
    settings: Settings, *, timeout: float = 10.0, max_connections: int = 100
) -> httpx.AsyncClient:
    """An httpx client for federation traffic (no automatic redirects, bounded pool, our User-Agent)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": user_agent(settings)},
        follow_redirects=False,
        http2=False,
        trust_env=False,
    )
