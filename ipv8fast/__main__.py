"""``python -m ipv8fast [info | demo | loadtest | bench | tracker]``: the command-line tool.

``info`` (the default) shows which implementation is active and round-trips a payload; ``demo`` runs a local
tracker and a handful of peers on 127.0.0.1 (``--peers``, ``--duration``); ``loadtest`` drives pending caches
and signed traffic and writes per-second figures (CSV, PNG); ``bench`` runs the benchmark suite of a source
checkout side by side with py-ipv8; ``tracker --port N`` runs a bootstrap tracker.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import timeit

from . import COMPILED, VariablePayload, __version__, _twins, default_serializer, vp_compile


@vp_compile
class Greeting(VariablePayload):
    msg_id = 1
    format_list = ["H", "varlenHutf8", "ipv4"]
    names = ["number", "text", "address"]


def info() -> int:
    """Print the active twins, then pack, unpack and time a small payload."""
    print(f"ipv8fast {__version__} on Python {sys.version.split()[0]}")
    print(f"compiled extensions active: {COMPILED}" + ("  (IPV8FAST_NO_EXTENSIONS is set)" if _twins.NO_EXTENSIONS else ""))
    for name, compiled in sorted(_twins.ACTIVE.items()):
        print(f"  {name:12s} {'compiled' if compiled else 'pure Python'}")
    message = Greeting(7, "hello, py-ipv8 peers", ("127.0.0.1", 8090))
    data = default_serializer.pack_serializable(message)
    parsed, _ = default_serializer.unpack_serializable(Greeting, data)
    print(f"packed {message.__class__.__name__}: {data.hex()}")
    print(f"unpacked: number={parsed.number} text={parsed.text!r} address={parsed.address}")
    runs = 100_000
    seconds = timeit.timeit(lambda: default_serializer.unpack_serializable(Greeting, data), number=runs)
    print(f"unpack: {runs / seconds:,.0f} per second")
    return 0


COMMANDS = ("info", "demo", "loadtest", "bench", "tracker")
SUBCOMMANDS = {"demo": "demo", "loadtest": "loadtest", "bench": "benchcli", "tracker": "tracker"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(f"ipv8fast.{SUBCOMMANDS[argv[0]]}")
        return module.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ipv8fast", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="info", choices=COMMANDS,
                        help="info (default), demo, loadtest, bench, tracker; COMMAND --help for its options")
    parser.parse_args(argv)
    return info()


if __name__ == "__main__":
    sys.exit(main())
