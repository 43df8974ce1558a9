"""``python -m ipv8fast [info | demo | tracker --port N]``: the command-line tool.

``info`` (the default) shows which implementation is active and round-trips a payload; ``demo`` runs a local
tracker and a handful of peers on 127.0.0.1 (``--peers``, ``--duration``); ``tracker`` runs a bootstrap
tracker that ipv8fast and py-ipv8 peers can bootstrap from.
"""
from __future__ import annotations

import argparse
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


COMMANDS = ("info", "demo", "tracker")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "tracker":
        from .tracker import main as tracker_main

        return tracker_main(argv[1:])
    if argv and argv[0] == "demo":
        from .demo import main as demo_main

        return demo_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ipv8fast", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="info", choices=COMMANDS,
                        help="info (default): active implementation; demo: peers on 127.0.0.1; "
                             "tracker --port N: run a bootstrap tracker")
    parser.parse_args(argv)
    return info()


if __name__ == "__main__":
    sys.exit(main())
