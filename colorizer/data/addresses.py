"""Which network addresses a fetch may connect to, decided on the address itself.

A server that fetches links for visitors must not become their way into its own network: a
link to ``127.0.0.1``, ``10.0.0.5``, ``169.254.169.254`` (the cloud metadata service) or a
name that resolves there is refused. The check runs on the IP address the fetcher is about to
connect to, after DNS, so a name whose DNS answer changes between a check and a connect
(DNS rebinding) cannot slip through: :func:`resolve` is called once per connection and the
connection goes to the address it returned.

Example:
    >>> internal_reason(ipaddress.ip_address("10.1.2.3"))
    'private'
    >>> internal_reason(ipaddress.ip_address("93.184.216.34")) is None
    True
"""
from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"),
                                ipaddress.ip_address("fd00:ec2::254")})
"""Cloud instance metadata services (AWS, GCP, Azure, and AWS's IPv6 one): they hand out
credentials to whoever asks from inside the machine."""

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64), if any: each of
    these reaches the IPv4 host, so that host is what must be judged."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def internal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is inside a network (a short word), or ``None`` for a public one.

    Refused: loopback, private (RFC 1918, IPv6 unique-local), link-local, carrier-grade NAT
    (100.64.0.0/10), multicast, reserved, unspecified, documentation and benchmarking ranges,
    cloud metadata addresses, and IPv6 forms that embed any of these.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "link-local"
        inner = _embedded_ipv4(address)
        if inner is not None:
            return internal_reason(inner)
    if address in METADATA_ADDRESSES:
        return "metadata"
    for reason, flag in (("unspecified", address.is_unspecified),
                         ("loopback", address.is_loopback),
                         ("link-local", address.is_link_local),
                         ("multicast", address.is_multicast),
                         ("reserved", address.is_reserved)):
        if flag:
            return reason
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared"
    if address.is_private or not address.is_global:
        return "private"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for TCP, in the resolver's order, without repeats.

    Raises:
        OSError: The name does not resolve (``socket.gaierror``).
    """
    try:
        return [ipaddress.ip_address(host)]  # a literal address: no DNS
    except ValueError:
        pass
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for _, _, _, _, sockaddr in answers:
        text = sockaddr[0].split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and len(sockaddr) > 3 and sockaddr[3]:
            address = ipaddress.IPv6Address(f"{text}%{sockaddr[3]}")
        found.setdefault(address)
    return list(found)
