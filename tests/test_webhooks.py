"""The outgoing webhook client (BP-11 custom functions; the API's webhooks later): signed
bodies, refusal of every non-public target before any connection (SSRF), delivery to a local
server only when the setting allows private targets, the connection pinned to the checked
address, errors that say whether a retry may help.

Every refused target is checked with connections forbidden: a test never sends a packet to
anything but this machine's loopback."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpdesk import webhooks

SECRET = "s3cret"


@pytest.fixture
def no_connections(monkeypatch):
    """Fail the test if the client tries to connect anywhere."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"connection attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.received.append((self.command, self.path, dict(self.headers), body))
        status, payload = self.server.answers.pop(0) if self.server.answers else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_PUT = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.received, httpd.answers = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server, path="/hook") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


# --- Signatures --------------------------------------------------------------------------------
def test_bp11_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"a":1}'
    header = webhooks.signature(SECRET, 1700000000, body)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.signature_valid(SECRET, header, body, now=1700000100)
    assert not webhooks.signature_valid(SECRET, header, body + b" ", now=1700000100)
    assert not webhooks.signature_valid("other", header, body, now=1700000100)
    assert not webhooks.signature_valid(SECRET, header, body, now=1700001000)  # replayed late
    assert not webhooks.signature_valid(SECRET, "garbage", body)


# --- SSRF: refused before any connection --------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    ],
)
def test_bp11_private_loopback_link_local_and_multicast_targets_are_refused(url, no_connections):
    with pytest.raises(webhooks.UnsafeTarget) as caught:
        webhooks.deliver(url, body=b"{}", secret=SECRET)
    assert caught.value.retry is False


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/", "http:///x", "x"],
)
def test_bp11_only_plain_http_urls_without_credentials(url, no_connections):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.deliver(url, body=b"{}", secret=SECRET)


def test_bp11_a_hostname_resolving_to_a_private_address_is_refused(monkeypatch, no_connections):
    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.example.com"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(webhooks.UnsafeTarget) as caught:
        webhooks.deliver("https://hooks.example.com/x", body=b"{}", secret=SECRET)
    assert "10.0.0.7" in str(caught.value)


def test_bp11_multicast_stays_refused_even_when_private_targets_are_allowed(no_connections):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.deliver("http://224.0.0.1/", body=b"{}", secret=SECRET, allow_private=True)


def test_bp11_reserved_headers_and_header_injection_are_refused(no_connections):
    for headers in (
        {"Host": "x"},
        {"X-Madoguchi-Signature": "x"},
        {"X-A": "1\r\nX-B: 2"},
        {"A B": "1"},
    ):
        with pytest.raises(webhooks.UnsafeTarget):
            webhooks.deliver("http://93.184.216.34/", body=b"{}", secret=SECRET, headers=headers)


# --- Delivery to a local server (allowed by the setting) ----------------------------------------
def test_bp11_loopback_delivery_when_allowed_is_signed(server):
    body = json.dumps({"ticket": 1}).encode()
    server.answers.append((200, b'{"fields": {"priority": "high"}}'))
    response = webhooks.deliver(
        _url(server),
        body=body,
        secret=SECRET,
        headers={"X-Token": "abc"},
        allow_private=True,
        now=1700000000,
    )
    assert response.status == 200 and response.json() == {"fields": {"priority": "high"}}
    method, path, headers, received = server.received[0]
    assert (method, path, received) == ("POST", "/hook", body)
    assert headers["X-Token"] == "abc"
    assert headers["X-Madoguchi-Timestamp"] == "1700000000"
    assert headers["X-Madoguchi-Signature"] == webhooks.signature(SECRET, 1700000000, body)
    assert headers["Content-Type"].startswith("application/json")


def test_bp11_loopback_refused_by_default_even_with_a_server_listening(server):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.deliver(_url(server), body=b"{}", secret=SECRET)
    assert server.received == []


def test_bp11_the_connection_goes_to_the_checked_address(server, monkeypatch):
    """DNS rebinding: the name is resolved once; the socket is opened to that address (a
    second lookup, which a rebinding server would answer differently, never happens)."""
    port = server.server_address[1]
    lookups = []

    def resolve(host, p, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    response = webhooks.deliver(
        f"http://hooks.test:{port}/x", body=b"{}", secret=SECRET, allow_private=True
    )
    # The only name looked up is the URL's (the socket's own lookup is of the numeric address).
    assert response.status == 200 and lookups == ["hooks.test", "127.0.0.1"]
    assert server.received[0][2]["Host"] == f"hooks.test:{port}"


def test_bp11_server_errors_are_retryable_client_errors_are_not(server):
    server.answers.extend([(503, b"busy"), (400, b"bad")])
    with pytest.raises(webhooks.DeliveryFailed) as busy:
        webhooks.deliver(_url(server), body=b"{}", secret=SECRET, allow_private=True)
    assert busy.value.retry and busy.value.status == 503
    with pytest.raises(webhooks.DeliveryFailed) as bad:
        webhooks.deliver(_url(server), body=b"{}", secret=SECRET, allow_private=True)
    assert not bad.value.retry and bad.value.status == 400


def test_bp11_timeout_is_a_retryable_failure():
    """A server that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(webhooks.DeliveryFailed) as caught:
            webhooks.deliver(url, body=b"{}", secret=SECRET, allow_private=True, timeout=0.3)
        assert caught.value.retry
    finally:
        listener.close()


def test_bp11_nothing_listening_is_a_retryable_failure():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(webhooks.DeliveryFailed) as caught:
        webhooks.deliver(f"http://127.0.0.1:{port}/", body=b"{}", secret=SECRET, allow_private=True)
    assert caught.value.retry
