"""``python -m ipv8fast [info | demo | loadtest | bench | tracker]``: see :mod:`ipv8fast.cli`."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
