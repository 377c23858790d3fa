"""The network layer under :mod:`jina_local.fetch`: address classes, the deadline clock, a resolver
with a timeout, an httpcore backend that connects only to checked addresses, and bounded inflating.

Private to jina-local; the public API is :class:`jina_local.FetchPolicy` and :func:`jina_local.fetch.fetch`.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore

__all__ = [
    "Clock",
    "DeadlinePassed",
    "GuardedBackend",
    "Refused",
    "TooLarge",
    "blocked_address_reason",
    "describe_reason",
    "inflate_chunks",
]


def blocked_address_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> str | None:
    """Why an address is not public (``"loopback"``, ``"private"``, ``"link-local"``...), or ``None``.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
    6to4 ``2002::/16``) are judged by the IPv4 address they carry.

    >>> blocked_address_reason("169.254.169.254"), blocked_address_reason("::ffff:10.0.0.1")
    ('link-local', 'private')
    >>> blocked_address_reason("8.8.8.8") is None, blocked_address_reason("64:ff9b::808:808") is None
    (True, True)
    """
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return blocked_address_reason(embedded)
        if ip.is_site_local:
            return "site-local"
    for reason, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return reason
    return None if ip.is_global else "not globally routable"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def describe_reason(reason: str) -> str:
    """``"loopback"`` -> ``"a loopback address"``, ``"unspecified"`` -> ``"an unspecified address"``."""
    if reason.startswith("not "):
        return reason
    return ("an " if reason[0] in "aeiou" else "a ") + reason + " address"


# ----------------------------------------------------------------------------------------------
# Network: resolve once, check, connect to the checked address; every wait clamped to the deadline
# ----------------------------------------------------------------------------------------------


class Refused(Exception):
    """Raised inside the network layer; :func:`fetch` turns it into ``URLNotAllowedError``."""


class DeadlinePassed(Exception):
    pass


class Clock:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def clamp(self, timeout: float | None) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise DeadlinePassed
        return left if timeout is None else min(timeout, left)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.end - 1e-3


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` in a daemon thread, so a stuck resolver cannot outlive the deadline."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="jina-local-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"resolving {host!r} took longer than {timeout:.1f} s")
    if "error" in box:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {box['error']}")
    return box["infos"]


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, clock: Clock) -> None:
        self._inner, self._clock = inner, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._clock.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._clock.clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._clock.clamp(timeout))
        return _DeadlineStream(inner, self._clock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, and only to the address it checked."""

    def __init__(
        self, address_allowed: Callable[[str], str | None], clock: Clock, proxy: tuple[str, int] | None
    ) -> None:
        self._address_allowed, self._clock, self._proxy = address_allowed, clock, proxy
        self.connected: list[str] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        infos = _resolve(host, port, self._clock.clamp(timeout))
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if (host, port) != self._proxy:  # the configured proxy is trusted; every other address is checked
            for address in addresses:
                reason = self._address_allowed(address)
                if reason is not None:
                    shown = address if address == host else f"{host} -> {address}"
                    raise Refused(f"{shown} is {describe_reason(reason)}")
        error: Exception = httpcore.ConnectError(f"no address for {host!r}")
        for address in addresses:
            try:
                stream = super().connect_tcp(address, port, self._clock.clamp(timeout), local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            self.connected.append(address)
            return _DeadlineStream(stream, self._clock)
        raise error


# ----------------------------------------------------------------------------------------------
# Bodies: bounded content decoding
# ----------------------------------------------------------------------------------------------


class TooLarge(Exception):
    pass


class _Inflater:
    """Undo one gzip / deflate layer without ever producing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._limit = limit
        self._produced = 0
        self._obj: Any = None

    def _new(self, first: bytes) -> Any:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._obj is None:
                self._obj = self._new(data)
            out = self._obj.decompress(data, self._limit - self._produced + 1)
            yield self._take(out)
            data = self._obj.unconsumed_tail
            if self._obj.eof:  # a second gzip member may follow
                data, self._obj = self._obj.unused_data + data, None

    def _take(self, out: bytes) -> bytes:
        self._produced += len(out)
        if self._produced > self._limit:
            raise TooLarge
        return out


def inflate_chunks(chunks: Iterable[bytes], encodings: list[str], limit: int) -> Iterator[bytes]:
    stream: Iterable[bytes] = chunks
    for encoding in reversed(encodings):  # the last encoding applied is undone first
        inflater = _Inflater(encoding, limit)
        stream = (out for chunk in stream for out in inflater.feed(chunk))
    return iter(stream)
