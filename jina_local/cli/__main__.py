"""``python -m jina_local.cli`` behaves like the ``jina-local`` command."""

from __future__ import annotations

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
