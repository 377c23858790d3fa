"""The one place where URL inputs meet the URL policy (``--allow-urls``).

Without ``--allow-urls`` the server refuses every URL input (422 ``urls_refused``) before any work.
With it, images given as URLs are downloaded in the request's thread under
:class:`jina_local.FetchPolicy`: http(s) only, no private, loopback or link-local addresses (but
those in ``--fetch-allow-network``), connect/read timeouts and a total deadline
(``--fetch-deadline``), a byte cap (``--fetch-max-bytes``), image content only.
"""

from __future__ import annotations

from typing import Any

from ..errors import JinaLocalError
from ..fetch import FetchPolicy, fetch
from .errors import RequestError

__all__ = ["fetch_image", "fetch_policy"]


def fetch_policy(config: Any) -> FetchPolicy:
    """The policy URL fetches run under: the safe defaults, with the server's deadline, cap and allowed networks.

    Without ``fetch_max_bytes`` bodies are capped at 32 MiB or the request byte limit, whichever is smaller.
    Raises :class:`~jina_local.errors.OptionError` for invalid values.
    """
    max_bytes = config.fetch_max_bytes
    if max_bytes is None:
        max_bytes = min(FetchPolicy().max_bytes, int(config.max_request_bytes))
    return FetchPolicy(
        allowed_networks=tuple(config.fetch_allow_networks),
        deadline=config.fetch_deadline_s,
        max_bytes=max_bytes,
    )


def fetch_image(url: str, policy: FetchPolicy, index: int, where: str | None = None) -> bytes:
    """Download one image URL under ``policy``; a refusal or failure is a 422 naming the item."""
    try:
        return fetch(url, policy, index=index)
    except JinaLocalError as exc:  # FetchError / URLNotAllowedError: what went wrong and how to fix it
        field = where or f"input[{index}]"
        raise RequestError(f"{field}: {exc}", field=field, item=index, code="fetch_failed") from None
