"""Reads for the ticket page's side panels (TKT-01, TKT-06): the customer's other recent
tickets, and the previous and next tickets of the list the agent came from. Each is a fixed
number of queries, whatever the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db.models import Q, QuerySet
from django.http import QueryDict

from helpdesk.tenancy.models import Membership

from .models import Ticket
from .services.access import visible_tickets

RECENT = 5


@dataclass(frozen=True)
class RecentTicket:
    number: int
    subject: str
    status: str
    status_kind: str


def _recent(qs: QuerySet[Ticket]) -> list[RecentTicket]:
    rows = qs.order_by("-created_at", "-id").values(
        "number", "subject", "status__name", "status_kind"
    )[:RECENT]
    return [
        RecentTicket(r["number"], r["subject"], r["status__name"], r["status_kind"]) for r in rows
    ]


def customer_recent_tickets(
    membership: Membership, ticket: Ticket
) -> tuple[list[RecentTicket], list[RecentTicket]]:
    """The contact's and the account's other latest tickets that the member may see (two
    queries at most; none for a ticket without contact or account)."""
    others = visible_tickets(membership).exclude(pk=ticket.pk)
    contact_id, account_id = ticket.contact_id, ticket.account_id
    contact = _recent(others.filter(contact_id=contact_id)) if contact_id is not None else []
    account = []
    if account_id is not None:  # the account's tickets other than the contact's, listed above
        same_account = others.filter(account_id=account_id)
        if contact_id is not None:
            same_account = same_account.exclude(contact_id=contact_id)
        account = _recent(same_account)
    return contact, account


@dataclass(frozen=True)
class Neighbours:
    previous: int | None
    next: int | None
    list_query: str  # the list's query string, carried on to the neighbours' links


def list_query_clean(raw: str) -> str:
    """The list's query string as carried by a ticket link (`?list=...`), without the page."""
    pairs = [(k, v) for k, v in parse_qsl(raw or "", keep_blank_values=False) if k != "page"]
    return urlencode(pairs[:40])


def _after(fields: tuple[str, ...], ticket: Ticket, *, reverse: bool) -> Q:
    """Rows after `ticket` in the order `fields` (before it when `reverse`), as a keyset
    condition. PostgreSQL puts NULLs last in ascending and first in descending order."""
    condition = Q(pk__in=[])
    equal = Q()
    for spec in fields:
        name = spec.lstrip("-")
        descending = spec.startswith("-") != reverse
        value = getattr(ticket, "pk" if name == "id" else name)
        if value is None:
            # NULLs sort last ascending: nothing after them but other NULLs (handled by
            # the next field); first descending: every non-NULL value comes after.
            step = Q(**{f"{name}__isnull": False}) if descending else Q(pk__in=[])
            same = Q(**{f"{name}__isnull": True})
        else:
            lookup = "lt" if descending else "gt"
            step = Q(**{f"{name}__{lookup}": value})
            if not descending:
                step |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        condition |= equal & step
        equal &= same
    return condition


def ticket_neighbours(membership: Membership, ticket: Ticket, raw_query: str) -> Neighbours | None:
    """The tickets before and after `ticket` in the list given by `raw_query` (its view,
    filters, search and sort), two keyset queries on the list's own ordering. None when the
    query is not a valid list or its order is not the ticket's own fields."""
    from .selectors import SORTS, TicketFilterForm, ticket_queryset

    query = list_query_clean(raw_query)
    form = TicketFilterForm(QueryDict(query))
    if not form.is_valid():
        return None
    params: dict[str, Any] = form.cleaned_data
    order = SORTS.get(params.get("sort") or "-created", SORTS["-created"])
    if not order or order[-1].lstrip("-") not in ("id", "number"):
        order = (*order, "-id")
    if any(not hasattr(ticket, f.lstrip("-")) and f.lstrip("-") != "id" for f in order):
        return None
    qs = ticket_queryset(membership, params).exclude(pk=ticket.pk)
    flipped = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in order)
    nxt = qs.filter(_after(order, ticket, reverse=False)).order_by(*order)
    prev = qs.filter(_after(order, ticket, reverse=True)).order_by(*flipped)
    return Neighbours(
        previous=prev.values_list("number", flat=True).first(),
        next=nxt.values_list("number", flat=True).first(),
        list_query=query,
    )
