"""IPv8 configuration: the default dict, :class:`ConfigBuilder` and :func:`validate_configuration`.

Spec: api.md §18 (``ipv8.configuration``). The configuration is a plain dict (JSON-shaped); users may
build it by hand, start from :func:`get_default_configuration`, or use the fluent :class:`ConfigBuilder`.
On its own, ipv8fast's default lists only ``DiscoveryCommunity``: tunnels, DHT and attestation are outside
its scope, and a configuration naming them is rejected with a message saying so. Under the hybrid alias
(:mod:`ipv8fast.compat` with py-ipv8 installed) those layers come from py-ipv8: the default then lists
py-ipv8's overlays too (HiddenTunnelCommunity, DHTDiscoveryCommunity with PingChurn) and nothing is refused.
"""
from __future__ import annotations

import base64
import binascii
import copy
import difflib
import enum
import logging
import math
import os
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from .keys import default_eccrypto

__all__ = [
    "DISPERSY_BOOTSTRAPPER",
    "Bootstrapper",
    "BootstrapperDefinition",
    "ConfigBuilder",
    "ConfigurationError",
    "MAX_CRYPTO_THREADS",
    "OUT_OF_SCOPE_OVERLAYS",
    "Strategy",
    "WalkerDefinition",
    "default",
    "default_bootstrap_defs",
    "default_crypto_threads",
    "get_default_configuration",
    "refresh_upper_layers",
    "upper_layers_available",
    "validate_configuration",
]

# The public trackers (facts listed in spec §18). Tests must never contact them.
DISPERSY_BOOTSTRAPPER: dict[str, Any] = {
    "class": "DispersyBootstrapper",
    "init": {
        "ip_addresses": [
            ("130.161.119.206", 6421), ("130.161.119.206", 6422), ("131.180.27.155", 6423),
            ("131.180.27.156", 6424), ("131.180.27.161", 6427), ("131.180.27.161", 6521),
            ("131.180.27.161", 6522), ("131.180.27.162", 6523), ("131.180.27.162", 6524),
            ("130.161.119.215", 6525), ("130.161.119.215", 6526), ("130.161.119.201", 6527),
            ("130.161.119.201", 6528),
        ],
        "dns_addresses": [
            ("dispersy1.tribler.org", 6421), ("dispersy1.st.tudelft.nl", 6421),
            ("dispersy2.tribler.org", 6422), ("dispersy2.st.tudelft.nl", 6422),
            ("dispersy3.tribler.org", 6423), ("dispersy3.st.tudelft.nl", 6423),
            ("dispersy4.tribler.org", 6424),
        ],
        "bootstrap_timeout": 30.0,
    },
}

#: The process-wide defaults (mutable, as in py-ipv8); read them through get_default_configuration().
default: dict[str, Any] = {
    "interfaces": [{"interface": "UDPIPv4", "ip": "0.0.0.0", "port": 8090}],
    "keys": [{"alias": "anonymous id", "generation": "curve25519", "file": "ec_multichain.pem"}],
    "logger": {"level": "INFO"},
    "working_directory": ".",
    "walker_interval": 0.5,
    "overlays": [
        {
            "class": "DiscoveryCommunity",
            "key": "anonymous id",
            "walkers": [
                {"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 3.0}},
                {"strategy": "RandomChurn", "peers": -1,
                 "init": {"sample_size": 8, "ping_interval": 10.0, "inactive_time": 27.5, "drop_time": 57.5}},
                {"strategy": "PeriodicSimilarity", "peers": -1, "init": {}},
            ],
            "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()],
            "initialize": {},
            "on_start": [],
        },
    ],
}


#: py-ipv8's default overlays beyond DiscoveryCommunity, listed in :data:`default` under the hybrid alias.
UPPER_LAYER_OVERLAYS: list[dict[str, Any]] = [
    {
        "class": "HiddenTunnelCommunity",
        "key": "anonymous id",
        "walkers": [{"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 3.0}}],
        "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()],
        "initialize": {"min_circuits": 1, "max_circuits": 1, "max_joined_circuits": 100, "max_time": 600,
                       "max_time_inactive": 20, "max_traffic": 250 * 1024 * 1024, "dht_lookup_interval": 30},
        "on_start": [("build_tunnels", 1)],
    },
    {
        "class": "DHTDiscoveryCommunity",
        "key": "anonymous id",
        "walkers": [{"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 3.0}},
                    {"strategy": "PingChurn", "peers": -1, "init": {}}],
        "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()],
        "initialize": {},
        "on_start": [],
    },
]


def upper_layers_available() -> bool:
    """Whether py-ipv8's upper layers (tunnels, DHT, attestation) run on ipv8fast: the hybrid alias is on."""
    from . import compat

    return compat.hybrid()


def refresh_upper_layers() -> None:
    """List py-ipv8's default overlays in :data:`default` exactly while the hybrid alias is on."""
    overlays = [block for block in default["overlays"] if all(block is not upper for upper in UPPER_LAYER_OVERLAYS)]
    if upper_layers_available():
        overlays.extend(UPPER_LAYER_OVERLAYS)
    default["overlays"][:] = overlays


#: the largest ``crypto_threads`` accepted
MAX_CRYPTO_THREADS = 256


def default_crypto_threads() -> int:
    """``crypto_threads`` when the configuration does not say: one per core beyond the first (0 on one core)."""
    return max(0, (os.cpu_count() or 1) - 1)


def get_default_configuration() -> dict[str, Any]:
    """A deep copy of :data:`default`, yours to edit."""
    return copy.deepcopy(default)


class Strategy(enum.Enum):
    """Names of the built-in discovery strategies (``PingChurn`` belongs to the out-of-scope DHT)."""

    RandomWalk = "RandomWalk"
    RandomChurn = "RandomChurn"
    PeriodicSimilarity = "PeriodicSimilarity"
    EdgeWalk = "EdgeWalk"
    PingChurn = "PingChurn"

    @classmethod
    def values(cls) -> list[str]:
        return list(cls.__members__)


class WalkerDefinition(NamedTuple):
    """Run ``strategy(overlay, **init)`` while the overlay has fewer than ``peers`` peers (-1: always)."""

    strategy: Strategy
    peers: int
    init: dict


class Bootstrapper(enum.Enum):
    """Names of the built-in bootstrappers."""

    DispersyBootstrapper = "DispersyBootstrapper"
    UDPBroadcastBootstrapper = "UDPBroadcastBootstrapper"

    @classmethod
    def values(cls) -> list[str]:
        return list(cls.__members__)


class BootstrapperDefinition(NamedTuple):
    """Create ``bootstrapper(**init)`` for an overlay."""

    bootstrapper: Bootstrapper
    init: dict


#: The usual bootstrapper list for ConfigBuilder.add_overlay; ``init`` is DISPERSY_BOOTSTRAPPER's own dict.
default_bootstrap_defs = [BootstrapperDefinition(Bootstrapper.DispersyBootstrapper, DISPERSY_BOOTSTRAPPER["init"])]

#: Overlay class name -> the out-of-scope area it belongs to.
OUT_OF_SCOPE_OVERLAYS: dict[str, str] = {
    "HiddenTunnelCommunity": "anonymization (tunnels)",
    "TunnelCommunity": "anonymization (tunnels)",
    "DHTDiscoveryCommunity": "the DHT",
    "DHTCommunity": "the DHT",
    "AttestationCommunity": "attestation/identity",
    "IdentityCommunity": "attestation/identity",
}
_OUT_OF_SCOPE_STRATEGIES = {"PingChurn": "the DHT"}

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
_BASIC_CONFIG_ARGS = frozenset({"filename", "filemode", "format", "datefmt", "style", "level", "stream",
                                "handlers", "force", "encoding", "errors"})
_INTERFACES = ("UDPIPv4", "UDPIPv6")
_BOOTSTRAPPER_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # name -> (required, allowed)
    "DispersyBootstrapper": (frozenset({"ip_addresses", "dns_addresses"}),
                             frozenset({"ip_addresses", "dns_addresses", "bootstrap_timeout"})),
    "UDPBroadcastBootstrapper": (frozenset(), frozenset({"bootstrap_timeout"})),
}


class ConfigurationError(AssertionError, ValueError):
    """An invalid configuration. ``errors`` lists ``(key path, problem)``; each line of the message is
    ``path: problem``. An AssertionError too, because py-ipv8's ``ConfigBuilder`` raises those."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(f"{path}: {problem}" if path else problem for path, problem in self.errors))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


class _Checker:
    """Collects every problem of one configuration."""

    def __init__(self, strict: bool, require_interfaces: bool, extra_communities: Collection[str]) -> None:
        self.strict = strict
        self.require_interfaces = require_interfaces
        self.extra = set(extra_communities)
        self.upper_layers = upper_layers_available()
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, problem: str) -> None:
        self.errors.append((path, problem))

    def require(self, block: Mapping, path: str, *names: str) -> bool:
        """Report each missing key (hinting at a near-miss spelling); True if all are present."""
        ok = True
        for name in names:
            if name not in block:
                ok = False
                others = [key for key in block if isinstance(key, str)]
                close = difflib.get_close_matches(name, others, n=1, cutoff=0.75)
                hint = f" (found {close[0]!r}: misspelled?)" if close else ""
                self.fail(_join(path, name), f"required key is missing{hint}")
        return ok

    def mapping(self, value: Any, path: str, what: str = "a dict") -> bool:
        if isinstance(value, Mapping):
            return True
        self.fail(path, f"expected {what}, got {_short(value)}")
        return False

    def sequence(self, value: Any, path: str) -> bool:
        if _is_list(value):
            return True
        self.fail(path, f"expected a list, got {_short(value)}")
        return False

    def string(self, value: Any, path: str) -> bool:
        if isinstance(value, str) and value:
            return True
        self.fail(path, f"expected a non-empty str, got {_short(value)}")
        return False

    def kwargs(self, value: Any, path: str) -> bool:
        if not self.mapping(value, path, "a dict of keyword arguments"):
            return False
        ok = True
        for key in value:
            if not isinstance(key, str):
                self.fail(_join(path, key), f"keyword names must be str, got {_short(key)}")
                ok = False
        return ok

    def port(self, value: Any, path: str) -> None:
        if not _is_int(value):
            self.fail(path, f"expected int, got {_short(value)}")
        elif not 0 <= value <= 65535:
            self.fail(path, f"expected a port number in 0..65535, got {value!r}")

    def seconds(self, value: Any, path: str) -> None:
        if not _is_number(value):
            self.fail(path, f"expected a number of seconds, got {_short(value)}")
        elif not (value >= 0 and math.isfinite(value)):
            self.fail(path, f"expected a finite number >= 0, got {value!r}")

    # -- sections ------------------------------------------------------------------------------------

    def check(self, config: Any) -> None:
        if not self.mapping(config, "", "the configuration to be a dict"):
            return
        required = ["keys", "logger", "walker_interval", "overlays"]
        legacy = "address" in config or "port" in config
        if self.require_interfaces and not legacy:
            required.insert(0, "interfaces")
        if self.strict:
            required.append("working_directory")
        self.require(config, "", *required)
        if "interfaces" in config:
            self.interfaces(config["interfaces"])
        if "address" in config and not isinstance(config["address"], str):
            self.fail("address", f"expected str, got {_short(config['address'])}")
        if "port" in config:
            self.port(config["port"], "port")
        if "logger" in config:
            self.logger(config["logger"])
        if "walker_interval" in config:
            self.seconds(config["walker_interval"], "walker_interval")
        if "crypto_threads" in config:
            self.crypto_threads(config["crypto_threads"])
        if "working_directory" in config:
            value = config["working_directory"]
            if not isinstance(value, (str, os.PathLike)):
                self.fail("working_directory", f"expected a path, got {_short(value)}")
        aliases = self.keys(config["keys"]) if "keys" in config else None
        if "overlays" in config and self.sequence(config["overlays"], "overlays"):
            for index, overlay in enumerate(config["overlays"]):
                self.overlay(overlay, f"overlays[{index}]", aliases)

    def crypto_threads(self, value: Any) -> None:
        if not _is_int(value) or not 0 <= value <= MAX_CRYPTO_THREADS:
            self.fail("crypto_threads", f"expected an int from 0 to {MAX_CRYPTO_THREADS}, got {_short(value)}")

    def interfaces(self, value: Any) -> None:
        if not self.sequence(value, "interfaces"):
            return
        for index, spec in enumerate(value):
            path = f"interfaces[{index}]"
            if not self.mapping(spec, path) or not self.require(spec, path, "interface"):
                continue
            if spec["interface"] not in _INTERFACES:
                self.fail(f"{path}.interface",
                          f"expected one of {', '.join(_INTERFACES)}, got {_short(spec['interface'])}")
            if "ip" in spec and not isinstance(spec["ip"], str):
                self.fail(f"{path}.ip", f"expected str, got {_short(spec['ip'])}")
            if "port" in spec:
                self.port(spec["port"], f"{path}.port")
            if "port_fallback" in spec and not isinstance(spec["port_fallback"], bool):
                self.fail(f"{path}.port_fallback", f"expected true or false, got {_short(spec['port_fallback'])}")

    def logger(self, value: Any) -> None:
        if not self.mapping(value, "logger"):
            return
        for key in value:
            if key not in _BASIC_CONFIG_ARGS:
                self.fail(_join("logger", key),
                          "not a logging.basicConfig argument "
                          f"(expected one of {', '.join(sorted(_BASIC_CONFIG_ARGS))})")
        if "level" in value:
            level = value["level"]
            if isinstance(level, str):
                if not isinstance(logging.getLevelName(level), int):
                    self.fail("logger.level", f"expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
            elif not _is_int(level):
                self.fail("logger.level", f"expected a level name or int, got {_short(level)}")

    def keys(self, value: Any) -> set[Any]:
        aliases: set[Any] = set()
        if not self.sequence(value, "keys"):
            return aliases
        levels = default_eccrypto.security_levels
        for index, block in enumerate(value):
            path = f"keys[{index}]"
            if not self.mapping(block, path):
                continue
            if "alias" in block:
                try:
                    aliases.add(block["alias"])
                except TypeError:
                    self.fail(f"{path}.alias", f"expected str, got {_short(block['alias'])}")
            self.require(block, path, "alias", "file")
            key_file = block.get("file")
            if key_file is not None and not isinstance(key_file, (str, bytes, os.PathLike)):
                self.fail(f"{path}.file", f"expected a path or \"\", got {_short(key_file)}")
                key_file = None
            if "bin" in block:
                self.key_bin(block["bin"], f"{path}.bin")
            elif "generation" in block:
                if block["generation"] not in levels:
                    self.fail(f"{path}.generation",
                              f"expected one of {', '.join(levels)}, got {_short(block['generation'])}")
            elif not (key_file and os.path.isfile(key_file)):
                self.fail(path, "needs 'generation' or 'bin' (or a 'file' that exists)")
        return aliases

    def key_bin(self, value: Any, path: str) -> None:
        if not isinstance(value, (str, bytes)):
            self.fail(path, f"expected a base64 str, got {_short(value)}")
            return
        try:
            raw = base64.b64decode(value)
        except (binascii.Error, ValueError):
            self.fail(path, f"not valid base64: {_short(value)}")
            return
        if not default_eccrypto.is_valid_private_bin(raw):
            self.fail(path, "does not decode to a private key")

    def overlay(self, block: Any, path: str, aliases: set[Any] | None) -> None:
        if not self.mapping(block, path):
            return
        self.require(block, path, "class", "key", "walkers", "bootstrappers", "initialize", "on_start")
        name = block.get("class")
        if "class" in block and self.string(name, f"{path}.class"):
            area = OUT_OF_SCOPE_OVERLAYS.get(name)
            if area is not None and name not in self.extra and not self.upper_layers:
                self.fail(f"{path}.class", f"{name!r} is outside ipv8fast's scope ({area}); remove this overlay "
                                           "from the configuration or run it on py-ipv8")
        if "key" in block and aliases is not None and _hashable(block["key"]) and block["key"] not in aliases:
            known = ", ".join(repr(alias) for alias in aliases) or "none"
            self.fail(f"{path}.key", f"unknown key alias {_short(block['key'])} (aliases in 'keys': {known})")
        if "initialize" in block and self.kwargs(block["initialize"], f"{path}.initialize"):
            if block["initialize"].get("anonymize") and not self.upper_layers:
                self.fail(f"{path}.initialize.anonymize",
                          "anonymized endpoints are outside ipv8fast's scope (anonymization (tunnels))")
        if "on_start" in block and self.sequence(block["on_start"], f"{path}.on_start"):
            for index, entry in enumerate(block["on_start"]):
                entry_path = f"{path}.on_start[{index}]"
                if not _is_list(entry) or not entry:
                    self.fail(entry_path, f"expected a (method_name, *args) tuple, got {_short(entry)}")
                elif not isinstance(entry[0], str):
                    self.fail(f"{entry_path}[0]", f"expected a method name (str), got {_short(entry[0])}")
        if "walkers" in block and self.sequence(block["walkers"], f"{path}.walkers"):
            for index, walker in enumerate(block["walkers"]):
                self.walker(walker, f"{path}.walkers[{index}]")
        if "bootstrappers" in block and self.sequence(block["bootstrappers"], f"{path}.bootstrappers"):
            for index, bootstrapper in enumerate(block["bootstrappers"]):
                self.bootstrapper(bootstrapper, f"{path}.bootstrappers[{index}]")

    def walker(self, block: Any, path: str) -> None:
        if not self.mapping(block, path):
            return
        self.require(block, path, "strategy", "peers", "init")
        if "strategy" in block and self.string(block["strategy"], f"{path}.strategy"):
            area = _OUT_OF_SCOPE_STRATEGIES.get(block["strategy"])
            if area is not None and not self.upper_layers:
                self.fail(f"{path}.strategy", f"{block['strategy']!r} is outside ipv8fast's scope ({area})")
        if "peers" in block:
            peers = block["peers"]
            if not _is_int(peers):
                self.fail(f"{path}.peers", f"expected int, got {_short(peers)}")
            elif peers < -1:
                self.fail(f"{path}.peers", f"expected -1 (always step) or a peer count >= 0, got {peers!r}")
        if "init" in block:
            self.kwargs(block["init"], f"{path}.init")

    def bootstrapper(self, block: Any, path: str) -> None:
        if not self.mapping(block, path):
            return
        self.require(block, path, "class", "init")
        name = block.get("class")
        known = "class" in block and self.string(name, f"{path}.class") and name in _BOOTSTRAPPER_ARGS
        if "class" in block and isinstance(name, str) and name and not known and self.strict:
            self.fail(f"{path}.class", f"expected one of {', '.join(Bootstrapper.values())}, got {name!r}")
        if "init" not in block or not self.kwargs(block["init"], f"{path}.init") or not known:
            return
        init = block["init"]
        required, allowed = _BOOTSTRAPPER_ARGS[name]
        init_path = f"{path}.init"
        self.require(init, init_path, *sorted(required))
        for key in init:
            if key not in allowed:
                self.fail(_join(init_path, key), f"not an argument of {name} (expected {', '.join(sorted(allowed))})")
        for key in ("ip_addresses", "dns_addresses"):
            if key in init:
                self.addresses(init[key], _join(init_path, key))
        if "bootstrap_timeout" in init:
            self.seconds(init["bootstrap_timeout"], f"{init_path}.bootstrap_timeout")

    def addresses(self, value: Any, path: str) -> None:
        if not self.sequence(value, path):
            return
        for index, address in enumerate(value):
            entry_path = f"{path}[{index}]"
            if not _is_list(address) or len(address) != 2:
                self.fail(entry_path, f"expected a (host, port) pair, got {_short(address)}")
                continue
            if not isinstance(address[0], str) or not address[0]:
                self.fail(f"{entry_path}[0]", f"expected a host str, got {_short(address[0])}")
            self.port(address[1], f"{entry_path}[1]")


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def validate_configuration(config: Any, *, strict: bool = False, require_interfaces: bool = True,
                           extra_communities: Collection[str] = ()) -> dict[str, Any]:
    """Check an IPv8 configuration dict and return it unchanged; raise :class:`ConfigurationError`
    listing every problem as ``key.path: problem`` otherwise.

    ``strict`` adds ConfigBuilder.finalize's rules (``working_directory`` present, only built-in
    bootstrapper names); ``require_interfaces=False`` when an endpoint is supplied; overlay class names
    in ``extra_communities`` are the user's own, so they are never called out of scope. Unknown extra keys
    are accepted (py-ipv8 ignores them); a missing key with a near-miss spelling present is pointed out.
    """
    checker = _Checker(strict, require_interfaces, extra_communities)
    checker.check(config)
    if checker.errors:
        raise ConfigurationError(checker.errors)
    return config


class ConfigBuilder:
    """Fluent builder of a configuration dict; every mutator returns the builder. ``config`` is public."""

    def __init__(self, clean: bool = False) -> None:
        self.config: dict[str, Any] = {} if clean else get_default_configuration()

    def finalize(self) -> dict[str, Any]:
        """Validate (strictly; no interfaces needed) and return ``config`` itself, not a copy."""
        return validate_configuration(self.config, strict=True, require_interfaces=False)

    def clear_keys(self) -> ConfigBuilder:
        self.config["keys"] = []
        return self

    def clear_overlays(self) -> ConfigBuilder:
        self.config["overlays"] = []
        return self

    def _interface(self, interface: str) -> dict[str, Any]:
        specs = self.config.setdefault("interfaces", [])
        for spec in specs:
            if spec.get("interface") == interface:
                return spec
        spec = {"interface": interface}
        specs.append(spec)
        return spec

    def set_address(self, address: str, interface: str = "UDPIPv4") -> ConfigBuilder:
        """Bind ``interface`` ("UDPIPv4" / "UDPIPv6") to ``address`` (e.g. "127.0.0.1", "::1", "0.0.0.0")."""
        self._interface(interface)["ip"] = address
        return self

    def set_port(self, port: int, interface: str = "UDPIPv4") -> ConfigBuilder:
        """Try to bind ``interface`` to ``port`` (the next free port is used if it is taken)."""
        self._interface(interface)["port"] = port
        return self

    def set_log_level(self, log_level: str) -> ConfigBuilder:
        if log_level not in LOG_LEVELS:
            raise ConfigurationError([("logger.level", f"expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")])
        self.config["logger"] = {"level": log_level}
        return self

    def set_working_directory(self, folder_path: str) -> ConfigBuilder:
        self.config["working_directory"] = folder_path
        return self

    def set_crypto_threads(self, threads: int) -> ConfigBuilder:
        """Worker threads verifying received signatures (0: on the event-loop thread; an ipv8fast key)."""
        self.config["crypto_threads"] = threads
        return self

    def set_walker_interval(self, interval: float) -> ConfigBuilder:
        """Seconds between strategy passes."""
        self.config["walker_interval"] = interval
        return self

    def _replace_key(self, block: dict[str, Any]) -> ConfigBuilder:
        keys = [key for key in self.config.get("keys", []) if key.get("alias") != block["alias"]]
        keys.append(block)
        self.config["keys"] = keys
        return self

    def add_key(self, alias: str, generation: str, file_path: str) -> ConfigBuilder:
        """Key ``alias``: loaded from ``file_path`` if it exists, else generated and saved there."""
        levels = default_eccrypto.security_levels
        if generation not in levels:
            raise ConfigurationError([("generation", f"expected one of {', '.join(levels)}, got {generation!r}")])
        return self._replace_key({"alias": alias, "generation": generation, "file": file_path})

    def add_key_from_bin(self, alias: str, key_bin_b64: str, file_path: str | None = None) -> ConfigBuilder:
        """Key ``alias`` from base64 private key material (a file at ``file_path`` takes precedence)."""
        return self._replace_key({"alias": alias, "bin": key_bin_b64, "file": file_path or ""})

    def add_ephemeral_key(self, alias: str) -> ConfigBuilder:
        """A fresh curve25519 key that lives in the configuration only."""
        key_bin = default_eccrypto.generate_key("curve25519").key_to_bin()
        return self.add_key_from_bin(alias, base64.b64encode(key_bin).decode(), "")

    def add_overlay(self, overlay_class: str, key_alias: str, walkers: list[WalkerDefinition],
                    bootstrappers: list[BootstrapperDefinition], initialize: dict[str, Any],
                    on_start: list[tuple], allow_duplicate: bool = False) -> ConfigBuilder:
        """Add an overlay by class name (built-in, or passed to IPv8 as ``extra_communities``).

        Without ``allow_duplicate`` an overlay of the same class is replaced. ``on_start`` entries are
        ``(method_name, *args)`` calls made on the overlay when IPv8 starts.
        """
        overlays = self.config.get("overlays", [])
        if not allow_duplicate:
            overlays = [overlay for overlay in overlays if overlay.get("class") != overlay_class]
        overlays.append({
            "class": overlay_class,
            "key": key_alias,
            "walkers": [{"strategy": _enum_value(walker.strategy), "peers": walker.peers, "init": walker.init}
                        for walker in walkers],
            "bootstrappers": [{"class": _enum_value(definition.bootstrapper), "init": definition.init}
                              for definition in bootstrappers],
            "initialize": initialize,
            "on_start": on_start,
        })
        self.config["overlays"] = overlays
        return self


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
