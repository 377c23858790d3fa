"""Downloading image URLs under a policy: :class:`FetchPolicy` and :func:`fetch`.

A URL in a document or a request may be chosen by someone else, so fetching is guarded by default:

* only ``http`` and ``https``; no credentials in the URL;
* connect and read timeouts, and a **total deadline** per fetch (every redirect hop, DNS lookup,
  handshake and byte of the body counts against it, so a server dripping one byte a second fails
  at the deadline);
* a byte cap enforced while streaming, on the decoded bytes (``Content-Encoding: gzip`` bombs stop
  at the cap, without inflating more than the cap);
* the answer must say ``Content-Type: image/*`` or start with the bytes of a known image format;
* at most ``max_redirects`` redirects, each hop checked like the first;
* hosts that resolve to private, loopback, link-local, multicast, reserved or unspecified addresses
  (IPv4 and IPv6, IPv4-mapped and NAT64/6to4 forms included) are refused, unless
  ``allow_private_networks=True`` or the address is in ``allowed_networks``. The check runs on the
  address the socket actually connects to (the name is resolved once, checked, and that address is
  used), so DNS rebinding between the check and the connection cannot slip through, for https too
  (TLS still verifies the certificate against the host name);
* proxy settings from the environment (``HTTP(S)_PROXY``, ``NO_PROXY``) are ignored unless
  ``trust_env=True``.

Every failure raises :class:`~jina_local.errors.FetchError` (or its subclass
:class:`~jina_local.errors.URLNotAllowedError` when the policy refused before connecting) naming the
item index, the URL and what to do. See ``docs/security.md`` for the residual risks.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore

from ._fetch_net import (
    Clock,
    DeadlinePassed,
    GuardedBackend,
    Refused,
    TooLarge,
    blocked_address_reason,
    describe_reason,
    inflate_chunks,
)
from .errors import FetchError, OptionError, URLNotAllowedError
from .kinds import sniff_image_format

__all__ = ["DEFAULT_FETCH_POLICY", "FetchPolicy", "blocked_address_reason", "check_fetch_policy", "fetch"]

_MIB = 1024 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_SNIFF_BYTES = 32
_DEFAULT_MAX_BYTES = 32 * _MIB  # == inputs.MAX_DOWNLOAD_BYTES


@dataclass(frozen=True)
class FetchPolicy:
    """How URL items are downloaded. The defaults are safe for URLs chosen by strangers.

    ``allowed_networks`` lists CIDR blocks (``"10.1.2.0/24"``, ``"fd00::/8"``) that may be reached
    although private: narrower than ``allow_private_networks=True``, which allows every address.

    >>> FetchPolicy().deadline, FetchPolicy().max_redirects, FetchPolicy().allow_private_networks
    (60.0, 5, False)
    >>> FetchPolicy(max_bytes=0)
    Traceback (most recent call last):
    ...
    jina_local.errors.OptionError: FetchPolicy(max_bytes=0) is not valid: use a positive number of bytes.
    """

    allow_urls: bool = True
    """``False`` switches URL fetching off: every URL item raises ``URLNotAllowedError``."""
    allow_private_networks: bool = False
    """``True`` also allows private, loopback and link-local addresses (a trusted intranet)."""
    allowed_networks: tuple[str, ...] = ()
    """CIDR blocks allowed in addition to public addresses."""
    max_bytes: int = _DEFAULT_MAX_BYTES
    """Largest body accepted, counted after ``Content-Encoding`` is undone."""
    connect_timeout: float = 10.0
    """Seconds to resolve the name and open the connection (TLS handshake included)."""
    read_timeout: float = 30.0
    """Seconds the server may stay silent while we wait for bytes."""
    deadline: float = 60.0
    """Seconds for the whole fetch: every hop, every byte."""
    max_redirects: int = 5
    """Redirects followed before giving up (``0``: none)."""
    trust_env: bool = False
    """Honour ``HTTP(S)_PROXY`` / ``NO_PROXY`` and ``SSL_CERT_FILE`` from the environment."""
    user_agent: str = "jina-local"
    _networks: tuple[Any, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def bad(name: str, fix: str) -> OptionError:
            return OptionError(f"FetchPolicy({name}={getattr(self, name)!r}) is not valid: {fix}.")

        for name in ("allow_urls", "allow_private_networks", "trust_env"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "use True or False")
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or self.max_bytes < 1:
            raise bad("max_bytes", "use a positive number of bytes")
        for name in ("connect_timeout", "read_timeout", "deadline"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise bad(name, "use a positive number of seconds")
            object.__setattr__(self, name, float(value))
        if isinstance(self.max_redirects, bool) or not isinstance(self.max_redirects, int) or self.max_redirects < 0:
            raise bad("max_redirects", "use 0 or a positive integer")
        if not isinstance(self.user_agent, str) or not self.user_agent.isprintable() or not self.user_agent.isascii():
            raise bad("user_agent", "use printable ASCII text without line breaks")
        if isinstance(self.allowed_networks, str):
            object.__setattr__(self, "allowed_networks", (self.allowed_networks,))
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        except (TypeError, ValueError) as exc:
            raise bad("allowed_networks", f"use CIDR blocks such as '10.1.2.0/24' ({exc})") from None
        object.__setattr__(self, "allowed_networks", tuple(str(n) for n in networks))
        object.__setattr__(self, "_networks", networks)

    def address_allowed(self, address: str) -> str | None:
        """``None`` when ``address`` may be connected to, else why not (``"loopback"``, ``"private"``...)."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.allow_private_networks or any(ip in net for net in self._networks):
            return None
        return blocked_address_reason(ip)


DEFAULT_FETCH_POLICY = FetchPolicy()
"""The policy used when ``fetch=None``."""


# ----------------------------------------------------------------------------------------------
# fetch()
# ----------------------------------------------------------------------------------------------


def _shown(url: str) -> str:
    parts = urllib.parse.urlsplit(url) if "@" in url else None
    if parts is not None and parts.hostname is not None:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        url = urllib.parse.urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))
    return url if len(url) <= 200 else url[:197] + "..."


def _target(url: str, policy: FetchPolicy, fail: Any) -> tuple[httpcore.URL, str]:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise fail(f"is not a valid URL ({exc})", URLNotAllowedError) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise fail(f"uses the scheme {scheme or '(none)'!r}; only http and https URLs are fetched", URLNotAllowedError)
    if parts.username is not None or parts.password is not None:
        raise fail("carries credentials (user:password@); download it yourself and pass the bytes", URLNotAllowedError)
    host = parts.hostname
    if not host:
        raise fail("has no host name", URLNotAllowedError)
    try:
        host_bytes = host.encode("idna") if not host.isascii() else host.encode("ascii")
    except UnicodeError as exc:
        raise fail(f"has a host name that cannot be encoded ({exc})", URLNotAllowedError) from None
    path = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    target = (path + (f"?{query}" if query else "")).encode("ascii")
    default = 443 if scheme == "https" else 80
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port in (None, default) else f"{shown_host}:{port}"
    explicit = None if port in (None, default) else port
    return httpcore.URL(scheme=scheme.encode(), host=host_bytes, port=explicit, target=target), host_header


def _proxy_for(url: httpcore.URL, trust_env: bool) -> str | None:
    if not trust_env:
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme.decode()) or proxies.get("all")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # CPython has it (undocumented); typeshed omits it
    if not proxy or bypass(url.host.decode(), proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def check_fetch_policy(policy: Any) -> FetchPolicy | None:
    """Validate a ``fetch=`` option up front: a :class:`FetchPolicy`, or ``None`` for the default."""
    if policy is not None and not isinstance(policy, FetchPolicy):
        raise OptionError(f"fetch={policy!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None.")
    return policy


def fetch(url: str, policy: FetchPolicy | None = None, *, index: int = 0) -> bytes:
    """Download the image at ``url`` under ``policy`` (``None``: :data:`DEFAULT_FETCH_POLICY`).

    Returns the body's bytes (content-encoding undone). Raises
    :class:`~jina_local.errors.URLNotAllowedError` when the policy refuses the URL or a redirect
    target before connecting, and :class:`~jina_local.errors.FetchError` for every other failure;
    both name the item ``index`` and the URL.
    """
    policy = DEFAULT_FETCH_POLICY if policy is None else policy
    if not isinstance(policy, FetchPolicy):
        raise OptionError(f"fetch={policy!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None.")
    clock = Clock(policy.deadline)
    original = current = str(url).strip()

    def fail(reason: str, kind: type[FetchError] = FetchError, fix: str = "") -> FetchError:
        hint = f" {fix}" if fix else ""
        via = f", reached by a redirect from {_shown(original)}" if current != original else ""
        return kind(f"item {index} ({_shown(current)}{via}) {reason}.{hint}", index=index, url=_shown(current))

    if not policy.allow_urls:
        raise fail(
            "is a URL, and URL fetching is switched off (FetchPolicy(allow_urls=False))",
            URLNotAllowedError,
            "Pass fetch=FetchPolicy(allow_urls=True) to enable it, or download the image yourself and pass its bytes.",
        )
    for _hop in range(policy.max_redirects + 1):
        target, host_header = _target(current, policy, fail)
        try:
            status, location, data = _one_hop(target, host_header, policy, clock, fail)
        except Refused as exc:
            raise fail(
                f"was refused: {exc}",
                URLNotAllowedError,
                "Private and local addresses are refused by default; pass "
                "fetch=FetchPolicy(allow_private_networks=True) or allowed_networks=(...) "
                "if you trust this network.",
            ) from None
        except DeadlinePassed:
            raise fail(
                f"did not finish within the deadline of {policy.deadline:g} s",
                fix="Raise FetchPolicy(deadline=...) for slow servers.",
            ) from None
        except httpcore.TimeoutException as exc:
            if clock.passed:
                raise fail(
                    f"did not finish within the deadline of {policy.deadline:g} s",
                    fix="Raise FetchPolicy(deadline=...) for slow servers.",
                ) from None
            which = "connect" if isinstance(exc, httpcore.ConnectTimeout) else "read"
            limit = policy.connect_timeout if which == "connect" else policy.read_timeout
            raise fail(
                f"timed out ({which} timeout of {limit:g} s: {exc or 'no answer'})",
                fix=f"Raise FetchPolicy({which}_timeout=...) for slow servers.",
            ) from None
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.ProxyError,
            httpcore.UnsupportedProtocol,
            OSError,
        ) as exc:
            raise fail(
                f"could not be downloaded: {type(exc).__name__}: {exc}",
                fix="Check the URL and the network, or download the image yourself.",
            ) from None
        if data is not None:
            return data
        if location is None:
            raise fail(f"answered HTTP {status} without a Location header")
        current = urllib.parse.urljoin(current, location.strip())
    raise fail(
        f"redirected more than {policy.max_redirects} times",
        fix="Raise FetchPolicy(max_redirects=...) if the chain is legitimate.",
    )


def _ssl_context(trust_env: bool) -> Any:
    """httpx's verified context: certifi's CAs, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` with ``trust_env``."""
    env = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else (None, None)
    return _cached_ssl_context(trust_env, *env)


@functools.lru_cache(maxsize=8)
def _cached_ssl_context(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> Any:
    import httpx  # built once per setting: loading a CA bundle costs tens of milliseconds

    return httpx.create_ssl_context(trust_env=trust_env)


def _one_hop(
    target: httpcore.URL, host_header: str, policy: FetchPolicy, clock: Clock, fail: Any
) -> tuple[int, str | None, bytes | None]:
    """One request: ``(status, location, None)`` for a redirect, ``(200, None, body)`` for an image."""
    proxy_url = _proxy_for(target, policy.trust_env)
    proxy: httpcore.Proxy | None = None
    proxy_addr: tuple[str, int] | None = None
    if proxy_url is not None:
        parts = urllib.parse.urlsplit(proxy_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(
                f"would go through the proxy {_shown(proxy_url)!r}, which is not an http(s) proxy",
                fix="Unset it, or pass FetchPolicy(trust_env=False).",
            )
        proxy_addr = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        proxy = httpcore.Proxy(proxy_url)
        host = target.host.decode()
        try:  # the proxy resolves names itself: only literal addresses can be checked here
            reason = policy.address_allowed(host)
        except ValueError:
            reason = None if host != "localhost" else "loopback"
        if reason is not None:
            raise Refused(f"{host} is {describe_reason(reason)}")
    backend = GuardedBackend(policy.address_allowed, clock, proxy_addr)
    headers = [
        (b"Host", host_header.encode("ascii")),
        (b"User-Agent", policy.user_agent.encode()),
        (b"Accept", b"image/*"),
        (b"Accept-Encoding", b"identity, gzip, deflate"),
    ]
    timeouts = {
        "connect": policy.connect_timeout,
        "read": policy.read_timeout,
        "write": policy.read_timeout,
        "pool": policy.connect_timeout,
    }
    needs_tls = target.scheme == b"https" or (proxy_url or "").startswith("https:")
    pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(policy.trust_env) if needs_tls else None,
        proxy=proxy,
        network_backend=backend,
        retries=0,
    )
    with pool, pool.stream("GET", target, headers=headers, extensions={"timeout": timeouts}) as response:
        head = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
        if response.status in _REDIRECTS:
            return response.status, head.get("location"), None
        if response.status not in (200, 203):
            raise fail(f"answered HTTP {response.status}", fix="Check the URL, or download the image yourself.")
        return response.status, None, _read_body(response, head, policy, fail)


def _read_body(response: httpcore.Response, head: dict[str, str], policy: FetchPolicy, fail: Any) -> bytes:
    cap = policy.max_bytes
    too_large = fail(
        f"is larger than the cap of {cap:,} bytes",
        fix="Raise FetchPolicy(max_bytes=...), or download it yourself and pass the bytes.",
    )
    declared = head.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise fail(
            f"says it is {int(declared):,} bytes, more than the cap of {cap:,} bytes",
            fix="Raise FetchPolicy(max_bytes=...), or download it yourself and pass the bytes.",
        )
    encodings = [e.strip().lower() for e in head.get("content-encoding", "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    unknown = [e for e in encodings if e not in ("gzip", "x-gzip", "deflate")]
    if unknown:
        raise fail(f"is sent with Content-Encoding {', '.join(unknown)}, which is not supported")
    media_type = head.get("content-type", "").split(";", 1)[0].strip().lower()
    raw_total = 0

    def raw() -> Iterator[bytes]:
        nonlocal raw_total
        for chunk in response.iter_stream():
            raw_total += len(chunk)
            if raw_total > cap:
                raise TooLarge
            yield chunk

    parts: list[bytes] = []
    size = 0
    checked = media_type.startswith("image/")
    try:
        for piece in inflate_chunks(raw(), encodings, cap):
            parts.append(piece)
            size += len(piece)
            if size > cap:
                raise TooLarge
            if not checked and size >= _SNIFF_BYTES:
                _check_image(b"".join(parts)[:_SNIFF_BYTES], media_type, fail)
                checked = True
    except TooLarge:
        raise too_large from None
    except zlib.error as exc:
        raise fail(f"has a body that is not valid {'/'.join(encodings)} ({exc})") from None
    data = b"".join(parts)
    if not checked:
        _check_image(data, media_type, fail)
    return data


def _check_image(head: bytes, media_type: str, fail: Any) -> None:
    if sniff_image_format(head) is None:
        raise fail(
            f"is not an image (Content-Type {media_type or 'missing'}, and the bytes are no known image format)",
            fix="Pass the URL of the image file itself.",
        )
