"""URL fetching against hostile servers that the tests start on 127.0.0.1 (and nowhere else).

The servers opt in through ``allowed_networks=("127.0.0.1/32",)`` (or ``allow_private_networks``),
so a redirect to another private address is still refused; a spy on ``socket.create_connection``
checks that no connection to any address other than 127.0.0.1 is ever attempted.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from PIL import Image

from jina_local import (
    FetchError,
    FetchPolicy,
    InputError,
    OptionError,
    URLNotAllowedError,
)
from jina_local.fetch import blocked_address_reason, fetch
from jina_local.inputs import ImageInput, image_reference, load_item

_buf = io.BytesIO()
Image.new("RGB", (8, 6), (200, 30, 40)).save(_buf, "PNG")
PNG = _buf.getvalue()
BOMB_MIB = 64
_gz = zlib.compressobj(9, zlib.DEFLATED, 31)
GZIP_BOMB = _gz.compress(PNG[:16]) + b"".join(_gz.compress(bytes(1 << 20)) for _ in range(BOMB_MIB)) + _gz.flush()
_gz = zlib.compressobj(6, zlib.DEFLATED, 31)
GZIP_PNG = _gz.compress(PNG) + _gz.flush()
LOCAL = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=2.0, connect_timeout=1.0, read_timeout=1.5)


class Hostile(BaseHTTPRequestHandler):
    """One behaviour per path; counts every request it sees."""

    seen: ClassVar[Counter] = Counter()

    def log_message(self, *args):  # keep test output clean
        pass

    def _head(self, status=200, ctype="image/png", length=None, extra=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()

    def _drip(self, pause, count):
        try:
            for _ in range(count):
                self.wfile.write(b"\x89")
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass

    def do_GET(self):
        path = self.path
        Hostile.seen[path.split("?")[0]] += 1
        if (
            path.startswith("http://") or path == "/png" or path == "/cat.png"
        ):  # absolute form: we are being used as a proxy
            self._head(length=len(PNG))
            self.wfile.write(PNG)
        elif path == "/octet":
            self._head(ctype="application/octet-stream", length=len(PNG))
            self.wfile.write(PNG)
        elif path == "/no-type":
            self._head(ctype=None, length=len(PNG))
            self.wfile.write(PNG)
        elif path == "/html":
            body = b"<html><body>" + b"x" * 5000 + b"</body></html>"
            self._head(ctype="text/html", length=len(body))
            self.wfile.write(body)
        elif path == "/drip":  # one byte every 50 ms, for up to 10 s
            self._head()
            self._drip(0.05, 200)
        elif path == "/slow-bytes":  # one byte every 3 s: each read stays under read_timeout
            self._head()
            self._drip(3.0, 5)
        elif path == "/slow-headers":
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            try:
                for _ in range(100):
                    self.wfile.write(b"X-Pad: 1\r\n")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif path == "/huge":  # no length, 200 MB close-delimited
            self._head()
            try:
                self.wfile.write(PNG[:16])
                for _ in range(200 * 16):
                    self.wfile.write(bytes(64 * 1024))
            except OSError:
                pass
        elif path == "/declared-huge":
            self._head(length=200_000_000)
            try:
                self.wfile.write(PNG)
            except OSError:
                pass
        elif path in ("/lying-short", "/lying-short.png"):  # says 20 bytes, sends the whole image and more
            self._head(length=20)
            self.wfile.write(PNG + bytes(100_000))
        elif path == "/lying-long":  # says 10,000 bytes, sends less and closes
            self._head(length=10_000)
            self.wfile.write(PNG)
        elif path == "/gzip-bomb":
            self._head(length=len(GZIP_BOMB), extra=[("Content-Encoding", "gzip")])
            try:
                self.wfile.write(GZIP_BOMB)
            except OSError:
                pass
        elif path == "/gzip-png":
            self._head(length=len(GZIP_PNG), extra=[("Content-Encoding", "gzip")])
            self.wfile.write(GZIP_PNG)
        elif path == "/deflate-png":
            body = zlib.compress(PNG)
            self._head(length=len(body), extra=[("Content-Encoding", "deflate")])
            self.wfile.write(body)
        elif path == "/brotli":
            self._head(length=4, extra=[("Content-Encoding", "br")])
            self.wfile.write(b"\x00" * 4)
        elif path == "/loop":
            self._head(302, None, 0, [("Location", "/loop")])
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            self._head(302, None, 0, [("Location", f"/chain/{left - 1}" if left > 1 else "/png")])
        elif path == "/to-metadata":
            self._head(302, None, 0, [("Location", "http://169.254.169.254/latest/meta-data/")])
        elif path == "/to-ten":
            self._head(301, None, 0, [("Location", "http://10.0.0.1/cat.png")])
        elif path == "/to-mapped":
            self._head(307, None, 0, [("Location", "http://[::ffff:10.0.0.1]/cat.png")])
        elif path == "/to-file":
            self._head(302, None, 0, [("Location", "file:///etc/passwd")])
        elif path == "/no-location":
            self._head(302, None, 0)
        elif path == "/error":
            self._head(500, "text/plain", 4)
            self.wfile.write(b"oops")
        else:
            self._head(404, "text/plain", 0)


def _serve():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def base():
    server, thread = _serve()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def only_loopback_connections(monkeypatch):
    """Fail any attempt to connect anywhere but 127.0.0.1, and record the attempts."""
    attempts: list[str] = []
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        attempts.append(address[0])
        if address[0] != "127.0.0.1":
            raise AssertionError(f"the test tried to connect to {address!r}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def _timed(call):
    start = time.monotonic()
    try:
        call()
    except FetchError as exc:
        return exc, time.monotonic() - start
    raise AssertionError("expected a FetchError")


# -- the policy refuses before connecting -------------------------------------------------------


def test_default_policy_refuses_loopback_without_connecting(base, only_loopback_connections):
    before = Hostile.seen["/png"]
    with pytest.raises(URLNotAllowedError, match=r"item 4 \(http://127\.0\.0\.1:\d+/png\).*loopback"):
        fetch(f"{base}/png", index=4)
    assert only_loopback_connections == [] and Hostile.seen["/png"] == before


def test_opting_in_fetches(base):
    assert fetch(f"{base}/png", LOCAL) == PNG
    assert fetch(f"{base}/png", FetchPolicy(allow_private_networks=True)) == PNG


def test_urls_switched_off_says_how_to_enable(base, only_loopback_connections):
    with pytest.raises(URLNotAllowedError, match=r"allow_urls=True"):
        fetch(f"{base}/png", FetchPolicy(allow_urls=False, allow_private_networks=True))
    assert only_loopback_connections == []


@pytest.mark.parametrize(
    "url, match",
    [
        ("ftp://example.com/cat.png", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://127.0.0.1:70/", "scheme 'gopher'"),
        ("http://user:secret@127.0.0.1/png", "credentials"),
        ("http://127.0.0.1:99999/png", "not a valid URL"),
        ("http:///nohost.png", "no host"),
        ("http://[::1]:8080/cat.png", "loopback"),
        ("http://0.0.0.0/cat.png", "unspecified"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://224.0.0.1/x.png", "multicast"),
        ("http://100.64.0.1/x.png", "not globally routable"),
    ],
)
def test_refused_urls(url, match, only_loopback_connections):
    with pytest.raises(URLNotAllowedError, match=match) as info:
        fetch(url, index=2)
    assert info.value.index == 2 and "secret" not in str(info.value)
    assert only_loopback_connections == []


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),
        ("2002:a00:1::", "private"),
        ("2001:db8::1", "private"),
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_address_classification(address, reason):
    assert blocked_address_reason(address) == reason


def test_resolved_names_are_checked(monkeypatch, only_loopback_connections):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "images.evil.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(URLNotAllowedError, match=r"images\.evil\.test -> 127\.0\.0\.1 is a loopback"):
        fetch("http://images.evil.test/cat.png")
    assert only_loopback_connections == []


def test_the_checked_address_is_the_one_connected(base, monkeypatch, only_loopback_connections):
    """DNS rebinding: a second lookup would say 10.0.0.1; the name is resolved once per connection."""
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, *args, **kwargs):
        if host == "rebind.test":
            calls.append(host)
            return real("127.0.0.1" if len(calls) == 1 else "10.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = base.rsplit(":", 1)[1]
    assert fetch(f"http://rebind.test:{port}/png", LOCAL) == PNG
    assert calls == ["rebind.test"] and only_loopback_connections == ["127.0.0.1"]


# -- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, reason, target",
    [
        ("/to-metadata", "link-local", "http://169.254.169.254/latest/meta-data/"),
        ("/to-ten", "private", "http://10.0.0.1/cat.png"),
        ("/to-mapped", "private", "http://[::ffff:10.0.0.1]/cat.png"),
    ],
)
def test_redirect_to_a_private_address_is_refused_before_connecting(
    base, path, reason, target, only_loopback_connections
):
    with pytest.raises(URLNotAllowedError, match=reason) as info:
        fetch(f"{base}{path}", LOCAL, index=7)
    assert info.value.url == target and "reached by a redirect from" in str(info.value)
    assert set(only_loopback_connections) == {"127.0.0.1"}


def test_redirect_to_another_scheme_is_refused(base):
    with pytest.raises(URLNotAllowedError, match="scheme 'file'"):
        fetch(f"{base}/to-file", LOCAL)


def test_redirect_loop_stops_at_the_limit(base):
    exc, elapsed = _timed(lambda: fetch(f"{base}/loop", LOCAL))
    assert "redirected more than 5 times" in str(exc) and "max_redirects" in str(exc) and elapsed < 2


def test_redirect_limit_is_exact(base):
    assert fetch(f"{base}/chain/5", LOCAL) == PNG
    with pytest.raises(FetchError, match="more than 5"):
        fetch(f"{base}/chain/6", LOCAL)
    with pytest.raises(FetchError, match="more than 0"):
        fetch(f"{base}/chain/1", FetchPolicy(allowed_networks=("127.0.0.1/32",), max_redirects=0))


def test_redirect_without_location(base):
    with pytest.raises(FetchError, match="without a Location"):
        fetch(f"{base}/no-location", LOCAL)


# -- time ---------------------------------------------------------------------------------------


def test_drip_fails_at_the_deadline(base):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=1.0)
    exc, elapsed = _timed(lambda: fetch(f"{base}/drip", policy, index=1))
    assert "deadline of 1 s" in str(exc) and "item 1" in str(exc)
    assert 0.9 <= elapsed < 1.8


def test_one_byte_per_long_pause_still_ends_at_the_deadline(base):
    """Each byte arrives before the read timeout (like 1 byte / 29 s against a 30 s timeout)."""
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=1.0, read_timeout=5.0)
    exc, elapsed = _timed(lambda: fetch(f"{base}/slow-bytes", policy))
    assert "deadline" in str(exc) and 0.9 <= elapsed < 1.8


def test_slow_headers_end_at_the_deadline(base):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=1.0)
    exc, elapsed = _timed(lambda: fetch(f"{base}/slow-headers", policy))
    assert "deadline" in str(exc) and elapsed < 1.8


def test_read_timeout_is_named(base):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=5.0, read_timeout=0.3)
    exc, elapsed = _timed(lambda: fetch(f"{base}/slow-bytes", policy))
    assert "read timeout of 0.3 s" in str(exc) and "read_timeout" in str(exc) and elapsed < 1.5


# -- size ---------------------------------------------------------------------------------------


def test_huge_body_stops_at_the_cap(base):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), max_bytes=1 << 20)
    exc, elapsed = _timed(lambda: fetch(f"{base}/huge", policy))
    assert "larger than the cap of 1,048,576 bytes" in str(exc) and elapsed < 2


def test_declared_length_over_the_cap_is_refused_before_reading(base):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), max_bytes=1 << 20)
    with pytest.raises(FetchError, match="says it is 200,000,000 bytes"):
        fetch(f"{base}/declared-huge", policy)


def test_lying_short_length_reads_only_what_was_declared(base):
    assert fetch(f"{base}/lying-short", LOCAL) == PNG[:20]
    with pytest.raises(InputError, match="could not be read as an image"):
        load_item(f"{base}/lying-short.png", images="auto", fetch=LOCAL)


def test_lying_long_length_is_a_download_error(base):
    with pytest.raises(FetchError, match="could not be downloaded"):
        fetch(f"{base}/lying-long", LOCAL)


def test_gzip_bomb_stops_at_the_cap_counting_decoded_bytes(base):
    assert len(GZIP_BOMB) < 1 << 20 < BOMB_MIB << 20  # small on the wire, 64 MiB decoded
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), max_bytes=1 << 20)
    exc, elapsed = _timed(lambda: fetch(f"{base}/gzip-bomb", policy))
    assert "larger than the cap" in str(exc) and elapsed < 2


def test_compressed_bodies_are_decoded(base):
    assert fetch(f"{base}/gzip-png", LOCAL) == PNG
    assert fetch(f"{base}/deflate-png", LOCAL) == PNG
    with pytest.raises(FetchError, match="Content-Encoding br"):
        fetch(f"{base}/brotli", LOCAL)


# -- content ------------------------------------------------------------------------------------


def test_wrong_content_type_is_refused(base):
    with pytest.raises(FetchError, match=r"not an image \(Content-Type text/html"):
        fetch(f"{base}/html", LOCAL)


def test_image_bytes_without_an_image_type_are_accepted(base):
    assert fetch(f"{base}/octet", LOCAL) == PNG
    assert fetch(f"{base}/no-type", LOCAL) == PNG


def test_http_error_status(base):
    with pytest.raises(FetchError, match="answered HTTP 500"):
        fetch(f"{base}/error", LOCAL)
    with pytest.raises(FetchError, match="answered HTTP 404"):
        fetch(f"{base}/missing", LOCAL)


def test_connection_refused_is_a_fetch_error():
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="could not be downloaded"):
        fetch(f"http://127.0.0.1:{port}/png", LOCAL)


# -- proxies ------------------------------------------------------------------------------------


@pytest.fixture()
def proxy(monkeypatch):
    server, thread = _serve()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield url
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_proxy_environment_is_ignored_by_default(base, proxy):
    before = sum(v for k, v in Hostile.seen.items() if k.startswith("http://"))
    assert fetch(f"{base}/png", LOCAL) == PNG
    assert sum(v for k, v in Hostile.seen.items() if k.startswith("http://")) == before


def test_proxy_environment_is_used_when_trusted(proxy):
    policy = FetchPolicy(trust_env=True)
    assert fetch("http://images.example.invalid/cat.png", policy) == PNG
    assert Hostile.seen["http://images.example.invalid/cat.png"] >= 1
    with pytest.raises(URLNotAllowedError, match="link-local"):  # literal addresses are still checked
        fetch("http://169.254.169.254/latest/meta-data/", policy)


# -- the item API -------------------------------------------------------------------------------


def test_load_item_and_image_reference_take_the_policy(base):
    typed = load_item(f"{base}/cat.png", 3, images="auto", fetch=LOCAL)
    assert isinstance(typed, ImageInput) and typed.image.size == (8, 6)
    with pytest.raises(URLNotAllowedError, match="item 3"):
        load_item(f"{base}/cat.png", 3, images="auto")
    assert image_reference(f"{base}/octet", 1, fetch=LOCAL) == PNG
    with pytest.raises(URLNotAllowedError, match="allow_urls"):
        image_reference(f"{base}/png", 1, fetch=FetchPolicy(allow_urls=False))


def test_fetch_errors_are_input_errors_and_pickle():
    exc = URLNotAllowedError("item 2 (http://x) was refused.", index=2, url="http://x")
    again = pickle.loads(pickle.dumps(exc))
    assert isinstance(again, URLNotAllowedError) and isinstance(again, InputError) and isinstance(again, ValueError)
    assert (again.index, again.url, str(again)) == (2, "http://x", str(exc))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": 1.5}, "max_bytes"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": float("inf")}, "deadline"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"read_timeout": "3"}, "read_timeout"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"allowed_networks": ("not-a-network",)}, "CIDR"),
        ({"allow_urls": "yes"}, "allow_urls"),
        ({"trust_env": 1}, "trust_env"),
    ],
)
def test_policy_values_are_validated(kwargs, match):
    with pytest.raises(OptionError, match=match):
        FetchPolicy(**kwargs)


def test_policy_is_frozen_and_normalised():
    policy = FetchPolicy(allowed_networks="10.1.2.3/24", deadline=3)
    assert policy.allowed_networks == ("10.1.2.0/24",) and policy.deadline == 3.0
    assert policy.address_allowed("10.1.2.77") is None and policy.address_allowed("10.1.3.1") == "private"
    with pytest.raises(AttributeError):
        policy.deadline = 10  # type: ignore[misc]
    with pytest.raises(OptionError, match="not a FetchPolicy"):
        fetch("http://example.com/x.png", {"deadline": 1})  # type: ignore[arg-type]


# -- https: the pinned address is connected, the certificate is checked against the name --------


@pytest.fixture(scope="module")
def tls_base(tmp_path_factory):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        if os.environ.get("CI"):  # .ci/run sets CI: the TLS pinning tests must run there
            pytest.fail("CI must have openssl to make a test certificate")
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=img.test",
            "-addext",
            "subjectAltName=DNS:img.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1], str(cert)
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture()
def names_to_loopback(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        return real("127.0.0.1" if host.endswith(".test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tls_base, names_to_loopback, monkeypatch, only_loopback_connections
):
    port, cert = tls_base
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), trust_env=True, deadline=3.0)
    assert fetch(f"https://img.test:{port}/png", policy) == PNG
    assert only_loopback_connections == ["127.0.0.1"]
    with pytest.raises(FetchError, match="could not be downloaded.*(certificate|hostname)"):
        fetch(f"https://other.test:{port}/png", policy)  # same address, a name the certificate lacks


def test_https_with_an_untrusted_certificate_fails(tls_base, names_to_loopback):
    port, _ = tls_base
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        fetch(f"https://img.test:{port}/png", LOCAL)
    with pytest.raises(URLNotAllowedError, match="img.test -> 127.0.0.1 is a loopback"):
        fetch(f"https://img.test:{port}/png")
