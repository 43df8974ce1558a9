"""Traffic statistics (py-ipv8's ``ipv8.messaging.interfaces.statistics_endpoint`` and ``.network_stats``):
:class:`StatisticsEndpoint` wraps an endpoint and counts, per community prefix and message id, in
:class:`NetworkStat` records.
"""
from __future__ import annotations

import time
from typing import Any

from ._core.wire import MESSAGE_ID_OFFSET, PREFIX_LENGTH
from .endpoint import Endpoint, EndpointListener

__all__ = ["NetworkStat", "StatisticsEndpoint"]


class NetworkStat:
    """Counters for one message id of one community."""

    def __init__(self, identifier: int) -> None:
        self.identifier = identifier
        self.num_up = 0
        self.num_down = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.first_measured_up = 0.0
        self.first_measured_down = 0.0
        self.last_measured_up = 0.0
        self.last_measured_down = 0.0

    def add_sent_stat(self, timestamp: float, num_bytes: int) -> None:
        self.num_up += 1
        self.bytes_up += num_bytes
        self.last_measured_up = timestamp
        if not self.first_measured_up:
            self.first_measured_up = timestamp

    def add_received_stat(self, timestamp: float, num_bytes: int) -> None:
        self.num_down += 1
        self.bytes_down += num_bytes
        self.last_measured_down = timestamp
        if not self.first_measured_down:
            self.first_measured_down = timestamp

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "num_up": self.num_up, "num_down": self.num_down,
                "bytes_up": self.bytes_up, "bytes_down": self.bytes_down,
                "first_measured_up": self.first_measured_up, "first_measured_down": self.first_measured_down,
                "last_measured_up": self.last_measured_up, "last_measured_down": self.last_measured_down}

    def __str__(self) -> str:
        return (f"NetworkStat{{num_up:{self.num_up}, num_down:{self.num_down}, bytes_up:{self.bytes_up}, "
                f"bytes_down:{self.bytes_down}, ...}}")


class StatisticsEndpoint(Endpoint, EndpointListener):
    """Wraps an endpoint and counts, per community prefix and message id, what goes up and down."""

    IDS_INTRODUCTION = [245, 246]
    IDS_PUNCTURE = [249, 250]
    IDS_DEPRECATED = [235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 247, 248, 251, 252, 253, 254, 255]

    def __init__(self, endpoint: Endpoint) -> None:
        Endpoint.__init__(self)
        EndpointListener.__init__(self, endpoint)
        self.endpoint = endpoint
        self.endpoint.add_listener(self)
        self.statistics: dict[bytes, dict[int, NetworkStat]] = {}

    def __getattr__(self, item: str) -> Any:
        if item == "endpoint":
            raise AttributeError(item)
        return getattr(self.endpoint, item)

    # listeners live on the wrapped endpoint
    def add_listener(self, listener: EndpointListener) -> None:
        self.endpoint.add_listener(listener)

    def add_prefix_listener(self, listener: EndpointListener, prefix: bytes) -> None:
        self.endpoint.add_prefix_listener(listener, prefix)

    def remove_listener(self, listener: EndpointListener) -> None:
        self.endpoint.remove_listener(listener)

    def notify_listeners(self, packet: tuple[Any, bytes]) -> None:
        self.endpoint.notify_listeners(packet)

    def send(self, socket_address: Any, packet: bytes) -> None:
        self.endpoint.send(socket_address, packet)
        prefix = packet[:PREFIX_LENGTH]
        if prefix in self.statistics and len(packet) > MESSAGE_ID_OFFSET:
            self.add_sent_stat(prefix, packet[MESSAGE_ID_OFFSET], len(packet))

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        data = packet[1]
        prefix = data[:PREFIX_LENGTH]
        if prefix in self.statistics and len(data) > MESSAGE_ID_OFFSET:
            self.add_received_stat(prefix, data[MESSAGE_ID_OFFSET], len(data))

    def enable_community_statistics(self, community_prefix: bytes, enabled: bool) -> None:
        if enabled:
            self.statistics.setdefault(community_prefix, {})
        else:
            self.statistics.pop(community_prefix, None)

    def _stat(self, prefix: bytes, identifier: int) -> NetworkStat:
        per_id = self.statistics.setdefault(prefix, {})
        stat = per_id.get(identifier)
        if stat is None:
            stat = per_id[identifier] = NetworkStat(identifier)
        return stat

    def add_sent_stat(self, prefix: bytes, identifier: int, num_bytes: int, timestamp: float | None = None) -> None:
        self._stat(prefix, identifier).add_sent_stat(timestamp or time.time(), num_bytes)

    def add_received_stat(self, prefix: bytes, identifier: int, num_bytes: int,
                          timestamp: float | None = None) -> None:
        self._stat(prefix, identifier).add_received_stat(timestamp or time.time(), num_bytes)

    def get_statistics(self, prefix: bytes) -> dict[int, NetworkStat]:
        return self.statistics.get(prefix, {})

    def get_aggregate_statistics(self, prefix: bytes) -> dict[str, Any]:
        stats = self.get_statistics(prefix).values()
        first = min([s.first_measured_up for s in stats if s.first_measured_up]
                    + [s.first_measured_down for s in stats if s.first_measured_down] or [0])
        last = max([s.last_measured_up for s in stats] + [s.last_measured_down for s in stats] or [0])
        return {"num_up": sum(s.num_up for s in stats), "num_down": sum(s.num_down for s in stats),
                "bytes_up": sum(s.bytes_up for s in stats), "bytes_down": sum(s.bytes_down for s in stats),
                "diff_time": last - first}

    def is_excluded(self, identifier: int, include_introduction: bool, include_puncture: bool,
                    include_deprecated: bool) -> bool:
        return ((not include_introduction and identifier in self.IDS_INTRODUCTION)
                or (not include_puncture and identifier in self.IDS_PUNCTURE)
                or (not include_deprecated and identifier in self.IDS_DEPRECATED))

    def _sum(self, prefix: bytes, field: str, inc_intro: bool, inc_punct: bool, inc_depr: bool) -> int:
        return sum(getattr(stat, field) for identifier, stat in self.get_statistics(prefix).items()
                   if not self.is_excluded(identifier, inc_intro, inc_punct, inc_depr))

    def get_message_sent(self, prefix: bytes, include_introduction: bool = False, include_puncture: bool = False,
                         include_deprecated: bool = False) -> int:
        return self._sum(prefix, "num_up", include_introduction, include_puncture, include_deprecated)

    def get_message_received(self, prefix: bytes, include_introduction: bool = False,
                             include_puncture: bool = False, include_deprecated: bool = False) -> int:
        return self._sum(prefix, "num_down", include_introduction, include_puncture, include_deprecated)

    def get_bytes_sent(self, prefix: bytes, include_introduction: bool = False, include_puncture: bool = False,
                       include_deprecated: bool = False) -> int:
        return self._sum(prefix, "bytes_up", include_introduction, include_puncture, include_deprecated)

    def get_bytes_received(self, prefix: bytes, include_introduction: bool = False,
                           include_puncture: bool = False, include_deprecated: bool = False) -> int:
        return self._sum(prefix, "bytes_down", include_introduction, include_puncture, include_deprecated)

    def assert_open(self) -> None:
        self.endpoint.assert_open()

    def is_open(self) -> bool:
        return self.endpoint.is_open()

    def get_address(self) -> Any:
        return self.endpoint.get_address()

    async def open(self) -> bool:
        return await self.endpoint.open()

    def close(self) -> Any:
        return self.endpoint.close()

    def reset_byte_counters(self) -> None:
        self.endpoint.reset_byte_counters()
