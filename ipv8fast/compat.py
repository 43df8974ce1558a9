"""Opt-in import alias: run unmodified py-ipv8 programs on ipv8fast (spec api.md §25).

``install()`` puts an import finder first on ``sys.meta_path``. It serves every py-ipv8 module path that
ipv8fast implements (:data:`ALIASES`: ``ipv8.community``, ``ipv8_service``, ``ipv8.test.base``, ...) from
ipv8fast. Everything else depends on whether the real py-ipv8 is installed:

* **py-ipv8 present (hybrid alias).** Every other ``ipv8.*`` module (tunnels, DHT, attestation, REST,
  database, py-ipv8's own tests and test helpers, ...) is loaded from py-ipv8's installed files under its
  own name, found with :class:`importlib.machinery.PathFinder` on ``sys.path`` (so a vendored copy, e.g. a
  git submodule on the path, works too). Their imports of core modules resolve through the alias, so the
  whole py-ipv8 stack runs on ipv8fast's core. The ``ipv8`` package and its sub-packages get py-ipv8's
  ``__init__`` and ``__path__`` (pkgutil and resource lookups work); alias entries still win. py-ipv8
  3.2.x is what ipv8fast is tested against: another version (or one whose version cannot be told) gives
  a :class:`PyIPv8VersionWarning` and still loads, but its upper layers may rely on core internals that
  ipv8fast does not reproduce.
* **py-ipv8 absent.** Those paths raise an ImportError saying they are outside ipv8fast's scope.

``install()`` must run before the first real ``ipv8`` import: it raises if real py-ipv8 modules are
already in ``sys.modules`` (two copies of a class would be a silent bug).
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
import importlib.metadata
import importlib.util
import os
import runpy
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

from ._core.environment import text

__all__ = ["ALIASES", "OUT_OF_SCOPE", "PyIPv8VersionWarning", "SUPPORTED_PYIPV8", "hybrid", "install", "main",
           "real_pyipv8_path", "uninstall"]

#: The py-ipv8 release series whose upper layers ipv8fast is tested against.
SUPPORTED_PYIPV8 = "3.2."

#: py-ipv8 module path -> ipv8fast modules its names come from (first match wins; ``ipv8fast.endpoint`` last
#: for the endpoint paths, whose py-ipv8 modules also re-export the base classes and the ``Address`` alias).
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
    "ipv8.messaging.interfaces.udp.endpoint": ("ipv8fast.udp_endpoint", "ipv8fast.addresses", "ipv8fast.endpoint"),
    "ipv8.messaging.interfaces.dispatcher.endpoint": ("ipv8fast.endpoint_interfaces", "ipv8fast.endpoint"),
    "ipv8.messaging.interfaces.statistics_endpoint": ("ipv8fast.statistics_endpoint", "ipv8fast.endpoint"),
    "ipv8.messaging.interfaces.network_stats": ("ipv8fast.statistics_endpoint",),
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

#: Parts of py-ipv8 that ipv8fast does not implement (served from py-ipv8 itself when it is installed).
OUT_OF_SCOPE: dict[str, str] = {
    "ipv8.messaging.anonymization": "anonymization (tunnels)",
    "ipv8.dht": "the DHT",
    "ipv8.attestation": "attestation/identity",
    "ipv8.REST": "the REST API",
    "ipv8.database": "the database layer",
}

_PACKAGES = {path.rsplit(".", i)[0] for path in ALIASES for i in range(1, path.count(".") + 1)}


class PyIPv8VersionWarning(RuntimeWarning):
    """The py-ipv8 found for the hybrid alias is not the tested release series."""


def _is_ipv8_name(name: str) -> bool:
    return name in ("ipv8", "ipv8_service") or name.startswith("ipv8.")


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
    """Creates alias modules, and empty namespaces for alias packages py-ipv8 does not provide."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if spec.name in ALIASES:
            return _AliasModule(spec.name, ALIASES[spec.name])
        module = types.ModuleType(spec.name)
        module.__path__ = []  # a namespace for the alias paths below it
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _RealLoader(importlib.machinery.SourceFileLoader):
    """Loads one of py-ipv8's own files under its ``ipv8.*`` name (marks it as loaded by the alias)."""


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not _is_ipv8_name(fullname):
            return None
        if fullname in ALIASES:
            return importlib.machinery.ModuleSpec(fullname, _LOADER)
        if real_pyipv8_path() is not None:
            spec = _real_spec(fullname, path)
            if spec is not None or fullname not in _PACKAGES:
                return spec  # None: not in py-ipv8 either, the import fails as usual
        if fullname in _PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, _LOADER, is_package=True)
        for prefix, area in OUT_OF_SCOPE.items():
            if fullname == prefix or fullname.startswith(prefix + "."):
                raise ImportError(f"{fullname}: {area} is outside ipv8fast's scope (install py-ipv8 "
                                  f"{SUPPORTED_PYIPV8}x for the hybrid alias, or run this program on py-ipv8)",
                                  name=fullname)
        raise ImportError(f"{fullname}: not provided by ipv8fast's py-ipv8 alias (outside its scope)", name=fullname)


def _real_spec(fullname: str, path: Any) -> importlib.machinery.ModuleSpec | None:
    """The spec of py-ipv8's own file for ``fullname``, loaded by :class:`_RealLoader`."""
    if fullname == "ipv8":
        search = [os.path.dirname(real_pyipv8_path() or "")]
    elif path:
        search = list(path)
    else:
        return None  # the parent is an alias namespace without py-ipv8 files
    spec = importlib.machinery.PathFinder.find_spec(fullname, search)
    if spec is None or spec.origin is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
        return spec
    return importlib.util.spec_from_file_location(fullname, spec.origin, loader=_RealLoader(fullname, spec.origin),
                                                  submodule_search_locations=spec.submodule_search_locations)


_LOADER = _Loader()
_FINDER = _Finder()
_UNSET: Any = object()
_real_path: Any = _UNSET


def _locate_real_pyipv8() -> str | None:
    """The directory of the real ``ipv8`` package on ``sys.path`` (meta-path finders are skipped)."""
    spec = importlib.machinery.PathFinder.find_spec("ipv8")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.abspath(list(spec.submodule_search_locations)[0])


def real_pyipv8_path() -> str | None:
    """Where the real py-ipv8 package lives, or None (looked up once per :func:`install`)."""
    global _real_path
    if _real_path is _UNSET:
        _real_path = _locate_real_pyipv8()
    return _real_path


def hybrid() -> bool:
    """Whether the alias serves the rest of py-ipv8 from its own files (py-ipv8 found, alias installed)."""
    return _FINDER in sys.meta_path and real_pyipv8_path() is not None


def _pyipv8_version(package_dir: str) -> str | None:
    """The version of the py-ipv8 distribution that owns ``package_dir``, or None if unknown."""
    try:
        distribution = importlib.metadata.distribution("pyipv8")
    except importlib.metadata.PackageNotFoundError:
        return None
    owned = os.path.abspath(str(distribution.locate_file("ipv8")))
    return distribution.version if owned == package_dir else None


def _check_version(package_dir: str) -> None:
    version = _pyipv8_version(package_dir)
    if version is None:
        warnings.warn(f"ipv8fast.compat: the py-ipv8 at {package_dir} has no installed version metadata; ipv8fast "
                      f"is tested with py-ipv8 {SUPPORTED_PYIPV8}x and its upper layers may not work on another",
                      PyIPv8VersionWarning, stacklevel=3)
    elif not version.startswith(SUPPORTED_PYIPV8):
        warnings.warn(f"ipv8fast.compat: py-ipv8 {version} is installed at {package_dir}; ipv8fast is tested with "
                      f"{SUPPORTED_PYIPV8}x, so its upper layers (tunnels, DHT, ...) may fail on ipv8fast's core",
                      PyIPv8VersionWarning, stacklevel=3)


def _loaded_by_alias(module: Any) -> bool:
    return isinstance(module, _AliasModule) or isinstance(getattr(module, "__loader__", None), (_Loader, _RealLoader))


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
    """Serve ``ipv8`` / ``ipv8_service`` imports from ipv8fast, the rest from py-ipv8 if present (idempotent).

    Raises RuntimeError if real py-ipv8 modules were imported before: install the alias first.
    """
    global _real_path
    early = sorted(name for name, module in sys.modules.items() if _is_ipv8_name(name) and not _loaded_by_alias(module))
    if early:
        raise RuntimeError(f"ipv8fast.compat.install() must run before any py-ipv8 import, but {', '.join(early[:5])}"
                           f"{' ...' if len(early) > 5 else ''} were already imported from py-ipv8")
    if _FINDER not in sys.meta_path:
        _real_path = _UNSET
        sys.meta_path.insert(0, _FINDER)
        location = real_pyipv8_path()
        if location is not None:
            _check_version(location)
    from . import configuration, service

    configuration.refresh_upper_layers()
    service.refresh_upper_layers()
    _apply_bootstrap_override()


def uninstall() -> None:
    """Remove the alias and every module it loaded (alias modules and py-ipv8 files alike)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [name for name, module in sys.modules.items() if _is_ipv8_name(name) and _loaded_by_alias(module)]:
        del sys.modules[name]
    from . import configuration, service

    configuration.refresh_upper_layers()
    service.refresh_upper_layers()


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
    # Run as ``python -m ipv8fast.compat``, this file is ``__main__``: a second copy of the module. Install the
    # copy the rest of ipv8fast imports, whose finder ``hybrid()`` and the default configuration look for.
    from ipv8fast import compat as _compat

    sys.exit(_compat.main())
