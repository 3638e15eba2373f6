"""Outgoing webhooks: a small HTTP client that only reaches public addresses, and signatures.

Used by blueprint after-actions (BP-11 custom functions) and, later, the API's webhooks. A pure
module of the project package: it imports no app, and callers pass the secret and the policy.

Safety (server-side request forgery):
- Only `http` and `https` URLs without user info; the host is resolved here and *every*
  resolved address is checked: loopback, private, link-local, carrier-grade NAT, multicast,
  reserved and unspecified addresses are refused (also when hidden in an IPv4-mapped, 6to4,
  Teredo or NAT64 IPv6 address), unless `allow_private` is true (the
  `WEBHOOK_ALLOW_PRIVATE_TARGETS` setting; multicast and unspecified stay refused).
- The connection goes to the address that was checked (the socket is opened to that IP; the
  Host header and TLS server name stay the URL's host, so certificates are verified against
  it): no second lookup, so no DNS-rebinding window between check and connect.
- Redirects are not followed; the answer is read up to `MAX_RESPONSE_BYTES`.

Signature: header `X-Madoguchi-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, "<t>." + body). The receiver recomputes it over the raw body and refuses
old timestamps (replays).

Why the standard library and not requests/httpx: pinning the connection to the checked
address while keeping the host name for Host and TLS is a two-line `connect` override on
`http.client`'s connections; the libraries need transport or adapter internals for the same,
and a new dependency for nothing else."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Madoguchi-Signature"
TIMESTAMP_HEADER = "X-Madoguchi-Timestamp"
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
# Headers the client sets itself; a configured header cannot replace them.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        SIGNATURE_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
    }
)
METHODS = ("POST", "PUT", "PATCH")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookError(Exception):
    """A delivery that did not succeed. `retry` says whether trying again may help."""

    retry = True


class UnsafeTarget(WebhookError):
    """The URL is refused (scheme, host, or an address that is not public). Not retried."""

    retry = False


class DeliveryFailed(WebhookError):
    """Connection, timeout, TLS or an error status. Retried for 5xx, 429 and network errors."""

    def __init__(
        self, message: str, *, status: int | None = None, retry: bool = True, body: bytes = b""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.body = body  # the error answer's body (for a delivery log), if there was one


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON when it says so (or looks like an object); None otherwise."""
        kind = self.headers.get("content-type", "")
        if "json" not in kind and not self.body.lstrip().startswith(b"{"):
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


# --- Signatures --------------------------------------------------------------------------------
def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`: `t=<timestamp>,v1=<hex>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_valid(
    secret: str, header: str, body: bytes, *, now: int | None = None, tolerance: int = 300
) -> bool:
    """What a receiver does: the header's HMAC matches and its time is within `tolerance`."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else int(time.time())) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


# --- Targets -----------------------------------------------------------------------------------
def _embedded(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def address_allowed(address: IPAddress, *, allow_private: bool = False) -> bool:
    """Whether a webhook may connect to `address`."""
    for each in (address, *_embedded(address)):
        if each.is_multicast or each.is_unspecified:
            return False
        if not allow_private and (not each.is_global or each.is_reserved):
            return False
    return True


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path-with-query of a URL a webhook may have; UnsafeTarget
    otherwise. No resolution here (forms call it to say what is wrong early)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"Not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("Only http and https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("A URL with a user name or password is not allowed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve_target(url: str, *, allow_private: bool = False) -> Target:
    """The URL's host resolved, every address checked. UnsafeTarget names the first refused
    address (so a name that resolves to a public and a private address is refused)."""
    scheme, host, port, path = check_url(url)
    literal = _literal(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DeliveryFailed(f"Cannot resolve {host}: {exc}") from exc
        found = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
    if not found:
        raise DeliveryFailed(f"{host} has no address.")
    for address in found:
        if not address_allowed(address, allow_private=allow_private):
            if literal is not None:
                raise UnsafeTarget(f"{address} is not a public address.")
            raise UnsafeTarget(f"{host} resolves to {address}, which is not a public address.")
    return Target(scheme, host, port, path, tuple(str(a) for a in found))


# --- Delivery ----------------------------------------------------------------------------------
class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Configured headers, refused when a name is reserved or a name or value could split the
    request (control characters)."""
    clean: dict[str, str] = {}
    for name, value in headers.items():
        name, value = str(name).strip(), str(value)
        if not name or any(c in name for c in " :\r\n\t\x00") or not name.isascii():
            raise UnsafeTarget(f"Header name {name!r} is not allowed.")
        if any(c in value for c in "\r\n\x00"):
            raise UnsafeTarget(f"The value of header {name} has a line break.")
        if name.lower() in RESERVED_HEADERS:
            raise UnsafeTarget(f"Header {name} is set by Madoguchi.")
        clean[name] = value
    return clean


def deliver(
    url: str,
    *,
    body: bytes,
    secret: str,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    now: int | None = None,
) -> Response:
    """Send `body` (JSON) to `url`, signed with `secret`. Returns the response for a 2xx;
    raises UnsafeTarget (never connected), or DeliveryFailed (with `retry`) otherwise."""
    if method not in METHODS:
        raise UnsafeTarget(f"Method {method} is not allowed.")
    extra = check_headers(headers or {})
    target = resolve_target(url, allow_private=allow_private)
    timestamp = int(time.time()) if now is None else now
    request_headers = {
        **extra,
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Madoguchi-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in target.addresses:
        connection = connection_class(target.host, target.port, address, timeout)
        try:
            connection.request(method, target.path, body=body, headers=request_headers)
            raw = connection.getresponse()
            data = raw.read(MAX_RESPONSE_BYTES + 1)
            status = raw.status
            response_headers = {k.lower(): v for k, v in raw.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
            continue
        finally:
            connection.close()
        if len(data) > MAX_RESPONSE_BYTES:
            data = b""  # too large to be an answer we read; the status still counts
        if 200 <= status < 300:
            return Response(status=status, headers=response_headers, body=data)
        raise DeliveryFailed(
            f"{target.host} answered HTTP {status}.",
            status=status,
            retry=status >= 500 or status in (408, 429),
            body=data,
        )
    raise DeliveryFailed(f"Could not reach {target.host}: {last_error}")
