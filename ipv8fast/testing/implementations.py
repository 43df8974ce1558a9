"""py-ipv8 and ipv8fast side by side: where each keeps the same API, and a loopback node built with either.

One table for every place that runs the same code on both libraries (the interop node, the benchmarks,
``python -m ipv8fast loadtest``, the py-ipv8 nodes of the mixed-population scenario)::

    m = import_modules("ipv8")          # or "ipv8fast": {"community": <module>, "lazy": ..., ...}
    settings = await loopback_settings(m)   # a key, a Network, a UDP endpoint open on 127.0.0.1
    config = node_configuration("ipv8", tracker_port)

This module uses the standard library only and imports neither library until asked, so a py-ipv8 process
that must never import the ipv8fast package (fair memory and CPU figures) can load it by file path::

    spec = importlib.util.spec_from_file_location("ipv8fast_implementations", path_to_this_file)

:func:`script_command` runs such a process: a file as a script, without its folder on ``sys.path``.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

#: Module paths with the same API in both implementations, by top-level package ("ipv8" is py-ipv8).
MODULES: dict[str, dict[str, str]] = {
    "ipv8": {"community": "ipv8.community", "lazy": "ipv8.lazy_community", "payload": "ipv8.messaging.lazy_payload",
             "endpoint": "ipv8.messaging.interfaces.udp.endpoint", "network": "ipv8.peerdiscovery.network",
             "peer": "ipv8.peer", "crypto": "ipv8.keyvault.crypto", "cache": "ipv8.requestcache",
             "configuration": "ipv8.configuration"},
    "ipv8fast": {"community": "ipv8fast.community", "lazy": "ipv8fast.lazy", "payload": "ipv8fast.payload",
                 "endpoint": "ipv8fast.udp_endpoint", "network": "ipv8fast.network", "peer": "ipv8fast.peer",
                 "crypto": "ipv8fast.keys", "cache": "ipv8fast.requestcache",
                 "configuration": "ipv8fast.configuration"},
}

#: What a community needs: messages, lazy decorators, payloads, endpoint, network, peer, keys, RequestCache.
COMMUNITY = ("community", "lazy", "payload", "endpoint", "network", "peer", "crypto", "cache")

#: Runs ``argv[1]`` as ``__main__`` with ``argv[2:]`` as its arguments, the script's folder not on sys.path.
SCRIPT_RUNNER = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def import_modules(impl: str, keys: tuple[str, ...] = COMMUNITY) -> dict[str, ModuleType]:
    """``{key: module}`` for ``impl`` ("ipv8" or "ipv8fast"), importing only the ``keys`` asked for."""
    return {key: importlib.import_module(MODULES[impl][key]) for key in keys}


async def loopback_settings(m: dict[str, ModuleType], **endpoint_options: Any) -> Any:
    """CommunitySettings of the library in ``m`` (from :func:`import_modules`): a fresh curve25519 key, a new
    Network and a UDP endpoint opened on 127.0.0.1 (a free port); ``endpoint_options`` go to the endpoint
    (ipv8fast's ``crypto_threads``, say)."""
    endpoint = m["endpoint"].UDPEndpoint(0, "127.0.0.1", **endpoint_options)
    await endpoint.open()
    key = m["crypto"].default_eccrypto.generate_key("curve25519")
    return m["community"].CommunitySettings(my_peer=m["peer"].Peer(key), endpoint=endpoint,
                                            network=m["network"].Network())


def node_configuration(impl: str, tracker_port: int, walker_interval: float = 0.5,
                       log_level: str | None = "ERROR", ip: str = "127.0.0.1", tracker_ip: str = "127.0.0.1",
                       churn: dict[str, float] | None = None) -> dict[str, Any]:
    """One loopback node for ``impl``'s IPv8: an ephemeral key, DiscoveryCommunity with the default walkers
    (RandomWalk 20 peers, RandomChurn, PeriodicSimilarity), bootstrapping only from the tracker on
    ``127.0.0.1:tracker_port`` (no DNS, no public trackers); ``log_level`` None leaves the level alone.
    ``ip`` / ``tracker_ip`` bind elsewhere (an emulated host of ``ipv8fast.testing.netns``); ``churn`` gives
    RandomChurn's keyword arguments (``ping_interval``, ``inactive_time``, ``drop_time``, ...)."""
    c = import_modules(impl, ("configuration",))["configuration"]
    builder = c.ConfigBuilder().clear_keys().clear_overlays().set_address(ip).set_port(0)
    builder.add_ephemeral_key("me").set_walker_interval(walker_interval)
    if log_level is not None:
        builder.set_log_level(log_level)
    builder.add_overlay("DiscoveryCommunity", "me",
                        [c.WalkerDefinition(c.Strategy.RandomWalk, 20, {"timeout": 3.0}),
                         c.WalkerDefinition(c.Strategy.RandomChurn, -1, dict(churn or {})),
                         c.WalkerDefinition(c.Strategy.PeriodicSimilarity, -1, {})],
                        [c.BootstrapperDefinition(c.Bootstrapper.DispersyBootstrapper,
                                                  {"ip_addresses": [(tracker_ip, tracker_port)],
                                                   "dns_addresses": [], "bootstrap_timeout": 5.0})], {}, [])
    return builder.finalize()


def script_command(path: str, *args: str) -> list[str]:
    """The command running the file ``path`` as a script with ``args``, without putting its folder on
    ``sys.path`` (a script in ``ipv8fast/testing/`` would otherwise see ``testing/ipv8.py`` as ``ipv8``)
    and without importing anything but what the script imports."""
    return [sys.executable, "-c", SCRIPT_RUNNER, path, *args]
