"""``python -m ipv8fast info``: which implementation is active, and a payload packed, unpacked and timed."""
from __future__ import annotations

import argparse
import sys
import timeit

from .. import COMPILED, VariablePayload, __version__, default_serializer, vp_compile
from .._core import twins


@vp_compile
class Greeting(VariablePayload):
    msg_id = 1
    format_list = ["H", "varlenHutf8", "ipv4"]
    names = ["number", "text", "address"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``info`` takes no options."""


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print the active twins, then pack, unpack and time a small payload."""
    print(f"ipv8fast {__version__} on Python {sys.version.split()[0]}")
    print(f"compiled extensions active: {COMPILED}" + ("  (IPV8FAST_NO_EXTENSIONS is set)" if twins.NO_EXTENSIONS
                                                       else ""))
    for name, compiled in sorted(twins.ACTIVE.items()):
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
