"""One error shape for every failure of the API: RFC 9457 problem details.

`{"type", "title", "status", "detail"}` as `application/problem+json`, with `errors`
(`{field: [messages]}`, the messages a form would show) when the input was refused. Every
refusal is mapped here: Django's Http404, PermissionDenied and ValidationError raised by the
services, ninja's parse and validation errors, authentication, rate limits, and whatever
Django or ninja answered on their own for an API path (a 404 of an unknown portal, a 405)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

PROBLEM_TYPE = "application/problem+json"
# Problem types name the kind of failure; they are not meant to be fetched (RFC 9457 3.1.1
# allows such URIs), so they point at no host of ours or anyone's.
TYPE_BASE = "urn:madoguchi:problem:"

TITLES = {
    400: lambda: _("Bad request"),
    401: lambda: _("Authentication required"),
    403: lambda: _("Forbidden"),
    404: lambda: _("Not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("Conflict"),
    413: lambda: _("Request too large"),
    415: lambda: _("Unsupported media type"),
    422: lambda: _("Invalid input"),
    429: lambda: _("Too many requests"),
}
SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
}


def problem_body(
    status: int, detail: str = "", errors: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    title = TITLES.get(status)
    body: dict[str, Any] = {
        "type": TYPE_BASE + SLUGS.get(status, str(status)),
        "title": str(title()) if title else HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or (str(title()) if title else HTTPStatus(status).phrase),
    }
    if errors:
        body["errors"] = {k: [str(m) for m in v] for k, v in errors.items()}
    return body


def problem(
    status: int,
    detail: str = "",
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(problem_body(status, detail, errors), ensure_ascii=False),
        status=status,
        content_type=PROBLEM_TYPE,
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def field_errors(errors: Any) -> dict[str, list[str]]:
    """Django's ValidationError contents as `{field: [messages]}`; messages not tied to a
    field are under `__all__` (Django's name for them, as a form shows them)."""
    if hasattr(errors, "message_dict"):
        try:
            return {
                ("__all__" if k == "__all__" else k): list(v)
                for k, v in errors.message_dict.items()
            }
        except AttributeError:
            pass
    return {"__all__": [str(m) for m in getattr(errors, "messages", [str(errors)])]}


def pydantic_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """ninja's validation errors (`loc`: source, then the path in it) by field name: a body
    field `subject` is `subject`, a nested one `custom_fields.size`, a query one `q`."""
    out: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        # ("body", "payload", "subject"): the source and ninja's parameter name go.
        if loc and loc[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
            loc = loc[1:]
            if len(loc) > 1 and loc[0] in ("payload", "data", "filters", "files"):
                loc = loc[1:]
        key = ".".join(loc) or "__all__"
        out.setdefault(key, []).append(str(error.get("msg", _("Invalid value."))))
    return out
