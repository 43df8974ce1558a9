"""``python -m ipv8fast COMMAND``: the command-line tool, one argparse subcommand per module of this package.

``info`` (the default) shows which implementation is active and round-trips a payload; ``demo`` runs a local
tracker and a handful of peers on 127.0.0.1; ``loadtest`` drives pending caches and signed traffic and writes
per-second figures (CSV, PNG); ``bench`` runs the benchmark suite of a source checkout side by side with
py-ipv8; ``tracker --port N`` runs a bootstrap tracker. Each command module has ``add_arguments(parser)`` and
``run_command(args, parser) -> exit code``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "build_parser", "main"]

#: command -> one-line help; the module ``ipv8fast.cli.<command>`` implements it
COMMANDS: dict[str, str] = {
    "info": "show the active implementation and time a payload round trip (the default)",
    "demo": "a local tracker and peers on 127.0.0.1 exchanging signed requests",
    "loadtest": "pending caches plus signed traffic; per-second CSV and PNG (--compare with py-ipv8)",
    "bench": "the benchmark suite of a source checkout, side by side with py-ipv8",
    "tracker": "run a bootstrap tracker (--port N)",
}


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
