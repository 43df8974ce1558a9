"""Run a py-ipv8 program on the *real* py-ipv8 against loopback trackers:
``python pyipv8_loopback.py SCRIPT [ARGS]``.

Like ``python -m ipv8fast.compat``, it reads ``IPV8FAST_BOOTSTRAP=host:port[,...]`` and
``IPV8FAST_INTERFACE_IP`` (default 127.0.0.1; a loopback address also turns LAN address discovery off) and
applies them to py-ipv8's default configuration (the shared
``DISPERSY_BOOTSTRAPPER`` entry and the default interfaces) before SCRIPT runs as ``__main__``; the
program itself is not edited. Without IPV8FAST_BOOTSTRAP it refuses to run (no public trackers).
"""
from __future__ import annotations

import os
import runpy
import sys


def apply_loopback_configuration() -> None:
    from ipv8 import configuration

    value = os.environ.get("IPV8FAST_BOOTSTRAP", "").strip()
    if not value:
        raise SystemExit("IPV8FAST_BOOTSTRAP is required (host:port of a local tracker)")
    addresses = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        addresses.append((host, int(port)))
    configuration.DISPERSY_BOOTSTRAPPER["init"]["ip_addresses"] = addresses
    configuration.DISPERSY_BOOTSTRAPPER["init"]["dns_addresses"] = []
    for definition in configuration.default_bootstrap_defs:
        if definition.bootstrapper.value == "DispersyBootstrapper":
            definition.init.update(ip_addresses=addresses, dns_addresses=[])
    ip = os.environ.get("IPV8FAST_INTERFACE_IP", "127.0.0.1")
    for interface in configuration.default["interfaces"]:
        interface["ip"] = ip
    if ip.startswith("127."):
        # A node bound to loopback must not advertise the host's LAN address (as py-ipv8's TestBase does).
        from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers

        get_providers().clear()


def main(argv: list[str]) -> None:
    apply_loopback_configuration()
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
