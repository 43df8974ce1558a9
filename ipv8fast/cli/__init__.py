"""``python -m ipv8fast COMMAND``: the command-line tool, one argparse subcommand per module of this package.

``info`` (the default) shows which implementation is active and round-trips a payload; ``demo`` runs a local
tracker and a handful of peers on 127.0.0.1; ``loadtest`` drives pending caches and signed traffic and writes
per-second figures (CSV, PNG); ``bench`` runs the benchmark suite of a source checkout side by side with
py-ipv8; ``tracker --port N`` runs a bootstrap tracker. Each command module has ``add_arguments(parser)`` and
``run_command(args, parser) -> exit code``. ``demo``, ``loadtest`` and ``bench`` print
:func:`implementation_line` first.
"""
from __future__ import annotations

import argparse
import importlib
import platform
import sys

__all__ = ["COMMANDS", "build_parser", "implementation_line", "main"]

#: command -> one-line help; the module ``ipv8fast.cli.<command>`` implements it
COMMANDS: dict[str, str] = {
    "info": "show the active implementation and time a payload round trip (the default)",
    "demo": "a local tracker and peers on 127.0.0.1 exchanging signed requests",
    "loadtest": "your community (--scenario) or the built-in ping under load; per-second CSV and PNG (--compare)",
    "bench": "the benchmark suite of a source checkout, side by side with py-ipv8",
    "tracker": "run a bootstrap tracker (--port N)",
}


def implementation_line() -> str:
    """Which implementation runs, in one line: ``ipv8fast 0.1.0 (Python 3.11.7): compiled (all 9 twins)``.

    Otherwise ``pure Python (...)`` or ``partly compiled (pure twins: ...)``, naming the pure twins.
    """
    from .. import __version__
    from .._core import twins

    pure = sorted(name for name, compiled in twins.ACTIVE.items() if not compiled)
    head = f"ipv8fast {__version__} (Python {platform.python_version()}): "
    if not pure:
        return head + f"compiled (all {len(twins.ACTIVE)} twins)"
    if len(pure) == len(twins.ACTIVE):
        why = "IPV8FAST_NO_EXTENSIONS is set" if twins.NO_EXTENSIONS else "the extensions are not built"
        return head + f"pure Python (all {len(pure)} twins pure: {why})"
    return head + f"partly compiled (pure twins: {', '.join(pure)})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ipv8fast", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     help="; ".join(f"{name}: {text}" for name, text in COMMANDS.items()))
    for name, text in COMMANDS.items():
        module = importlib.import_module(f"{__name__}.{name}")
        sub = commands.add_parser(name, help=text, description=(module.__doc__ or text).splitlines()[0])
        module.add_arguments(sub)
        sub.set_defaults(run_command=module.run_command, command_parser=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        args = parser.parse_args(["info"])
    return int(args.run_command(args, args.command_parser))
