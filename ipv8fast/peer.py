"""A remote (or our own) identity with its addresses, clock and ping samples (py-ipv8's ``ipv8.peer``)."""
from __future__ import annotations

from base64 import b64encode
from collections import deque
from collections.abc import Callable
from time import time
from typing import Any

from .addresses import UDPv4Address, UDPv6Address
from .keys import Key, remote_public_key

__all__ = ["DirtyDict", "Peer"]

_NO_ADDRESS = UDPv4Address("0.0.0.0", 0)


class DirtyDict(dict):
    """A dict whose ``dirty`` flag turns True on ``[]=``, ``update``, ``clear``, ``pop`` and ``popitem``.

    ``del d[k]`` and ``setdefault`` leave the flag alone (as in py-ipv8), but every change, those included,
    is reported to the optional ``_hook`` so that indexes over the dict stay exact.
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs:
            dict.update(self, kwargs)
        self.dirty = True
        self._hook: Callable[[], None] | None = None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.dirty = True
        if self._hook is not None:
            self._hook()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.dirty = True
        if self._hook is not None:
            self._hook()

    def clear(self) -> None:
        super().clear()
        self.dirty = True
        if self._hook is not None:
            self._hook()

    def pop(self, key: Any, *default: Any) -> Any:
        out = super().pop(key, *default)
        self.dirty = True
        if self._hook is not None:
            self._hook()
        return out

    def popitem(self) -> Any:
        out = super().popitem()
        self.dirty = True
        if self._hook is not None:
            self._hook()
        return out

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        if self._hook is not None:
            self._hook()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        had = key in self
        out = super().setdefault(key, default)
        if not had and self._hook is not None:
            self._hook()
        return out


_NO_WATCHERS: tuple[()] = ()


class Peer:
    """A public key with what we know about its owner: addresses, Lamport clock, last response, pings.

    Equal (and hashed) by public key; the address plays no part in identity.
    """

    INTERFACE_ORDER: list[type] = [UDPv6Address, UDPv4Address, tuple]

    def __init__(self, key: Key | bytes, address: Any = None, intro: bool = True) -> None:
        if isinstance(key, Key):
            self.key = key
        else:
            if not isinstance(key, (bytes, bytearray, memoryview)):
                raise ValueError(f"a Peer needs a Key or a public key bin, not {type(key).__name__}")
            self.key = remote_public_key(key)
        public_key = self.public_key = self.key.pub()
        mid = self.mid = public_key.key_to_hash()
        self._key_bin: bytes = public_key.key_to_bin()
        self._hash = int.from_bytes(mid[:8], "big")
        addresses = self._addresses = DirtyDict()
        if address is not None:
            dict.__setitem__(addresses, type(address), address)  # nothing watches a new dict yet
        self._address = address
        self._watchers: list[Callable[[Peer], None]] | tuple[()] = _NO_WATCHERS
        now = time()
        self.creation_time = now
        self.last_response = 0 if intro else now
        self._lamport_timestamp = 0
        self.new_style_intro = False
        self.address_frozen = False

    # --- addresses ---

    @property
    def addresses(self) -> DirtyDict:
        """The addresses of this peer, one per address class (mutate it, don't rebind it)."""
        return self._addresses

    @property
    def address(self) -> Any:
        """The preferred address: IPv6 over IPv4 over a plain tuple; ``0.0.0.0:0`` when unknown."""
        if self._addresses.dirty:
            self._update_preferred_address()
        return self._address or _NO_ADDRESS

    @address.setter
    def address(self, value: Any) -> None:
        self.add_address(value)

    def add_address(self, value: Any) -> None:
        """Remember ``value`` as this peer's address of its class (no-op while ``address_frozen``)."""
        if self.address_frozen:
            return
        addresses = self._addresses
        cls = type(value)
        if not addresses.dirty and addresses.get(cls) == value:
            return  # the hot path: a known peer writes again from the address we already have
        addresses[cls] = value
        self._update_preferred_address()

    def _update_preferred_address(self) -> None:
        addresses = self._addresses
        for interface in self.INTERFACE_ORDER:
            if interface in addresses:
                self._address = addresses[interface]
                break
        addresses.dirty = False

    def _watch(self, callback: Callable[[Peer], None]) -> None:
        """Call ``callback(self)`` after every change of the address dict (used by Network's indexes)."""
        watchers = self._watchers
        if not isinstance(watchers, list):
            watchers = self._watchers = []
        if callback not in watchers:
            watchers.append(callback)
        self._addresses._hook = self._addresses_changed

    def _unwatch(self, callback: Callable[[Peer], None]) -> None:
        watchers = self._watchers
        if not isinstance(watchers, list) or callback not in watchers:
            return  # never watched (the shared empty tuple), or not by this callback
        watchers.remove(callback)
        if not self._watchers:
            self._addresses._hook = None

    def _addresses_changed(self) -> None:
        for callback in tuple(self._watchers):
            callback(self)

    # --- pings and clock ---

    def __getattr__(self, name: str) -> Any:
        if name == "pings":  # made on first use: most Peer objects live for one message
            pings: deque[float] = deque(maxlen=5)
            self.pings = pings
            return pings
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def get_median_ping(self) -> float | None:
        """Median of the recorded round trips (mean of the middle two for an even count), or None."""
        if not self.pings:
            return None
        ordered = sorted(self.pings)
        half = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[half]
        return (ordered[half - 1] + ordered[half]) / 2

    def get_average_ping(self) -> float | None:
        """Mean of the recorded round trips, or None."""
        if not self.pings:
            return None
        return sum(self.pings) / len(self.pings)

    def update_clock(self, timestamp: int) -> None:
        """Raise the Lamport clock to ``timestamp`` (never lowers it) and note that the peer responded now."""
        if timestamp > self._lamport_timestamp:
            self._lamport_timestamp = timestamp
        self.last_response = time()

    def get_lamport_timestamp(self) -> int:
        return self._lamport_timestamp

    # --- identity ---

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Peer):
            return False
        return self._key_bin == other._key_bin

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Peer):
            return True
        return self._key_bin != other._key_bin

    def __str__(self) -> str:
        address = self.address
        return f"Peer<{address[0]}:{address[1]}, {b64encode(self.mid).decode()}>"

    def __repr__(self) -> str:
        return str(self)

