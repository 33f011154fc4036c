"""Which hosts web_fetch may connect to: the SSRF checks, in one place.

A host is checked in two steps. Its *spelling* first: a hostname on the cloud-metadata list is
refused outright, and any numeric spelling of an IPv4 address that ``inet_aton`` would accept
(``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) is read as the address it is, not sent
to DNS as a name. Then every *address* it resolves to: private, loopback, link-local,
shared (CGNAT), reserved, multicast, unspecified and metadata addresses are refused, and so
is an IPv6 address that carries one of those inside it (IPv4-mapped, -compatible and
-translated, 6to4, Teredo, NAT64). ``allow_private_hosts`` lets private, loopback and
link-local through; metadata addresses, multicast and unspecified never.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

from agentkit.errors import ToolError

__all__ = [
    "METADATA_ADDRESSES",
    "METADATA_HOSTS",
    "IPAddress",
    "Resolver",
    "check_address",
    "embedded_ipv4",
    "parse_ip_literal",
    "resolve_host",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``resolver(host, port)`` returns the host's addresses (strings), sync or async.
Resolver = Callable[[str, int], "Iterable[str] | Awaitable[Iterable[str]]"]

#: Cloud instance-metadata endpoints: refused even when private hosts are allowed.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle (v1)...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.169.253",  # AWS DNS resolver
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure wire server
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
        "fd20:ce::254",  # GCP metadata over IPv6
    )
)
METADATA_HOSTS: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
        "metadata.packet.net",
        "metadata.oraclecloud.com",
    }
)

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, not "private"
_CLASS_E = ipaddress.ip_network("240.0.0.0/4")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The address ``inet_aton`` reads from ``host`` (1 to 4 parts, decimal/octal/hex), or None."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                if not part.isdigit():
                    return None
                values.append(int(part))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _looks_numeric(host: str) -> bool:
    return all(p and (p.isdigit() or p[:2].lower() == "0x") for p in host.split("."))


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver would accept, or None for a name.

    A host made only of numeric labels that is no valid address (``999.1.1.1``) is refused
    rather than passed to DNS, where its meaning depends on the resolver.
    """
    bare = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    address = _inet_aton(bare)
    if address is not None:
        return address
    if bare and _looks_numeric(bare):
        raise ToolError(f"{host!r} is not a valid IP address")
    return None


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, translated, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d (deprecated "compatible")
        found.append(low32)
    if address in _TRANSLATED or any(address in net for net in _NAT64):
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def check_address(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why web_fetch must not connect to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for inner in embedded_ipv4(address):
        reason = check_address(inner, allow_private=allow_private)
        if reason is not None:
            return f"{reason} ({inner} inside {address})"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and (address in _CLASS_E or address.packed == b"\xff" * 4):
        return "a reserved address"
    if allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (``getaddrinfo``)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_host(
    host: str, port: int, *, resolver: Resolver | None = None, allow_private: bool = False
) -> IPAddress:
    """The checked address to connect to for ``host``; raises ToolError when the host is refused.

    Every address the host resolves to must pass (a name with one public and one private
    address is refused): the connection then goes to the first one, not to a new lookup.
    """
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS or name.endswith(".metadata.google.internal"):
        raise ToolError(f"refusing to fetch from {host!r}: it is a cloud metadata endpoint")
    literal = parse_ip_literal(host)
    if literal is not None:
        candidates: list[IPAddress] = [literal]
    else:
        lookup = resolver or system_resolver
        try:
            answer = lookup(name, port)
            if inspect.isawaitable(answer):
                answer = await answer
            candidates = [ipaddress.ip_address(str(a).split("%", 1)[0]) for a in answer]
        except (OSError, UnicodeError) as exc:
            raise ToolError(f"cannot resolve host {host!r}: {exc}") from None
        except ValueError as exc:
            raise ToolError(f"the resolver gave an invalid address for {host!r}: {exc}") from None
        if not candidates:
            raise ToolError(f"cannot resolve host {host!r}: no addresses")
    for address in candidates:
        reason = check_address(address, allow_private=allow_private)
        if reason is not None:
            hint = "" if allow_private or "metadata" in reason else " (allow_private_hosts is off)"
            shown = f"{host!r} ({address})" if str(address) != name else repr(host)
            raise ToolError(f"refusing to fetch from {shown}: {reason}{hint}")
    return candidates[0]
