"""The Overview, Tickets, Interactions, Time entries, Happiness and Products tabs of a contact
or an account (CUS-03, CUS-06..CUS-10).

Each tab is a URL of its own, `contacts/<id>/tabs/<tab>/` (`customers:contact_<tab>`) and
`accounts/<id>/tabs/<tab>/` (`customers:account_<tab>`), answering an HTML fragment with an h2
heading: the record page renders the open tab in place (customers.pages.detail) or loads it
into `#tab-panel` with htmx. Filters and pages inside a tab are links and GET forms whose
`href`/`action` is the record page with the tab open (they work without JavaScript) and whose
`hx-get` is the tab's own URL. Their parameters (view, status, sort, p, billing, from, to,
agent, list) do not clash with the page's own (q, page, tab, edit).

Every tab needs the Desk role's "view" and reads the record through the organization; every
list reads only the tickets this member may open (`stats.record_scope_sql`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpdesk.http import apply_errors, client_ip
from helpdesk.tenancy.selectors import desk_users
from helpdesk.tickets.customer_stats import channel_donut, duration_text
from helpdesk.tickets.models import Channel
from helpdesk.tickets.selectors import SORT_LABELS, VIEWS

from .. import services
from ..forms import ProductLinkForm, ProductUnlinkForm
from ..models import Account, AccountProduct, Contact, ContactProduct, Product
from . import tab_selectors as ts
from .common import tab_record
from .stats import overview_stats_cached

# The page's own parameters (list panel search and page, open tab, inline edit): kept in the
# links of a tab, never read by it.
PAGE_PARAMS = ("q", "page")
OVERVIEW_LIST_SIZE = 5
OVERVIEW_LISTS = ("all", "open", "on_hold")


def _int(value: str | None, default: int, *, low: int = 1, high: int = 10_000) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if low <= number <= high else default


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choice(value: str | None, choices: tuple[str, ...] | list[str], default: str) -> str:
    return value if value in choices else default


class TabLinks:
    """The addresses a tab's links and forms need: the tab's fragment URL (`hx-get`), the
    record page with the tab open (`href`, `action`, pushed to the address bar), and both
    with changed parameters (`href(**params)`, `hx(**params)`)."""

    def __init__(self, request: HttpRequest, kind: str, record: Contact | Account, tab: str):
        kwargs = {"portal": request.org.portal, f"{kind}_id": record.pk}
        self.tab = tab
        self.fragment = reverse(f"customers:{kind}_{tab}", kwargs=kwargs)
        self.page = reverse(f"customers:{kind}_detail", kwargs=kwargs)
        self.keep = {k: request.GET[k] for k in PAGE_PARAMS if request.GET.get(k)}

    def hx(self, params: dict[str, Any]) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.fragment}?{query}" if query else self.fragment

    def href(self, params: dict[str, Any]) -> str:
        query = {**self.keep, "tab": self.tab}
        query.update({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.page}?{urlencode(query)}"

    @property
    def page_tab(self) -> str:
        return self.href({})


def _link(links: TabLinks, params: dict[str, Any], **change: Any) -> dict[str, str]:
    merged = {**params, **change}
    return {"href": links.href(merged), "hx": links.hx(merged)}


def _render(
    request: HttpRequest,
    kind: str,
    record: Contact | Account,
    tab: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    links = TabLinks(request, kind, record, tab)
    return render(
        request,
        f"customers/tabs/{tab}.html",
        {
            "kind": kind,
            "record": record,
            "links": links,
            "keep": links.keep,
            "can_edit": services.can(request.membership, "edit"),
            **context,
        },
        status=status,
    )


# --- Overview (CUS-03) ----------------------------------------------------------------------
def _overview(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id)
    stats = overview_stats_cached(request.membership, record)
    shown = _choice(request.GET.get("list"), OVERVIEW_LISTS, "all")
    links = TabLinks(request, kind, record, "overview")
    rows = ts.latest_ticket_rows(request.membership, record, view=shown, limit=OVERVIEW_LIST_SIZE)
    labels = dict(Channel.choices)
    list_counts = {"all": stats.total, "open": stats.open_kind, "on_hold": stats.on_hold}
    return _render(
        request,
        kind,
        record,
        "overview",
        {
            "stats": stats,
            "channels": [(share, labels[share.channel]) for share in stats.channels],
            "donut": channel_donut(stats.channels, stats.total),
            "times": [
                ("first_response", stats.first_response, stats.answered_tickets),
                ("response", stats.response, stats.answered_turns),
                ("resolution", stats.resolution, stats.closed),
            ],
            "durations": {
                "first_response": duration_text(stats.first_response),
                "response": duration_text(stats.response),
                "resolution": duration_text(stats.resolution),
            },
            "lists": [
                {
                    "key": key,
                    "label": VIEWS[key] if key != "all" else VIEWS["all"],
                    "count": list_counts[key],
                    "current": key == shown,
                    **_link(links, {}, list=key),
                }
                for key in OVERVIEW_LISTS
            ],
            "shown": shown,
            "rows": rows,
            "columns": ts.overview_columns(),
            "desk_url": reverse("desk:home", kwargs={"portal": request.org.portal}),
            "all_tickets": _link(
                TabLinks(request, kind, record, "tickets"), {}, view=shown if shown else "all"
            ),
        },
    )


def contact_overview(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _overview(request, "contact", contact_id)


def account_overview(request: HttpRequest, account_id: int) -> HttpResponse:
    return _overview(request, "account", account_id)


# --- Tickets (CUS-07) ---------------------------------------------------------------------
def _tickets(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id)
    names = ts.status_names(request.membership)
    params = {
        "view": _choice(request.GET.get("view"), ts.TICKET_VIEWS, "all"),
        "status": _choice(request.GET.get("status"), names, ""),
        "sort": _choice(request.GET.get("sort"), tuple(ts.TICKET_SORTS), "-created"),
    }
    number = _int(request.GET.get("p"), 1)
    result = ts.tickets_tab(request.membership, record, page=number, **params)
    links = TabLinks(request, kind, record, "tickets")
    return _render(
        request,
        kind,
        record,
        "tickets",
        {
            "result": result,
            "params": params,
            "views": [(key, VIEWS[key]) for key in ts.TICKET_VIEWS],
            "status_names": names,
            "sorts": [(key, SORT_LABELS[key]) for key in ts.TICKET_SORTS],
            "previous": _link(links, params, p=number - 1),
            "next": _link(links, params, p=number + 1),
            "desk_url": reverse("desk:home", kwargs={"portal": request.org.portal}),
        },
    )


def contact_tickets(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _tickets(request, "contact", contact_id)


def account_tickets(request: HttpRequest, account_id: int) -> HttpResponse:
    return _tickets(request, "account", account_id)


# --- Interactions (CUS-06) --------------------------------------------------------------------
def _interactions(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id)
    number = _int(request.GET.get("p"), 1)
    links = TabLinks(request, kind, record, "interactions")
    return _render(
        request,
        kind,
        record,
        "interactions",
        {
            "result": ts.cached_tab(
                "interactions",
                request.membership,
                record,
                (number,),
                lambda: ts.interactions_page(request.membership, record, number),
            ),
            "previous": _link(links, {}, p=number - 1),
            "next": _link(links, {}, p=number + 1),
            "rating_labels": ts.RATING_LABELS,
        },
    )


def contact_interactions(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _interactions(request, "contact", contact_id)


def account_interactions(request: HttpRequest, account_id: int) -> HttpResponse:
    return _interactions(request, "account", account_id)


# --- Time entries (CUS-08) ----------------------------------------------------------------------
def _time(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id)
    agents = list(desk_users(request.org))
    agent_ids = [str(u.pk) for u in agents]
    start, end = _date(request.GET.get("from")), _date(request.GET.get("to"))
    params = {
        "billing": _choice(request.GET.get("billing"), ts.BILLING, "all"),
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
        "agent": _choice(request.GET.get("agent"), agent_ids, ""),
    }
    number = _int(request.GET.get("p"), 1)
    user_id = int(params["agent"]) if params["agent"] else None
    result = ts.cached_tab(
        "time",
        request.membership,
        record,
        (params["billing"], start, end, user_id, number),
        lambda: ts.time_tab(
            request.membership,
            record,
            billing=params["billing"],
            start=start,
            end=end,
            user_id=user_id,
            page=number,
        ),
    )
    links = TabLinks(request, kind, record, "time")
    return _render(
        request,
        kind,
        record,
        "time",
        {
            "result": result,
            "params": params,
            "agents": agents,
            "billing_choices": ts.billing_choices(),
            "previous": _link(links, params, p=number - 1),
            "next": _link(links, params, p=number + 1),
        },
    )


def contact_time(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _time(request, "contact", contact_id)


def account_time(request: HttpRequest, account_id: int) -> HttpResponse:
    return _time(request, "account", account_id)


# --- Happiness (CUS-09, contacts only) ---------------------------------------------------------
def contact_happiness(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = tab_record(request, "contact", contact_id)
    number = _int(request.GET.get("p"), 1)
    links = TabLinks(request, "contact", contact, "happiness")
    return _render(
        request,
        "contact",
        contact,
        "happiness",
        {
            "result": ts.cached_tab(
                "happiness",
                request.membership,
                contact,
                (number,),
                lambda: ts.happiness_page(request.membership, contact, number),
            ),
            "previous": _link(links, {}, p=number - 1),
            "next": _link(links, {}, p=number + 1),
            "rating_labels": ts.RATING_LABELS,
        },
    )


# --- Products (CUS-10) ------------------------------------------------------------------------
def _linked(request: HttpRequest, model, **record) -> list[int]:
    """Ids of the products linked to one contact or account."""
    return list(
        model.objects.for_org(request.org).filter(**record).values_list("product_id", flat=True)
    )


def _products_post(request: HttpRequest, model, owner_field: str, record, link, unlink):
    """Link or unlink one product (POST action=link|unlink). Returns the refused form or
    None when done."""
    linked = _linked(request, model, **{owner_field: record})
    if request.POST.get("action") == "unlink":
        form = ProductUnlinkForm(request.POST, org=request.org, linked=linked)
        if form.is_valid():
            unlink(
                actor=request.membership,
                ip=client_ip(request),
                product=form.cleaned_data["product"],
                **{owner_field: record},
            )
            messages.success(
                request, _("“%(product)s” unlinked.") % {"product": form.cleaned_data["product"]}
            )
            return None
        messages.error(request, _("That product is not linked any more."))
        return ProductLinkForm(org=request.org, linked=linked)
    form = ProductLinkForm(request.POST, org=request.org, linked=linked)
    if form.is_valid():
        try:
            link(
                actor=request.membership,
                ip=client_ip(request),
                product=form.cleaned_data["product"],
                **{owner_field: record},
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("“%(product)s” linked.") % {"product": form.cleaned_data["product"]}
            )
            return None
    return form


def _products(
    request: HttpRequest,
    kind: str,
    record_id: int,
    link: Callable[..., Any],
    unlink: Callable[..., Any],
) -> HttpResponse:
    """The linked products with unlink buttons and the lookup to link one more. The forms post
    here (`_products_post`: the services' link and unlink); htmx then gets the tab again in
    place, a browser without JavaScript is sent back to the record page with this tab open,
    and a refused form is shown with status 400."""
    record = tab_record(request, kind, record_id)
    model = ContactProduct if kind == "contact" else AccountProduct
    link_form = None
    status = 200
    if request.method == "POST":
        services.ensure_can(request.membership, "edit")
        link_form = _products_post(request, model, kind, record, link, unlink)
        if link_form is None and not request.htmx:
            return redirect(TabLinks(request, kind, record, "products").page_tab)
        status = 200 if link_form is None else 400
    linked = list(
        model.objects.for_org(request.org)
        .filter(**{kind: record})
        .values_list("product_id", flat=True)
    )
    products = (
        Product.objects.for_org(request.org)
        .filter(pk__in=linked)
        .select_related("department")
        .order_by("name")
    )
    return _render(
        request,
        kind,
        record,
        "products",
        {
            "products": products,
            "link_form": link_form or ProductLinkForm(org=request.org, linked=linked),
        },
        status=status,
    )


def contact_products(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _products(
        request,
        "contact",
        contact_id,
        services.contact_product_link,
        services.contact_product_unlink,
    )


def account_products(request: HttpRequest, account_id: int) -> HttpResponse:
    return _products(
        request,
        "account",
        account_id,
        services.account_product_link,
        services.account_product_unlink,
    )
