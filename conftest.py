"""Root pytest hooks: modules of optional extras are collected for doctests only when the extra is installed."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("ray") is not None else ["jina_local/ray/*"]
