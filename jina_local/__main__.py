"""``python -m jina_local`` behaves like the ``jina-local`` command."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
