"""Sphinx configuration: the site under docs/ (``sphinx-build -W -b html docs OUT``; the `docs` extra has the tools).

The pages take their text from README.md (one source); the API reference comes from the docstrings (autodoc),
read from the pure twins (set ``IPV8FAST_NO_EXTENSIONS=1``, as CI does: their signatures are the annotated ones).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from ipv8fast import __version__  # (after the path above)

project = "ipv8fast"
author = "The ipv8fast developers"
release = version = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
html_theme = "alabaster"
