"""The IPv8 service (py-ipv8's ``ipv8_service.IPv8``; spec api.md §19).

``IPv8(configuration)`` validates the configuration dict, builds the endpoint (not yet opened), the
keys, the overlays with their strategies and bootstrappers. ``await start()`` opens the endpoint, runs the
``on_start`` calls and starts the strategy ticker; ``await stop()`` undoes all of that.

The registries ``_COMMUNITIES``, ``_WALKERS`` and ``_BOOTSTRAPPERS`` are plain dicts read at construction;
users may add their own classes to them, as with py-ipv8. Under the hybrid alias (:mod:`ipv8fast.compat`
with py-ipv8 installed) ``_COMMUNITIES`` also holds py-ipv8's upper-layer overlays (tunnels, DHT,
attestation), an overlay with ``initialize.anonymize`` gets py-ipv8's TunnelEndpoint around the endpoint,
and ``produce_anonymized_endpoint`` works; without it those stay refused.
"""
from __future__ import annotations

import asyncio
import base64
import importlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any, TypeVar

from .bootstrapping import DispersyBootstrapper, UDPBroadcastBootstrapper
from .community import Community
from .configuration import default_crypto_threads, validate_configuration
from .discovery import DiscoveryStrategy, EdgeWalk, RandomWalk
from .discovery_community import DiscoveryCommunity
from .endpoint import Endpoint
from .endpoint_interfaces import DispatcherEndpoint
from .keys import default_eccrypto
from .keys.files import load_or_create_key
from .network import Network
from .overlay import Overlay
from .peer import Peer
from .statistics_endpoint import StatisticsEndpoint
from .strategy_scheduler import StrategyScheduler, StrategyTicker
from .udp_endpoint import UDPEndpoint
from .util import maybe_coroutine

__all__ = ["IPv8", "_BOOTSTRAPPERS", "_COMMUNITIES", "_WALKERS", "Community", "DiscoveryCommunity",
           "DiscoveryStrategy", "DispatcherEndpoint", "DispersyBootstrapper", "EdgeWalk", "Network", "Overlay",
           "Peer", "RandomWalk", "StatisticsEndpoint", "UDPBroadcastBootstrapper", "UDPEndpoint", "crypto",
           "maybe_coroutine", "refresh_upper_layers"]

crypto = default_eccrypto
logger = logging.getLogger(__name__)

_COMMUNITIES: dict[str, type[Overlay]] = {"DiscoveryCommunity": DiscoveryCommunity}
_WALKERS: dict[str, type[DiscoveryStrategy]] = {"EdgeWalk": EdgeWalk, "RandomWalk": RandomWalk}
_BOOTSTRAPPERS: dict[str, type] = {"DispersyBootstrapper": DispersyBootstrapper,
                                   "UDPBroadcastBootstrapper": UDPBroadcastBootstrapper}

OverlayT = TypeVar("OverlayT", bound=Overlay)

#: py-ipv8's upper-layer overlays: name -> (module, class), registered in _COMMUNITIES under the hybrid alias.
UPPER_LAYER_COMMUNITIES: dict[str, tuple[str, str]] = {
    "AttestationCommunity": ("ipv8.attestation.wallet.community", "AttestationCommunity"),
    "HiddenTunnelCommunity": ("ipv8.messaging.anonymization.hidden_services", "HiddenTunnelCommunity"),
    "IdentityCommunity": ("ipv8.attestation.identity.community", "IdentityCommunity"),
    "TunnelCommunity": ("ipv8.messaging.anonymization.community", "TunnelCommunity"),
    "DHTDiscoveryCommunity": ("ipv8.dht.discovery", "DHTDiscoveryCommunity"),
}


def refresh_upper_layers() -> None:
    """Register py-ipv8's upper-layer overlays in ``_COMMUNITIES`` exactly while the hybrid alias is on."""
    from .configuration import upper_layers_available

    for name in UPPER_LAYER_COMMUNITIES:
        _COMMUNITIES.pop(name, None)
    if upper_layers_available():
        for name, (module, attribute) in UPPER_LAYER_COMMUNITIES.items():
            try:
                _COMMUNITIES[name] = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:  # another py-ipv8 version: say so, keep the rest
                warnings.warn(f"py-ipv8's {name} could not be loaded from {module}: {exc}", RuntimeWarning,
                              stacklevel=2)


def _tunnel_endpoint_class() -> type:
    """py-ipv8's TunnelEndpoint (hybrid alias only)."""
    from .configuration import upper_layers_available

    if not upper_layers_available():
        raise NotImplementedError("anonymized endpoints (tunnels) are outside ipv8fast's scope; install py-ipv8 "
                                  "3.2.x and use the hybrid alias (ipv8fast.compat) for them")
    return importlib.import_module("ipv8.messaging.anonymization.endpoint").TunnelEndpoint


def _load_keys(blocks: list[dict[str, Any]]) -> dict[str, Peer]:
    """Each block's key: its ``file`` if that exists (a bad one raises ``KeyFileError``, untouched), else
    ``bin`` or a new ``generation`` key, saved to ``file`` atomically with mode 0600 (:mod:`.keys.files`)."""
    keys = {}
    for block in blocks:
        path = block["file"]
        key_bin = base64.b64decode(block["bin"]) if "bin" in block else None
        if path:
            key = load_or_create_key(path, block.get("generation"), key_bin)
        elif key_bin is not None:
            key = default_eccrypto.key_from_private_bin(key_bin)
        else:
            key = default_eccrypto.generate_key(block["generation"])
        keys[block["alias"]] = Peer(key)
    return keys


def _make_endpoint(configuration: dict[str, Any]) -> Endpoint:
    if "address" in configuration or "port" in configuration:
        warnings.warn("The top-level 'address'/'port' configuration keys are deprecated; use 'interfaces'",
                      DeprecationWarning, stacklevel=3)
        configuration.setdefault("interfaces", []).append({"interface": "UDPIPv4",
                                                           "ip": configuration.get("address", "0.0.0.0"),
                                                           "port": configuration.get("port", 8090)})
    specs = configuration["interfaces"]
    threads = configuration.get("crypto_threads", default_crypto_threads())
    return DispatcherEndpoint([spec["interface"] for spec in specs],
                              **{spec["interface"]: {**{k: v for k, v in spec.items() if k != "interface"},
                                                     "crypto_threads": threads}
                                 for spec in specs})


class IPv8:
    """One IPv8 node: endpoint, keys, network, overlays and the strategy scheduler that drives them."""

    def __init__(self, configuration: dict[str, Any], endpoint_override: Endpoint | None = None,
                 enable_statistics: bool = False, extra_communities: dict[str, type[Overlay]] | None = None) -> None:
        extra_communities = extra_communities or {}
        validate_configuration(configuration, require_interfaces=endpoint_override is None,
                               extra_communities=set(extra_communities) | set(_COMMUNITIES))
        self.configuration = configuration
        logging.basicConfig(**configuration["logger"])

        self.endpoint: Endpoint = endpoint_override if endpoint_override is not None else _make_endpoint(configuration)
        if enable_statistics:
            self.endpoint = StatisticsEndpoint(self.endpoint)
        if any(block.get("initialize", {}).get("anonymize") for block in configuration["overlays"]):
            self.endpoint = _tunnel_endpoint_class()(self.endpoint)
        self.network = Network()
        self.keys: dict[str, Peer] = _load_keys(configuration["keys"])

        self.overlay_lock = threading.RLock()
        self.scheduler = StrategyScheduler(configuration["walker_interval"])
        self.overlays: list[Overlay] = []
        self.on_start: list[tuple[Any, tuple]] = []
        for block in configuration["overlays"]:
            self._load_overlay(block, extra_communities)
        self._ticker: StrategyTicker | None = None
        self.state_machine_task: asyncio.Future | None = None

    def _load_overlay(self, block: dict[str, Any], extra_communities: dict[str, type[Overlay]]) -> None:
        name = block["class"]
        overlay_class = _COMMUNITIES.get(name) or extra_communities.get(name)
        if overlay_class is None:
            raise RuntimeError(f"overlays: class {name!r} has no associated Community! Known: "
                               f"{', '.join(sorted(set(_COMMUNITIES) | set(extra_communities)))}")
        settings = overlay_class.settings_class(my_peer=self.keys[block["key"]], endpoint=self.endpoint,
                                                network=self.network)
        for key, value in block["initialize"].items():
            setattr(settings, key, value)
        overlay = overlay_class(settings)
        self.overlays.append(overlay)
        for walker in block["walkers"]:
            strategy_class = _WALKERS.get(walker["strategy"]) or overlay.get_available_strategies().get(
                walker["strategy"])
            if strategy_class is None or not (isinstance(strategy_class, type)
                                              and issubclass(strategy_class, DiscoveryStrategy)):
                raise RuntimeError(f"overlays[{name}].walkers: strategy {walker['strategy']!r} is not a "
                                   f"DiscoveryStrategy known to IPv8 or to {name}.get_available_strategies()")
            self.scheduler.add(overlay, strategy_class(overlay, **walker["init"]), walker["peers"])
        for entry in block["on_start"]:
            self.on_start.append((getattr(overlay, entry[0]), tuple(entry[1:])))
        for definition in block["bootstrappers"]:
            bootstrapper_class = _BOOTSTRAPPERS.get(definition["class"])
            if bootstrapper_class is None:
                continue
            if not isinstance(overlay, Community):
                raise RuntimeError(f"overlays[{name}].bootstrappers: only a Community can use a bootstrapper")
            overlay.bootstrappers.append(bootstrapper_class(**definition["init"]))

    # --- py-ipv8 attributes ---

    @property
    def strategies(self) -> list:
        """The live ``(strategy, target_peers)`` list of the scheduler (py-ipv8's ``IPv8.strategies``)."""
        return self.scheduler.strategies

    @strategies.setter
    def strategies(self, value: list) -> None:
        self.scheduler.strategies = value

    @property
    def walk_interval(self) -> float:
        return self.scheduler.walk_interval

    @walk_interval.setter
    def walk_interval(self, value: float) -> None:
        self.scheduler.walk_interval = value

    # --- lifecycle ---

    async def start(self) -> None:
        """Open the endpoint, run the ``on_start`` calls (concurrently), start walking."""
        await maybe_coroutine(self.endpoint.open)
        await asyncio.gather(*(maybe_coroutine(method, *args) for method, args in self.on_start))
        self._ticker = StrategyTicker(self.scheduler, ready=self.endpoint.is_open)
        self.state_machine_task = self._ticker.start()

    async def on_tick(self) -> None:
        """Run one full pass of the strategies now (without pauses), if the endpoint is open."""
        if self.endpoint.is_open():
            with self.overlay_lock:
                self.scheduler.tick()

    def add_strategy(self, overlay: Overlay, strategy: DiscoveryStrategy, target_peers: int) -> None:
        """Step ``strategy`` while ``overlay`` has fewer than ``target_peers`` peers (-1: always)."""
        with self.overlay_lock:
            if overlay not in self.overlays:
                self.overlays.append(overlay)
            self.scheduler.add(overlay, strategy, target_peers)

    def unload_overlay(self, instance: Overlay) -> Any:
        """Forget ``instance`` and its strategies now; returns the awaitable of its unload."""
        with self.overlay_lock:
            self.overlays = [overlay for overlay in self.overlays if overlay is not instance]
            self.scheduler.remove_overlay(instance)
        return maybe_coroutine(instance.unload)

    def get_overlay(self, overlay_cls: type[OverlayT]) -> OverlayT | None:
        """The first overlay that is an instance of ``overlay_cls``, or None."""
        return next(self.get_overlays(overlay_cls), None)

    def get_overlays(self, overlay_cls: type[OverlayT]) -> Iterator[OverlayT]:
        """A generator over the overlays that are instances of ``overlay_cls``."""
        return (overlay for overlay in self.overlays if isinstance(overlay, overlay_cls))

    async def stop(self, stop_loop: bool = True) -> None:
        """Stop walking, unload every overlay (concurrently), close the endpoint."""
        if self._ticker is not None:
            await self._ticker.stop()
            await self._ticker.shutdown_task_manager()
            self._ticker = None
        self.state_machine_task = None
        with self.overlay_lock:
            unloads = [self.unload_overlay(overlay) for overlay in list(self.overlays)]
        await asyncio.gather(*unloads)
        await maybe_coroutine(self.endpoint.close)

    async def produce_anonymized_endpoint(self) -> Any:
        """A new UDP endpoint on the UDPIPv4 interface address, opened and wrapped in a TunnelEndpoint (to
        which a TunnelCommunity must still be registered)."""
        tunnel_endpoint = _tunnel_endpoint_class()
        address = self.configuration.get("address", "0.0.0.0")
        for spec in self.configuration.get("interfaces", []):
            if spec["interface"] == "UDPIPv4":
                address = spec["ip"]
        base_endpoint = UDPEndpoint(port=0, ip=address)
        await base_endpoint.open()
        return tunnel_endpoint(base_endpoint)
