"""Address tuples. They compare and hash equal to plain ``(host, port)`` tuples; their class tells the kind."""
from __future__ import annotations

from typing import NamedTuple


class UDPv4Address(NamedTuple):
    """An IPv4 socket address."""

    ip: str
    port: int


class UDPv4LANAddress(NamedTuple):
    """An IPv4 socket address on the local network."""

    ip: str
    port: int


class UDPv6Address(NamedTuple):
    """An IPv6 socket address."""

    ip: str
    port: int


class DomainAddress(NamedTuple):
    """A host name and port (only the ``address`` format code carries these)."""

    host: str
    port: int


ADDRESS_TYPE_IPV4 = 0x01
ADDRESS_TYPE_DOMAIN_NAME = 0x02
ADDRESS_TYPE_IPV6 = 0x03
