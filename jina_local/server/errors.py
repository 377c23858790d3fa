"""Errors of the server: a request that cannot be served, and a configuration that is refused.

Both are :class:`~jina_local.errors.JinaLocalError` subclasses whose message says what was wrong and
how to fix it. :class:`RequestError` also carries the HTTP status and where in the request the
problem is (``field`` such as ``"input[3].image"``, and the item index), which the app turns into a
JSON body; nothing else about an error (no stack trace) ever reaches a client.
"""

from __future__ import annotations

from ..errors import JinaLocalError

__all__ = ["RequestError", "ServerConfigError"]


class RequestError(JinaLocalError, ValueError):
    """A request the server refuses: bad field, over a limit, not authorised, or overloaded."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        field: str | None = None,
        item: int | None = None,
        code: str = "invalid_request",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.item = item
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        """The JSON error body: Jina's ``detail`` plus OpenAI's ``error`` object, both naming the field."""
        kind = {
            401: "authentication_error",
            404: "not_found_error",
            413: "invalid_request_error",
            503: "server_overloaded",
        }.get(self.status, "invalid_request_error")
        return {
            "detail": self.message,
            "field": self.field,
            "item": self.item,
            "error": {"message": self.message, "type": kind, "param": self.field, "code": self.code},
        }


class ServerConfigError(JinaLocalError, ValueError):
    """``jina-local serve`` options that would be unsafe or cannot work together."""
