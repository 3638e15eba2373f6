"""Small helpers for reading requests and answering forms, shared by every app's views."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def query_text(request: HttpRequest, name: str = "q", max_length: int = 200) -> str:
    """A free-text query-string value, safe to put in a query: stripped, bounded, and without
    NUL characters (PostgreSQL text cannot hold them)."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:max_length]


def apply_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: field errors where they belong."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- The client's address (TKT-05) -----------------------------------------------------------
@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _address(value: str | None) -> IPAddress | None:
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket reads "::ffff:192.0.2.1".
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client that sent this request, as history rows record it.

    `X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as
    the chain of proxies we trust (`settings.TRUSTED_PROXIES`, addresses or CIDRs): starting
    from the peer (`REMOTE_ADDR`), while the current hop is a trusted proxy, step one entry
    left in the header. The first untrusted hop is the client. Without trusted proxies, or when
    the peer is not one, the header is ignored and the peer is the client. A malformed hop ends
    the walk at the last proxy that wrote a well-formed one.
    """
    hop = _address(request.META.get("REMOTE_ADDR"))
    if hop is None:
        return None
    trusted = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for entry in reversed(forwarded):
        if not any(hop in network for network in trusted):
            break
        previous = _address(entry)
        if previous is None:
            break
        hop = previous
    return str(hop)


# --- Stored files -----------------------------------------------------------------------------
# Types a browser may show in the tab: images, PDF and plain text. Anything else, which a
# browser could run or render as a page, is a download.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def stored_file_response(
    file: FieldFile,
    *,
    name: str,
    content_type: str,
    inline_types: frozenset[str] = INLINE_TYPES,
    private: bool = True,
) -> FileResponse:
    """A stored file (an attachment, a customer's file) for its reader: shown inline only for
    `inline_types`, never sniffed, sandboxed, and not kept in shared caches (`private`). A file
    missing from the storage is a 404."""
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=content_type not in inline_types,
        filename=name,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    if private:
        response["Cache-Control"] = "private, no-store"
    return response


def url_maker(name: str, kwarg: str, **fixed: Any) -> Callable[[int], str]:
    """`pk -> reverse(name, kwargs={**fixed, kwarg: pk})`, reversing once: a list's 25 rows
    link to their records, and reversing for each costs more than the rest of the row."""
    marker = 987654321
    head, tail = reverse(name, kwargs={**fixed, kwarg: marker}).rsplit(str(marker), 1)
    return lambda pk: f"{head}{pk}{tail}"
