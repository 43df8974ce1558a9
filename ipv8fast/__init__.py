"""ipv8fast: a drop-in, wire-compatible, much faster core for IPv8.

Hot paths are compiled (Cython); each has a pure-Python twin with the same behaviour, used when the
extensions are not built or ``IPV8FAST_NO_EXTENSIONS=1`` is set. ``COMPILED`` tells which is active.
"""
from __future__ import annotations

import os as _os
from importlib import import_module as _import_module

from ._core import twins as _twins
from ._version import __version__
from .addresses import DomainAddress, UDPv4Address, UDPv4LANAddress, UDPv6Address
from .community import Community, CommunitySettings
from .configuration import (
    Bootstrapper,
    BootstrapperDefinition,
    ConfigBuilder,
    ConfigurationError,
    Strategy,
    WalkerDefinition,
    default_bootstrap_defs,
    get_default_configuration,
)
from .discovery import DiscoveryStrategy, EdgeWalk, RandomChurn, RandomWalk
from .discovery_community import DiscoveryCommunity, PeriodicSimilarity
from .endpoint import Endpoint, EndpointListener
from .endpoint_interfaces import DispatcherEndpoint
from .keys import ECCrypto, default_eccrypto
from .lazy import (
    EZPackOverlay,
    lazy_wrapper,
    lazy_wrapper_unsigned,
    lazy_wrapper_unsigned_wd,
    lazy_wrapper_wd,
    retrieve_cache,
)
from .network import Network
from .overlay import Overlay, Settings
from .payload import (
    DataClassPayload,
    DataClassPayloadWID,
    VariablePayload,
    VariablePayloadWID,
    convert_to_payload,
    type_from_format,
    vp_compile,
)
from .peer import Peer
from .requestcache import (
    CacheWithName,
    NumberCache,
    NumberCacheWithName,
    RandomNumberCache,
    RandomNumberCacheWithName,
    RequestCache,
)
from .serialization import (
    PackError,
    Packer,
    Payload,
    Serializable,
    Serializer,
    default_serializer,
)
from .service import IPv8
from .statistics_endpoint import StatisticsEndpoint
from .strategy_scheduler import StrategyScheduler
from .taskmanager import TaskManager, task
from .udp_endpoint import UDPEndpoint, UDPv6Endpoint

for _name in _twins.NAMES:  # every selector, also those only other twins use, records its choice
    _import_module(f"._core.{_name}", __name__)

#: True when every compiled hot-path module is the active one (False if any runs on its pure twin).
COMPILED: bool = all(_twins.ACTIVE[name] for name in _twins.NAMES)

_twins.warn_if_unbuilt_checkout(_os.path.dirname(_os.path.abspath(__file__)))

__all__ = ["COMPILED", "__version__",
           "DiscoveryCommunity", "DiscoveryStrategy", "EdgeWalk", "IPv8", "PeriodicSimilarity",
           "RandomChurn", "RandomWalk", "Bootstrapper", "BootstrapperDefinition", "CacheWithName", "Community",
           "CommunitySettings", "ConfigBuilder", "ConfigurationError", "DataClassPayload", "DataClassPayloadWID",
           "DispatcherEndpoint", "DomainAddress", "ECCrypto", "EZPackOverlay", "Endpoint", "EndpointListener",
           "Network", "NumberCache", "NumberCacheWithName", "Overlay", "PackError", "Packer", "Payload", "Peer",
           "RandomNumberCache", "RandomNumberCacheWithName", "RequestCache", "Serializable", "Serializer",
           "Settings", "StatisticsEndpoint", "Strategy", "StrategyScheduler", "TaskManager", "UDPEndpoint",
           "UDPv4Address", "UDPv4LANAddress", "UDPv6Address", "UDPv6Endpoint", "VariablePayload",
           "VariablePayloadWID", "WalkerDefinition", "convert_to_payload", "default_bootstrap_defs",
           "default_eccrypto", "default_serializer", "get_default_configuration", "lazy_wrapper",
           "lazy_wrapper_unsigned", "lazy_wrapper_unsigned_wd", "lazy_wrapper_wd", "retrieve_cache", "task",
           "type_from_format", "vp_compile"]
