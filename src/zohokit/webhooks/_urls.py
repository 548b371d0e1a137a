"""Which endpoint URLs zohokit sends to: ``http``/``https`` only, and (unless the operator
allows it, as the sandbox does) never a loopback, private, link-local or otherwise internal
address, so an endpoint cannot turn the service into a probe of its own network.

The host is checked when an endpoint is added and again before every attempt (a name may
resolve elsewhere later). ``resolve`` is the name look-up (``getaddrinfo`` in a thread by
default); tests pass their own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

from ._errors import EndpointRefused

__all__ = ["Resolver", "check_url", "system_resolver"]

#: A host name to the addresses it resolves to.
Resolver = Callable[[str], Awaitable[list[str]]]


async def system_resolver(host: str) -> list[str]:
    """The addresses ``host`` resolves to, through the system's resolver."""
    infos = await asyncio.to_thread(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


_ALLOW = "set ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE=true to allow internal addresses"


async def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """``url`` if zohokit may send to it, else :class:`EndpointRefused` saying why."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise EndpointRefused(f"{url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise EndpointRefused(f"a webhook URL starts with https:// (or http://), not {url!r}")
    if not parsed.host:
        raise EndpointRefused(f"the webhook URL {url!r} names no host")
    if parsed.userinfo:
        # It would sit in plain text in the database; the signature already proves the sender.
        raise EndpointRefused("put no user:password in a webhook URL; verify the signature")
    if allow_private:
        return url
    host = parsed.host
    if host == "localhost" or host.endswith(".localhost"):
        raise EndpointRefused(f"{host} is this machine: {_ALLOW}")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await resolve(host)
        except OSError as exc:
            raise EndpointRefused(f"the host {host} does not resolve ({exc})") from None
    internal = [a for a in addresses if _internal(a)]
    if internal or not addresses:
        shown = ", ".join(internal) or "nothing"
        raise EndpointRefused(f"{host} resolves to an internal address ({shown}): {_ALLOW}")
    return url
