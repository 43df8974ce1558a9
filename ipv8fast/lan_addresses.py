"""This machine's LAN addresses (py-ipv8's ``ipv8.messaging.interfaces.lan_addresses``, minimal surface).

``get_providers()`` returns one cached, mutable list (tests ``clear()`` it to switch discovery off);
``get_lan_addresses()`` votes over the providers' buffered answers, minus loopback and wildcard addresses.
"""
from __future__ import annotations

import socket
import time
import traceback
from abc import ABC, abstractmethod
from functools import lru_cache

__all__ = ["BLACKLIST", "AddressProvider", "SocketGetAddrInfo", "get_lan_addresses", "get_providers"]

BLACKLIST = {"127.0.0.1", "127.0.1.1", "0.0.0.0", "255.255.255.255", "::1"}


class AddressProvider(ABC):
    """A way of finding local interface addresses; answers are buffered between discoveries."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.addresses: set[str] = set()
        self.addresses_ts = 0.0

    def on_exception(self) -> None:
        """Report the exception being handled (on stderr) if this provider is verbose."""
        if self.verbose:
            traceback.print_exc()

    def discover_addresses(self, min_interval: float = 10.0) -> None:
        """Refresh the buffered addresses, at most once per ``min_interval`` seconds."""
        if time.time() - self.addresses_ts < min_interval:
            return
        try:
            self.addresses = set(self.get_addresses())
        except Exception:  # noqa: BLE001 - a provider failing means "no answer"
            self.on_exception()
            self.addresses = set()
        self.addresses_ts = time.time()

    @abstractmethod
    def get_addresses(self) -> set[str]:
        """The addresses found now."""

    def get_addresses_buffered(self) -> set[str]:
        """The addresses of the last discovery (discovering once if there was none)."""
        if not self.addresses_ts:
            self.discover_addresses()
        return self.addresses


class SocketGetAddrInfo(AddressProvider):
    """The addresses this host name resolves to (no packets are sent)."""

    def get_addresses(self) -> set[str]:
        found = set()
        for family, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
            if family in (socket.AF_INET, socket.AF_INET6):
                found.add(str(sockaddr[0]).split("%")[0])
        return found


@lru_cache(maxsize=1)
def get_providers() -> list[AddressProvider]:
    """The providers of this platform (one shared list)."""
    return [SocketGetAddrInfo()]


def get_lan_addresses() -> list[str]:
    """Local addresses, most agreed-upon first."""
    votes: dict[str, int] = {}
    for provider in get_providers():
        for found in provider.get_addresses_buffered() - BLACKLIST:
            votes[found] = votes.get(found, 0) + 1
    return sorted(votes, key=lambda address: votes[address], reverse=True)
