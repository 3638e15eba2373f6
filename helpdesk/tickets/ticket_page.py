"""Reads for the ticket page's side panels (TKT-01, TKT-06): the customer's other recent
tickets, and the previous and next tickets of the list the agent came from. Each is a fixed
number of queries, whatever the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db.models import F, QuerySet, Value
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
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


FIELDS = ("number", "subject", "status__name", "status_kind", "created_at", "id")


def _latest(qs: QuerySet[Ticket], part: int) -> QuerySet:
    return (
        qs.order_by("-created_at", "-id")
        .annotate(part=Value(part))
        .values_list("part", *FIELDS)[:RECENT]
    )


def customer_recent_tickets(
    membership: Membership, ticket: Ticket
) -> tuple[list[RecentTicket], list[RecentTicket]]:
    """The contact's and the account's other latest tickets that the member may see (one
    query, a UNION ALL of the two; none for a ticket without contact or account)."""
    others = visible_tickets(membership).exclude(pk=ticket.pk)
    contact_id, account_id = ticket.contact_id, ticket.account_id
    parts = []
    if contact_id is not None:
        parts.append(_latest(others.filter(contact_id=contact_id), 0))
    if account_id is not None:  # the account's tickets other than the contact's, listed above
        same_account = others.filter(account_id=account_id)
        if contact_id is not None:
            same_account = same_account.exclude(contact_id=contact_id)
        parts.append(_latest(same_account, 1))
    if not parts:
        return [], []
    rows = list(parts[0].union(*parts[1:], all=True)) if len(parts) > 1 else list(parts[0])
    rows.sort(key=lambda r: (r[5], r[6]), reverse=True)  # newest first, as each part was
    found: tuple[list[RecentTicket], list[RecentTicket]] = ([], [])
    for part, number, subject, status, kind, _created, _pk in rows:
        found[part].append(RecentTicket(number, subject, status, kind))
    return found


@dataclass(frozen=True)
class Neighbours:
    previous: int | None
    next: int | None
    list_query: str  # the list's query string, carried on to the neighbours' links


def list_query_clean(raw: str) -> str:
    """The list's query string as carried by a ticket link (`?list=...`), without the page."""
    pairs = [(k, v) for k, v in parse_qsl(raw or "", keep_blank_values=False) if k != "page"]
    return urlencode(pairs[:40])


def _value(ticket: Ticket, name: str) -> Any:
    return getattr(ticket, "pk" if name == "id" else name)


def _nullable(name: str) -> bool:
    return name != "id" and bool(getattr(Ticket._meta.get_field(name), "null", False))


def _first_after(qs: QuerySet[Ticket], order: tuple[str, ...], ticket: Ticket) -> int | None:
    """The number of the first row after `ticket` in `order` (all one direction; only the
    first field may be NULL). A row comparison, `(a, b, id) < (x, y, z)`, is an index range
    the scan starts from: the same condition spelt with ORs made PostgreSQL walk the index
    from its start, 7 s for a ticket in the middle of 500,000. NULLs sort last ascending and
    first descending, so a NULL first field takes a second query at most."""
    names = [f.lstrip("-") for f in order]
    descending = order[0].startswith("-")
    lookup = TupleLessThan if descending else TupleGreaterThan

    def first(rows: QuerySet[Ticket]) -> int | None:
        return rows.order_by(*order).values_list("number", flat=True).first()

    def first_beyond(rows: QuerySet[Ticket], columns: list[str]) -> int | None:
        values = tuple(_value(ticket, n) for n in columns)
        return first(rows.filter(lookup(Tuple(*(F(n) for n in columns)), values)))

    head = names[0]
    if not _nullable(head):
        return first_beyond(qs, names)
    if _value(ticket, head) is None:
        found = first_beyond(qs.filter(**{f"{head}__isnull": True}), names[1:])
        if found is None and descending:  # NULLs first: then come the values
            found = first(qs.filter(**{f"{head}__isnull": False}))
        return found
    found = first_beyond(qs, names)  # a comparison with NULL is never true: values only
    if found is None and not descending:  # NULLs last: they come after the values
        found = first(qs.filter(**{f"{head}__isnull": True}))
    return found


def ticket_neighbours(membership: Membership, ticket: Ticket, raw_query: str) -> Neighbours | None:
    """The tickets before and after `ticket` in the list given by `raw_query` (its view,
    filters, search and sort), a keyset query each way on the list's own ordering (two more
    at most when the sort field is empty). None when the query is not a valid list or its
    order is not one this keyset handles."""
    from .selectors import SORTS, TicketFilterForm, ticket_queryset

    query = list_query_clean(raw_query)
    form = TicketFilterForm(QueryDict(query))
    if not form.is_valid():
        return None
    params: dict[str, Any] = form.cleaned_data
    order = SORTS.get(params.get("sort") or "-created", SORTS["-created"])
    if not order or order[-1].lstrip("-") not in ("id", "number"):
        order = (*order, "-id")
    names = [f.lstrip("-") for f in order]
    concrete = {f.name for f in Ticket._meta.concrete_fields} | {"id"}
    if (
        any(n not in concrete for n in names)
        or any(_nullable(n) for n in names[1:])
        or len({f.startswith("-") for f in order}) > 1
    ):
        return None  # an order this keyset does not handle: no previous/next
    qs = ticket_queryset(membership, params).exclude(pk=ticket.pk)
    flipped = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in order)
    return Neighbours(
        previous=_first_after(qs, flipped, ticket),
        next=_first_after(qs, order, ticket),
        list_query=query,
    )
