"""The contact and account detail page in three panels (CUS-02).

- **List** (left): the organization's contacts or accounts with a live search; moving through
  it swaps the record with htmx and the address follows (`hx-push-url`), so a reload or a shared
  link opens the same record with the same search and tab.
- **Record** (middle): the fields with inline edit, and a ticket summary.
- **Related information** (right): the tabs. Each tab is its own URL,
  `<kind>s/<id>/tabs/<tab>/` named `customers:<kind>_<tab>`, that answers an HTML fragment; the
  page renders the open tab on the server (so the page works without JavaScript) and loads the
  others when they are opened.

The tab views live beside this module (customers.pages.tabs, records, activities,
attachments); this module only knows their URL names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from helpdesk.customvalues import display_value
from helpdesk.http import query_text

from .. import selectors, services
from ..models import Account, Contact
from .list_items import list_items
from .stats import overview_stats_cached

LIST_SIZE = 25
# The search and filters the list panel keeps in the address while moving between records.
LIST_PARAMS = ("q", "owner", "tag", "page")


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str | Promise
    kinds: tuple[str, ...] = ("contact", "account")
    # Desk permission needed to see the tab ("configure" = Desk administrators).
    permission: str = "view"


TABS = (
    Tab("overview", pgettext_lazy("customer tab", "Overview")),
    Tab("history", pgettext_lazy("customer tab", "History"), permission="configure"),
    Tab("activities", pgettext_lazy("customer tab", "Activities")),
    Tab("interactions", pgettext_lazy("customer tab", "Interactions")),
    Tab("tickets", pgettext_lazy("customer tab", "Tickets")),
    Tab("time", pgettext_lazy("customer tab", "Time entries")),
    Tab("happiness", pgettext_lazy("customer tab", "Happiness"), kinds=("contact",)),
    Tab("products", pgettext_lazy("customer tab", "Products")),
    Tab("attachments", pgettext_lazy("customer tab", "Attachments")),
)


def _detail_name(kind: str) -> str:
    return f"customers:{kind}_detail"


def tabs_for(request: HttpRequest, kind: str, record: Contact | Account) -> list[dict[str, Any]]:
    """The tabs this member may open on this record, each with its fragment URL and the page
    address that opens it."""
    page = reverse(
        _detail_name(kind), kwargs={"portal": request.org.portal, f"{kind}_id": record.pk}
    )
    keep = {k: request.GET[k] for k in LIST_PARAMS if request.GET.get(k)}
    tabs = []
    for tab in TABS:
        if kind not in tab.kinds or not services.can(request.membership, tab.permission):
            continue
        try:
            url = reverse(
                f"customers:{kind}_{tab.slug}",
                kwargs={"portal": request.org.portal, f"{kind}_id": record.pk},
            )
        except NoReverseMatch:  # a tab whose views are not installed
            continue
        tabs.append(
            {
                "slug": tab.slug,
                "label": tab.label,
                "url": url,
                "page_url": f"{page}?{urlencode({**keep, 'tab': tab.slug})}",
            }
        )
    return tabs


def _tab_content(request: HttpRequest, tab: dict[str, Any]) -> str | None:
    """The open tab's fragment, rendered by its own view (a GET of the page only)."""
    if request.method != "GET":
        return None
    match = resolve(tab["url"])
    # The tenant middleware takes `portal` out of a view's arguments; so does this call.
    kwargs = {k: v for k, v in match.kwargs.items() if k != "portal"}
    response = match.func(request, *match.args, **kwargs)
    if response.status_code != 200 or getattr(response, "streaming", False):
        return None
    return response.content.decode(response.charset or "utf-8")


def _list_filters(request: HttpRequest) -> dict[str, str]:
    """The list panel's filters from the address: owner ("me", "none" or a user id), tag."""
    owner = query_text(request, "owner", 20)
    if owner not in ("me", "none") and not owner.isdigit():
        owner = ""
    return {"owner": owner, "tag": query_text(request, "tag", 50)}


def _list_rows(request: HttpRequest, kind: str, filters: dict[str, str]):
    query = query_text(request)
    search = selectors.contacts_search if kind == "contact" else selectors.accounts_search
    rows = search(
        request.org,
        query=query,
        tag=filters["tag"],
        owner=filters["owner"] or None,
        user=request.user,
    )
    return query, Paginator(rows, LIST_SIZE).get_page(request.GET.get("page"))


def ticket_summary(request: HttpRequest, kind: str, record: Contact | Account) -> dict[str, int]:
    """Total, open (not closed) and overdue tickets of the record that this member may see:
    the Overview tab's figures (an account: its own tickets and its contacts'), from the same
    cache entry, so a page showing both counts the tickets once."""
    stats = overview_stats_cached(request.membership, record)
    return {"total": stats.total, "open": stats.open, "overdue": stats.overdue}


def render_record_page(
    request: HttpRequest,
    kind: str,
    record: Contact | Account,
    *,
    form: Any,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The three-panel page of one contact or account; for htmx, only the part it asked for:
    `record-list` (the list panel's rows: search and paging), `record-area` (record and tabs:
    moving through the list, inline edit). `form`: the record's form as posted, or a function
    building it (called only when the page shows the form: `?edit=1` by a member who may
    edit)."""
    tabs = tabs_for(request, kind, record)
    wanted = request.GET.get("tab", "")
    active = next((t for t in tabs if t["slug"] == wanted), tabs[0] if tabs else None)
    filters = _list_filters(request)
    query, page_obj = _list_rows(request, kind, filters)
    keep = urlencode({k: request.GET[k] for k in LIST_PARAMS if request.GET.get(k)})
    can_edit = services.can(request.membership, "edit")
    wants_edit = request.GET.get("edit") == "1" and can_edit
    if callable(form):  # the record's own form, built only when the page shows it
        form = form() if wants_edit else None
    editing = form is not None and (bool(form.errors) or wants_edit)
    custom = [
        (field.label, display_value(field, (record.custom_fields or {}).get(field.key)))
        for field in services.customer_fields(request.org, kind)
    ]
    links = record.contact_tags if kind == "contact" else record.account_tags
    context = {
        "custom": custom,
        "tags": sorted((link.tag.name for link in links.select_related("tag")), key=str.lower),
        "kind": kind,
        "record": record,
        kind: record,
        "form": form,
        "editing": editing,
        "tabs": tabs,
        "active_tab": active,
        # The open tab loads after the page (htmx), as the other tabs load when opened; a
        # full page whose address names its tab (a shared link, a browser without
        # JavaScript following a tab's link) has it rendered in place.
        "tab_content": _tab_content(request, active)
        if active and wanted and not request.htmx
        else None,
        "summary": ticket_summary(request, kind, record),
        "q": query,
        "filters": filters,
        "owners": selectors.desk_user_list(request.org),
        "page_obj": page_obj,
        "list_items": list_items(
            page_obj.object_list,
            kind=kind,
            portal=request.org.portal,
            keep=keep,
            tab=active["slug"] if active else "overview",
            current_pk=record.pk,
        ),
        "keep": keep,
        "can_edit": can_edit,
        "can_configure": services.can(request.membership, "configure"),
        **(extra or {}),
    }
    template = "customers/record_detail.html"
    htmx = request.htmx
    target = htmx.target if htmx and not htmx.history_restore_request else None
    if target == "record-list":
        return render(request, f"{template}#record-list", context, status=status)
    if target == "record-area":
        return render(request, f"{template}#record-area", context, status=status)
    return render(request, template, context, status=status)
