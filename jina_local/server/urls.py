"""The one place where URL inputs meet the URL policy (``--allow-urls``).

Without ``--allow-urls`` the server refuses every URL input (422). With it, images given as URLs
are fetched under ``jina_local.FetchPolicy`` (http(s) only, no private addresses by default,
deadlines, byte caps), which is being written as ``jina_local/fetch.py``. FETCH-POLICY: until it is
in this build, ``--allow-urls`` is refused at start-up rather than fetching without the policy.
"""

from __future__ import annotations

from typing import Any

from .errors import RequestError, ServerConfigError

__all__ = ["fetch_image", "fetch_policy"]


def fetch_policy(config: Any) -> Any:
    """The policy URL fetches run under, or :class:`ServerConfigError` when this build has none."""
    try:
        from jina_local import FetchPolicy  # type: ignore[attr-defined]
    except ImportError:
        raise ServerConfigError(
            "--allow-urls needs jina_local.FetchPolicy (no private addresses, deadlines, byte caps), which this "
            "build does not have yet; send images as base64 instead."
        ) from None
    return FetchPolicy()


def fetch_image(url: str, policy: Any, index: int) -> bytes:
    """Download one image URL under ``policy``; failures name the item."""
    try:
        return bytes(policy.fetch(url))  # FETCH-POLICY: assumed entry point of jina_local.FetchPolicy
    except Exception as exc:  # noqa: BLE001 - any fetch failure is the client's URL problem
        raise RequestError(f"input[{index}] ({url}) could not be fetched: {exc}", field=f"input[{index}]",
                           item=index, code="fetch_failed") from None
