"""An in-memory endpoint for tests that drive communities without sockets."""
from __future__ import annotations

from typing import Any

from ipv8fast.endpoint import Endpoint


class MemoryEndpoint(Endpoint):
    """An always-open endpoint at ``address`` that records what is sent in ``sent``."""

    def __init__(self, address: Any = ("127.0.0.1", 4001)) -> None:
        super().__init__()
        self.address = address
        self.sent: list[tuple[Any, bytes]] = []

    def assert_open(self) -> None:
        pass

    def is_open(self) -> bool:
        return True

    def get_address(self) -> Any:
        return self.address

    def send(self, socket_address: Any, packet: bytes) -> None:
        self.sent.append((socket_address, packet))

    async def open(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def reset_byte_counters(self) -> None:
        pass
