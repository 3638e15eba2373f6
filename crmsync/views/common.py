"""What every CRM page shares: the app gate, the sidebar's context, list pages.

A list page reads one capped count and one page of rows as values (no model instances):
counting stops at COUNT_CAP, as the desk's ticket list does, so a list of 100,000 contacts
costs what a list of 2,000 does; past the cap the page says "1,000+" and pages on without a
total."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from .. import per_request
from ..services.access import can
from ..signals import unread_count

PER_PAGE = 25
COUNT_CAP = 1_000
MAX_PAGE = 10_000


def crm_render(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a CRM page with the sidebar's context (the admin's Setup entry, the Desk tab)."""
    actor = request.membership
    base = {
        "crm_admin": can(actor, "configure"),
        "desk_tab_url": _desk_tab_url(request),
        # Sales signals (CRM-14): the navigation's unread badge (partial index crm_signal_unread).
        "signals_unread": unread_count(actor.org, actor.user_id),
    }
    return render(request, template, {**base, **(context or {})}, status=status)


def _desk_tab_url(request: HttpRequest) -> str | None:
    """Where the CRM's Desk tab leads the reader (CRM-15), or None when it is not shown: the
    tab turned off, no working integration, or no desk account there
    (`services.integration.desk_tab_url`, from what the page has read already)."""
    if not per_request.settings_of(request).desk_tab:
        return None
    desk = per_request.desk(request)
    if desk is None or desk.member is None:
        return None
    return reverse("desk:dashboard", kwargs={"portal": desk.desk_org.portal})


def rows_request(request: HttpRequest, target: str) -> bool:
    """An htmx live-filter request that only wants the table rows."""
    return (
        bool(request.htmx)
        and request.htmx.target == target
        and not request.htmx.history_restore_request
    )


@dataclass
class ListPage:
    """One page of a list: `rows` (dicts), the count (exact unless `capped`: then COUNT_CAP
    and "more"), the page's number (1-based) and whether there is a next one."""

    rows: list[dict[str, Any]]
    number: int
    count: int
    capped: bool
    has_next: bool
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int | None:
        return None if self.capped else max(1, -(-self.count // self.per_page))

    @property
    def paginator(self) -> ListPage:
        """Itself, read as Django's `Page.paginator` (`count`, `num_pages`) by the shared
        pager row (templates/customers/_pager.html)."""
        return self

    @property
    def num_pages(self) -> int | None:
        return self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _page_number(value: str | None) -> int:
    try:
        number = int(value or "1")
    except ValueError:
        return 1
    return number if 1 <= number <= MAX_PAGE else 1


def capped_count(rows: QuerySet) -> int:
    """The number of rows, exact up to COUNT_CAP; COUNT_CAP + 1 means more."""
    return rows.order_by().values("pk")[: COUNT_CAP + 1].count()


def list_rows(
    rows: QuerySet,
    page: str | None,
    fields: tuple[str, ...],
    row: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ListPage:
    """The page `page` (a number as typed; nonsense is 1, past the last page is the last when
    the count is exact) of `rows`, read as the values of `fields` and shaped by `row`. Two
    queries whatever the number of rows."""
    count = capped_count(rows)
    capped = count > COUNT_CAP
    count = min(count, COUNT_CAP)
    number = _page_number(page)
    if not capped:
        number = min(number, max(1, -(-count // PER_PAGE)))
    start = (number - 1) * PER_PAGE
    # One row more than the page tells whether there is a next page, counted or not.
    values = list(rows.values(*fields)[start : start + PER_PAGE + 1])
    shaped = [row(v) if row else v for v in values[:PER_PAGE]]
    return ListPage(
        rows=shaped, number=number, count=count, capped=capped, has_next=len(values) > PER_PAGE
    )


def person(full_name: str | None, email: str | None) -> str:
    """A user as the lists show them (User.display_name, from values)."""
    return full_name or email or ""


def list_page(request: HttpRequest, kind: str, page: ListPage, context: dict) -> HttpResponse:
    """A searchable list page (templates/crm/<kind>.html), or only its rows (`<kind>-rows`
    partial) when htmx asks for them."""
    context = {"page_obj": page, **context}
    if rows_request(request, f"{kind}-rows"):
        return render(request, f"crm/{kind}.html#{kind}-rows", context)
    return crm_render(request, f"crm/{kind}.html", context)
