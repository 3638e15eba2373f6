"""Small helpers for reading requests."""

from __future__ import annotations

from django.http import HttpRequest


def query_text(request: HttpRequest, name: str = "q", max_length: int = 200) -> str:
    """A free-text query-string value, safe to put in a query: stripped, bounded, and without
    NUL characters (PostgreSQL text cannot hold them)."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:max_length]
