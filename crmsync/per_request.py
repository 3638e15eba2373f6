"""What several parts of one CRM page read, read once per request: the CRM's settings, its
integration and the reader's working desk (`DeskView`). A record page asks for them in its
view, its tickets panel, its "New ticket" button and the sidebar (the Desk tab): read each
time, that was nine queries of a page's twenty-two.

Only for reading requests (GET, HEAD): a request that changes the integration or the
settings reads them afresh every time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest

from .desk_tickets import DeskView, desk_view
from .models import CrmSettings, Integration
from .selectors import crm_settings, integration_of

T = TypeVar("T")
_UNSET = object()


def _memo(request: HttpRequest, key: str, make: Callable[[], T]) -> T:
    if request.method not in ("GET", "HEAD"):
        return make()
    memo: dict[str, Any] = request.__dict__.setdefault("_crm_per_request", {})
    value = memo.get(key, _UNSET)
    if value is _UNSET:
        value = memo[key] = make()
    return value


def settings_of(request: HttpRequest) -> CrmSettings:
    return _memo(request, "settings", lambda: crm_settings(request.org))  # type: ignore[attr-defined]


def integration(request: HttpRequest) -> Integration | None:
    return _memo(request, "integration", lambda: integration_of(request.org))  # type: ignore[attr-defined]


def desk(request: HttpRequest) -> DeskView | None:
    """The reader's working desk (`desk_tickets.desk_view`), or None."""
    return _memo(
        request,
        "desk",
        lambda: desk_view(request.membership, integration(request)),  # type: ignore[attr-defined]
    )
