"""The bootstrap tracker (``python -m ipv8fast tracker --port N``, or ``python -m ipv8fast.tracker``); it lives
in :mod:`ipv8fast.cli.tracker`."""
from __future__ import annotations

import sys

from .cli.tracker import Tracker, main, run_tracker

__all__ = ["Tracker", "main", "run_tracker"]

if __name__ == "__main__":
    sys.exit(main())
