"""Hook for the bounded fuzz of the text chunker (issue 10, item 5).

The chunker (``jina_local.documents``) is not built yet, so this module skips. When it lands, the
properties to check on arbitrary text (``hypothesis.strategies.text()``, including lone surrogates,
NULs, CRLF, very long lines and scripts without spaces): chunking never raises anything but a
``jina_local.errors`` type, never hangs (a deadline per example), the chunks' character spans are
in order, inside the text and cover every non-whitespace character, and no chunk exceeds the
token budget it was given.
"""

from __future__ import annotations

import pytest

documents = pytest.importorskip("jina_local.documents", reason="the text chunker is not built yet (issue 10 hook)")


def test_chunker_fuzz_placeholder():
    pytest.skip("write the chunker fuzz against jina_local.documents' chunking API (see the module docstring)")
