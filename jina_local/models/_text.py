"""Token-capped tokenisation that never tokenises megabytes to keep a few thousand tokens."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["capped_token_ids"]

_CHARS_PER_TOKEN_GUESS = 6  # first guess of the prefix length; doubled until it is long enough
_SAFETY_TOKENS = 8  # the kept tokens must end this many tokens before the prefix's cut
_BOUNDARY_LOOKBACK = 512  # how far back a cut looks for whitespace


def _cut_before_whitespace(text: str, position: int) -> int:
    """The nearest index <= ``position`` where a whitespace character follows a non-whitespace one."""
    floor = max(1, position - _BOUNDARY_LOOKBACK)
    for cut in range(position, floor - 1, -1):
        if text[cut].isspace() and not text[cut - 1].isspace():
            return cut
    return position  # one giant word: cut inside it (only tokens past the cap can differ)


def capped_token_ids(encode: Callable[[str], list[int]], text: str, limit: int) -> list[int]:
    """The first ``limit`` token ids of ``encode(text)``, tokenising only a prefix of ``text``.

    A prefix cut just before whitespace tokenises exactly like the start of the whole text (the
    pre-tokenizers of both families split at whitespace, and their normalisers act per character),
    so once the prefix yields more than ``limit`` tokens plus a margin, its first ``limit`` are the
    answer. The prefix doubles until that holds or covers the whole text.

    >>> encode = lambda s: [ord(c) for c in s if not c.isspace()]
    >>> capped_token_ids(encode, "ab cd " * 10_000, 3) == encode("ab cd " * 10_000)[:3]
    True
    """
    guess = (limit + _SAFETY_TOKENS) * _CHARS_PER_TOKEN_GUESS
    while guess < len(text):
        ids = encode(text[: _cut_before_whitespace(text, guess)])
        if len(ids) >= limit + _SAFETY_TOKENS:
            return ids[:limit]
        guess *= 2
    return encode(text)[:limit]
