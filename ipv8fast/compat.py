"""Opt-in import alias: run unmodified py-ipv8 programs on ipv8fast (spec api.md §25).

``install()`` puts an import finder first on ``sys.meta_path`` that serves every in-scope py-ipv8 module
path (``ipv8.community``, ``ipv8_service``, ``ipv8.test.base``, ...) from ipv8fast; the other ``ipv8.*``
paths (tunnels, DHT, attestation, REST, database) raise an ImportError saying they are out of scope.
``python -m ipv8fast.compat SCRIPT [ARGS]`` runs SCRIPT as ``__main__`` with the alias installed.

``IPV8FAST_BOOTSTRAP=host:port[,host:port...]`` replaces the public tracker list of the default
configuration (``DISPERSY_BOOTSTRAPPER``, which ``default_bootstrap_defs`` and the default dict share) with
those addresses, so a program that bootstraps from the public trackers can run against a local tracker;
``IPV8FAST_INTERFACE_IP`` sets the default configuration's interface address (e.g. ``127.0.0.1``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import types
from collections.abc import Sequence
from typing import Any

from ._core.environment import text

__all__ = ["ALIASES", "OUT_OF_SCOPE", "install", "main", "uninstall"]

#: py-ipv8 module path -> ipv8fast modules its names come from (first match wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "ipv8_service": ("ipv8fast.service",),
    "ipv8.util": ("ipv8fast.util",),
    "ipv8.taskmanager": ("ipv8fast.taskmanager",),
    "ipv8.requestcache": ("ipv8fast.requestcache",),
    "ipv8.peer": ("ipv8fast.peer",),
    "ipv8.keyvault.keys": ("ipv8fast.keys",),
    "ipv8.keyvault.crypto": ("ipv8fast.keys",),
    "ipv8.keyvault.private.openssl": ("ipv8fast.keys",),
    "ipv8.keyvault.public.openssl": ("ipv8fast.keys",),
    "ipv8.messaging.serialization": ("ipv8fast.serialization", "ipv8fast._core.packers", "ipv8fast._core.serializable"),
    "ipv8.messaging.lazy_payload": ("ipv8fast.payload",),
    "ipv8.messaging.payload_dataclass": ("ipv8fast.payload",),
    "ipv8.messaging.payload": ("ipv8fast.messages", "ipv8fast.serialization"),
    "ipv8.messaging.payload_headers": ("ipv8fast.messages", "ipv8fast.serialization"),
    "ipv8.messaging.interfaces.endpoint": ("ipv8fast.endpoint",),
    "ipv8.messaging.interfaces.udp.endpoint": ("ipv8fast.endpoint", "ipv8fast.addresses"),
    "ipv8.messaging.interfaces.dispatcher.endpoint": ("ipv8fast.endpoint",),
    "ipv8.messaging.interfaces.statistics_endpoint": ("ipv8fast.endpoint",),
    "ipv8.messaging.interfaces.network_stats": ("ipv8fast.endpoint",),
    "ipv8.messaging.interfaces.lan_addresses.interfaces": ("ipv8fast.lan_addresses",),
    "ipv8.messaging.interfaces.lan_addresses.addressprovider": ("ipv8fast.lan_addresses",),
    "ipv8.overlay": ("ipv8fast.overlay",),
    "ipv8.lazy_community": ("ipv8fast.lazy", "ipv8fast._core.packet_errors"),
    "ipv8.community": ("ipv8fast.community",),
    "ipv8.peerdiscovery.network": ("ipv8fast.network",),
    "ipv8.peerdiscovery.discovery": ("ipv8fast.discovery",),
    "ipv8.peerdiscovery.churn": ("ipv8fast.discovery",),
    "ipv8.peerdiscovery.community": ("ipv8fast.discovery_community",),
    "ipv8.peerdiscovery.payload": ("ipv8fast.discovery_payloads",),
    "ipv8.bootstrapping.bootstrapper_interface": ("ipv8fast.bootstrapping",),
    "ipv8.bootstrapping.dispersy.bootstrapper": ("ipv8fast.bootstrapping",),
    "ipv8.bootstrapping.udpbroadcast.bootstrapper": ("ipv8fast.bootstrapping",),
    "ipv8.configuration": ("ipv8fast.configuration",),
    "ipv8.loader": ("ipv8fast.loader",),
    "ipv8.test.base": ("ipv8fast.testing.base",),
    "ipv8.test.mocking.ipv8": ("ipv8fast.testing.ipv8",),
    "ipv8.test.mocking.endpoint": ("ipv8fast.testing.endpoint",),
    "ipv8.test.mocking.community": ("ipv8fast.testing.community",),
    "ipv8.test.mocking.discovery": ("ipv8fast.testing.discovery",),
}

#: Parts of py-ipv8 that ipv8fast does not implement.
OUT_OF_SCOPE: dict[str, str] = {
    "ipv8.messaging.anonymization": "anonymization (tunnels)",
    "ipv8.dht": "the DHT",
    "ipv8.attestation": "attestation/identity",
    "ipv8.REST": "the REST API",
    "ipv8.database": "the database layer",
}

_PACKAGES = {path.rsplit(".", i)[0] for path in ALIASES for i in range(1, path.count(".") + 1)}


class _AliasModule(types.ModuleType):
    """A py-ipv8 module path whose names are looked up in ipv8fast modules."""

    def __init__(self, name: str, sources: tuple[str, ...]) -> None:
        super().__init__(name)
        self.__sources = [importlib.import_module(source) for source in sources]
        names: list[str] = []
        for module in self.__sources:
            names.extend(n for n in getattr(module, "__all__", ()) if n not in names)
        self.__all__ = names
        self.__file__ = self.__sources[0].__file__

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        for module in self.__sources:
            if hasattr(module, attribute):
                value = getattr(module, attribute)
                setattr(self, attribute, value)
                return value
        raise AttributeError(f"module {self.__name__!r} (ipv8fast alias) has no attribute {attribute!r}")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if spec.name in ALIASES:
            return _AliasModule(spec.name, ALIASES[spec.name])
        module = types.ModuleType(spec.name)
        module.__path__ = []  # a namespace for the alias paths below it
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "ipv8_service" and fullname != "ipv8" and not fullname.startswith("ipv8."):
            return None
        if fullname in ALIASES or fullname in _PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, _LOADER, is_package=fullname in _PACKAGES)
        for prefix, area in OUT_OF_SCOPE.items():
            if fullname == prefix or fullname.startswith(prefix + "."):
                raise ImportError(f"{fullname}: {area} is outside ipv8fast's scope (run this program on py-ipv8)",
                                  name=fullname)
        raise ImportError(f"{fullname}: not provided by ipv8fast's py-ipv8 alias (outside its scope)", name=fullname)


_LOADER = _Loader()
_FINDER = _Finder()


def _apply_bootstrap_override() -> None:
    from . import configuration

    ip = text("IPV8FAST_INTERFACE_IP")
    if ip:
        for interface in configuration.default["interfaces"]:
            interface["ip"] = ip
    value = text("IPV8FAST_BOOTSTRAP")
    if not value:
        return

    addresses = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"IPV8FAST_BOOTSTRAP: expected host:port[,host:port...], got {item!r}")
        addresses.append((host, int(port)))
    init = configuration.DISPERSY_BOOTSTRAPPER["init"]  # shared with default_bootstrap_defs and the defaults
    init["ip_addresses"] = addresses
    init["dns_addresses"] = []


def install() -> None:
    """Serve ``ipv8`` / ``ipv8_service`` imports from ipv8fast (idempotent)."""
    for name in [name for name in sys.modules if name == "ipv8_service" or name == "ipv8" or name.startswith("ipv8.")]:
        if not isinstance(sys.modules[name], _AliasModule) and getattr(sys.modules[name], "__loader__", None) \
                is not _LOADER:
            del sys.modules[name]  # a real py-ipv8 module imported earlier would shadow the alias
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _apply_bootstrap_override()


def uninstall() -> None:
    """Remove the alias and the alias modules."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [name for name in sys.modules if name == "ipv8_service" or name == "ipv8" or name.startswith("ipv8.")]:
        if getattr(sys.modules[name], "__loader__", None) is _LOADER or isinstance(sys.modules[name], _AliasModule):
            del sys.modules[name]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ipv8fast.compat SCRIPT [ARGS]``: run SCRIPT with the alias installed."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m ipv8fast.compat SCRIPT [ARGS]", file=sys.stderr)
        return 2
    install()
    sys.argv = args
    sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
