"""The search page: one template (``static/search.html``), two modes.

* ``render_search_page()``: the page ``jina-local serve --index`` serves at ``/``; its script posts
  queries to ``v1/search`` and renders the hits.
* ``render_results_page(results_json)``: the same page as one self-contained file with the results
  embedded (thumbnails are ``data:`` URIs), for ``jina-local search --html OUT.html``.

Plain HTML and a little JavaScript, no build step, nothing loaded from anywhere: a
Content-Security-Policy in the page allows only its own inline script and style, ``data:`` images
and requests to its own origin. Hit text is inserted as text, never as HTML.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["render_results_page", "render_search_page"]

_SLOT = re.compile(r"\{\{(TITLE|CONFIG|RESULTS)\}\}")


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files("jina_local.server").joinpath("static/search.html").read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``).

    >>> _script_json({"t": "</script><!--"})
    '{"t": "\\\\u003c/script>\\\\u003c!--"}'
    """
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _fill(title: str, config: dict[str, Any], results: Any) -> str:
    values = {"TITLE": html.escape(title), "CONFIG": _script_json(config), "RESULTS": _script_json(results)}
    return _SLOT.sub(lambda m: values[m.group(1)], _template())  # one pass: filled text is never re-read


def render_search_page(*, title: str = "jina-local search", needs_key: bool = False) -> str:
    """The live page: a search form whose script calls ``v1/search`` on the server that served it."""
    return _fill(title, {"mode": "server", "needs_key": needs_key}, None)


def render_results_page(results_json: dict[str, Any] | str, *, title: str | None = None) -> str:
    """A self-contained HTML page showing ``results_json`` (the :func:`jina_local.search_view.hits_to_json` shape).

    ``results_json`` may be the dict or its JSON text.
    """
    results = json.loads(results_json) if isinstance(results_json, str) else results_json
    heading = title or f"jina-local · {results.get('query', '')}"
    return _fill(heading, {"mode": "static", "needs_key": False}, results)
