"""Reading tickets: views, filters, sorting, search and pagination (TKT-06).

The list's queries are a fixed set whatever the page size: one for the page (relations joined),
one capped count, plus the filter choices. Counting stops at COUNT_CAP so a view over
500,000 tickets stays fast; the page then says "1,000+" and pages on without a total."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Account, Contact
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.models import Membership, User
from helpdesk.tenancy.selectors import desk_users

from . import search
from .models import (
    HIGH_PRIORITIES,
    Channel,
    CustomField,
    ListPreference,
    Priority,
    SavedView,
    StatusKind,
    Ticket,
)
from .services.access import department_ids, visible_tickets

PAGE_SIZES = (25, 50, 100)
COUNT_CAP = 1_000
ESTIMATE_MARGIN = 5  # trust the planner only when it expects 5x the cap or more

VIEWS = {
    "all": _("All tickets"),
    "open": _("Open tickets"),
    "on_hold": _("On hold"),
    "closed": _("Closed tickets"),
    "mine": _("My open tickets"),
    "overdue": _("Overdue tickets"),
    "escalated": _("Escalated tickets"),
    "high": _("High priority"),
}

SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "-activity": ("-last_activity_at", "-id"),
    "due": ("due_at", "id"),
    "-priority": ("-priority_rank", "-created_at", "-id"),
    "-number": ("-number",),
    "number": ("number",),
}
SORT_LABELS = {
    "-created": _("Newest first"),
    "created": _("Oldest first"),
    "-updated": _("Recently updated"),
    "-activity": _("Last activity"),
    "due": _("Due date"),
    "-priority": _("Priority"),
    "-number": _("Number (high to low)"),
    "number": _("Number (low to high)"),
}


# Views whose rows an app above tickets decides (`view_filter_register`): "escalated" is the
# SLA app's (an escalation fired on one of the ticket's open clocks, TKT-06). Kept out of the
# ticket's row, so that the sweep's hundreds of escalations a second write no ticket.
ViewFilter = Callable[[Membership, dt.datetime], Q]
_VIEW_FILTERS: dict[str, ViewFilter] = {}


def view_filter_register(view: str, rows: ViewFilter) -> None:
    """Let an app above tickets say which tickets view `view` (a key of VIEWS) lists, as a Q
    on tickets; until one does, the view lists none (idempotent: the last one counts)."""
    _VIEW_FILTERS[view] = rows


def view_filter(view: str, membership: Membership, now: dt.datetime) -> Q:
    if view == "open":
        return Q(status_kind=StatusKind.OPEN)
    if view == "on_hold":
        return Q(status_kind=StatusKind.ON_HOLD)
    if view == "closed":
        return Q(status_kind=StatusKind.CLOSED)
    if view == "mine":
        return Q(owner_id=membership.user_id) & ~Q(status_kind=StatusKind.CLOSED)
    if view == "overdue":
        return Q(due_at__lt=now) & ~Q(status_kind=StatusKind.CLOSED)
    if view == "escalated":  # an SLA escalation fired on one of its open clocks (TKT-06)
        rows = _VIEW_FILTERS.get(view)
        escalated = rows(membership, now) if rows is not None else Q(pk__in=[])
        return escalated & ~Q(status_kind=StatusKind.CLOSED)
    if view == "high":
        return Q(priority__in=HIGH_PRIORITIES) & ~Q(status_kind=StatusKind.CLOSED)
    return Q()


class TicketFilterForm(forms.Form):
    """The list's query string: view, filters, search, sort and page.

    Related records are taken by id without looking them up: the tickets are already limited
    to the member's organization and departments, so an id of anyone else's record simply
    matches nothing. That keeps the form free of queries on the desk's hottest page."""

    view = forms.ChoiceField(choices=list(VIEWS.items()), required=False)
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    department = forms.IntegerField(required=False, min_value=1, label=_("Department"))
    status = forms.CharField(required=False, max_length=60, label=_("Status"))
    priority = forms.ChoiceField(
        choices=[("", "—")] + list(Priority.choices), required=False, label=_("Priority")
    )
    owner = forms.RegexField(regex=r"^(none|\d{1,18})$", required=False, label=_("Owner"))
    channel = forms.ChoiceField(
        choices=[("", "—")] + list(Channel.choices), required=False, label=_("Channel")
    )
    contact = forms.IntegerField(required=False, min_value=1)
    account = forms.IntegerField(required=False, min_value=1)
    created_from = forms.DateField(required=False, label=_("Created from"))
    created_to = forms.DateField(required=False, label=_("Created to"))
    due_from = forms.DateField(required=False, label=_("Due from"))
    due_to = forms.DateField(required=False, label=_("Due to"))
    # Closed on these days (the dashboard's chart links here; no control in the list's form).
    closed_from = forms.DateField(required=False)
    closed_to = forms.DateField(required=False)
    cf = forms.SlugField(required=False, max_length=60)
    cf_value = forms.CharField(required=False, max_length=200, label=_("Field value"))
    tag = forms.CharField(required=False, max_length=50, label=_("Tag"))  # a tag's name
    sort = forms.ChoiceField(choices=list(SORT_LABELS.items()), required=False, label=_("Sort"))
    size = forms.TypedChoiceField(
        choices=[(s, s) for s in PAGE_SIZES], coerce=int, required=False, label=_("Per page")
    )
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)
    saved = forms.IntegerField(required=False, min_value=1)  # the saved view shown, if any


def owner_choices(membership: Membership) -> list[tuple[str, str]]:
    """Owners to filter by: people with Desk access in the organization (`desk_users`, with
    SQL compiled once per process: every list page asks)."""
    return [("", "—"), ("none", str(_("Unassigned")))] + [
        (str(u.pk), u.display_name) for u in _desk_people.all(org_id=membership.org_id)
    ]


_desk_people: CompiledRead[User] = CompiledRead(
    lambda org_id: desk_users(org_id).only("pk", "full_name", "email")
)


# The columns a member may show, in their default order, with the values each reads. Rows are
# read as plain values with only the joins the chosen columns need (each join costs more
# planning time than it saves).
@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    fields: tuple[str, ...]


COLUMNS = {
    c.key: c
    for c in (
        Column("number", "#", ("number",)),
        Column("subject", _("Subject"), ("subject",)),
        Column("contact", _("Contact"), ("contact__first_name", "contact__last_name")),
        Column("account", _("Account"), ("account__name",)),
        Column("status", _("Status"), ("status__name",)),
        Column("priority", _("Priority"), ("priority",)),
        Column("owner", _("Owner"), ("owner__full_name", "owner__email")),
        Column("department", _("Department"), ("department__name",)),
        Column("channel", _("Channel"), ("channel",)),
        Column("created", _("Created"), ("created_at",)),
        Column("activity", _("Last activity"), ("last_activity_at",)),
        Column("due", _("Due"), ("due_at",)),
    )
}
DEFAULT_COLUMNS = (
    "number",
    "subject",
    "contact",
    "status",
    "priority",
    "owner",
    "department",
    "created",
    "due",
)
ROW_BASE = ("number", "subject", "status_kind", "due_at")  # links, selection, overdue mark


def clean_columns(keys: Any) -> list[str]:
    """Known column keys in the given order, without repeats; the subject (the row's link)
    is always shown. Anything unusable gives the default columns."""
    if not isinstance(keys, list | tuple):
        return list(DEFAULT_COLUMNS)
    columns = list(dict.fromkeys(k for k in keys if isinstance(k, str) and k in COLUMNS))
    if "subject" not in columns:
        columns.insert(1 if columns[:1] == ["number"] else 0, "subject")
    return columns


def row_fields(columns: list[str]) -> tuple[str, ...]:
    fields = list(ROW_BASE)
    for key in columns:
        fields.extend(f for f in COLUMNS[key].fields if f not in fields)
    return tuple(fields)


PRIORITY_LABELS = dict(Priority.choices)
CHANNEL_LABELS = dict(Channel.choices)


def local_minute(value: dt.datetime | None) -> str:
    """`value` in the current time zone as the lists show it ("2026-12-01 09:30"; "" for
    none). Formatted here: Django's date filter costs more than the rest of a row together."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass
class TicketRow:
    """One row of the list; the values of columns not shown stay empty."""

    number: int
    subject: str
    status_kind: str
    due_at: dt.datetime | None
    overdue: bool
    status: str = ""
    priority: str = ""
    priority_label: str = ""
    department: str = ""
    contact: str = ""
    account: str = ""
    owner: str = ""
    channel: str = ""
    channel_label: str = ""
    created_at: dt.datetime | None = None
    last_activity_at: dt.datetime | None = None

    @property
    def created_iso(self) -> str:
        return self.created_at.isoformat() if self.created_at else ""

    @property
    def created_label(self) -> str:
        return local_minute(self.created_at)

    @property
    def activity_iso(self) -> str:
        return self.last_activity_at.isoformat() if self.last_activity_at else ""

    @property
    def activity_label(self) -> str:
        return local_minute(self.last_activity_at)

    @property
    def due_iso(self) -> str:
        return self.due_at.isoformat() if self.due_at else ""

    @property
    def due_label(self) -> str:
        return local_minute(self.due_at)

    @classmethod
    def from_values(cls, row: dict[str, Any], now: dt.datetime) -> TicketRow:
        contact = " ".join(
            p for p in (row.get("contact__last_name"), row.get("contact__first_name")) if p
        )
        due = row["due_at"]
        priority = row.get("priority") or ""
        channel = row.get("channel") or ""
        return cls(
            number=row["number"],
            subject=row["subject"],
            status_kind=row["status_kind"],
            status=row.get("status__name") or "",
            priority=priority,
            priority_label=str(PRIORITY_LABELS.get(priority, priority)),
            department=row.get("department__name") or "",
            contact=contact,
            account=row.get("account__name") or "",
            owner=row.get("owner__full_name") or row.get("owner__email") or "",
            channel=channel,
            channel_label=str(CHANNEL_LABELS.get(channel, channel)),
            created_at=row.get("created_at"),
            last_activity_at=row.get("last_activity_at"),
            due_at=due,
            overdue=bool(due and due < now and row["status_kind"] != StatusKind.CLOSED),
        )


@dataclass
class TicketPage:
    tickets: list[TicketRow]
    count: int  # exact unless `capped`, then COUNT_CAP
    capped: bool
    page: int
    size: int
    pages: int | None  # None when the count is capped
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def ticket_queryset(
    membership: Membership, params: dict[str, Any], now: dt.datetime | None = None
) -> QuerySet[Ticket]:
    """The member's visible tickets narrowed by cleaned filter `params`."""
    now = now or timezone.now()
    qs = visible_tickets(membership).filter(
        view_filter(params.get("view") or "all", membership, now)
    )
    if params.get("department"):
        qs = qs.filter(department_id=params["department"])
    if params.get("status"):
        qs = qs.filter(status__name__iexact=params["status"])
    if params.get("priority"):
        qs = qs.filter(priority=params["priority"])
    owner = params.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        qs = qs.filter(owner_id=int(owner))
    if params.get("channel"):
        qs = qs.filter(channel=params["channel"])
    if params.get("contact"):
        qs = qs.filter(contact_id=params["contact"])
    if params.get("account"):
        qs = qs.filter(account_id=params["account"])
    if params.get("tag"):  # names are unique regardless of case, so no row repeats
        qs = qs.filter(ticket_tags__tag__name__iexact=params["tag"].strip())
    tz = timezone.get_current_timezone()
    for name, lookup, end in (
        ("created_from", "created_at__gte", False),
        ("created_to", "created_at__lt", True),
        ("due_from", "due_at__gte", False),
        ("due_to", "due_at__lt", True),
        ("closed_from", "closed_at__gte", False),
        ("closed_to", "closed_at__lt", True),
    ):
        day = params.get(name)
        if day:
            day = day + dt.timedelta(days=1) if end else day
            qs = qs.filter(**{lookup: dt.datetime.combine(day, dt.time.min, tzinfo=tz)})
    if params.get("cf") and params.get("cf_value") not in (None, ""):
        qs = _custom_field_filter(qs, membership, params["cf"], params["cf_value"])
    if params.get("q"):
        query = search.query(params["q"])
        if query is not None:
            qs = qs.filter(search_vector=query)
    return qs


def _custom_field_filter(qs, membership: Membership, key: str, value: str):
    field = CustomField.objects.for_org(membership.org).filter(key=key, is_active=True).first()
    if field is None:
        return qs.none()
    if field.type == "checkbox":
        return qs.filter(**{f"custom_fields__{key}": value.lower() in ("1", "true", "yes", "on")})
    if field.type == "number":
        try:
            number = float(value)
        except ValueError:
            return qs.none()
        return qs.filter(
            **{f"custom_fields__{key}": int(number) if number.is_integer() else number}
        )
    if field.type in ("text", "textarea"):
        return qs.filter(**{f"custom_fields__{key}__icontains": value})
    return qs.filter(**{f"custom_fields__{key}": value})


def capped_count(qs: QuerySet) -> int:
    """The number of rows, exact up to COUNT_CAP; above it only "more than COUNT_CAP".

    When the planner expects far more rows than the cap it is trusted and nothing is counted:
    counting even a capped 1,001 rows of a full-text search costs more than the page."""
    rows = qs.order_by().values("pk")
    try:
        estimate = json.loads(rows.explain(format="json"))[0]["Plan"]["Plan Rows"]
    except ValueError:  # nothing to explain: the filter can match no row at all
        estimate = 0
    if estimate > COUNT_CAP * ESTIMATE_MARGIN:
        return COUNT_CAP + 1
    return rows[: COUNT_CAP + 1].count()


def ticket_page(
    membership: Membership, params: dict[str, Any], columns: list[str] | None = None
) -> TicketPage:
    """One page of the list with the values of `columns` (the default columns if None)."""
    qs = ticket_queryset(membership, params)
    fields = row_fields(clean_columns(list(columns or DEFAULT_COLUMNS)))
    size = params.get("size") or PAGE_SIZES[0]
    page = params.get("page") or 1
    count = capped_count(qs)
    capped = count > COUNT_CAP
    count = min(count, COUNT_CAP)
    pages = None if capped else max(1, -(-count // size))
    if pages is not None:
        page = min(page, pages)
    order = SORTS.get(params.get("sort") or "-created", SORTS["-created"])
    # One row more than the page tells whether there is a next page, counted or not.
    rows = list(qs.order_by(*order).values(*fields)[(page - 1) * size : page * size + 1])
    now = timezone.now()
    return TicketPage(
        tickets=[TicketRow.from_values(row, now) for row in rows[:size]],
        count=count,
        capped=capped,
        page=page,
        size=size,
        pages=pages,
        has_next=len(rows) > size,
    )


def view_counts(membership: Membership) -> dict[str, int]:
    """Tickets per view for the sidebar, capped like the list."""
    now = timezone.now()
    base = visible_tickets(membership)
    return {view: capped_count(base.filter(view_filter(view, membership, now))) for view in VIEWS}


# --- Saved views and columns (TKT-06) ---------------------------------------------------------
def saved_views_for(membership: Membership) -> list[SavedView]:
    """The member's personal views and the views shared with departments they work in (every
    shared view for those who see every department). One query."""
    ids = department_ids(membership)
    shared = Q(department__isnull=False) if ids is None else Q(department_id__in=ids)
    return list(
        SavedView.objects.for_org(membership.org)
        .filter(Q(owner_id=membership.user_id, department__isnull=True) | shared)
        .only("pk", "name", "owner_id", "department_id", "params", "columns")
        .order_by("name", "pk")
    )


def list_columns_for(membership: Membership) -> list[str]:
    """The member's chosen columns in their order, or the default ones."""
    columns = (
        ListPreference.objects.for_org(membership.org)
        .filter(user_id=membership.user_id)
        .values_list("columns", flat=True)
        .first()
    )
    return clean_columns(columns) if columns else list(DEFAULT_COLUMNS)


def contact_choices(membership: Membership, term: str, limit: int = 20) -> list[tuple[int, str]]:
    """Contacts of the organization whose name or email contains `term`, for the filter."""
    qs = Contact.objects.for_org(membership.org)
    for word in term.split()[:5]:
        qs = qs.filter(
            Q(last_name__icontains=word) | Q(first_name__icontains=word) | Q(email__icontains=word)
        )
    rows = qs.order_by("last_name", "first_name", "pk").values_list(
        "pk", "last_name", "first_name", "email"
    )[:limit]
    return [(pk, _contact_label(last, first, email)) for pk, last, first, email in rows]


def contact_label(membership: Membership, contact_id: int) -> str | None:
    row = (
        Contact.objects.for_org(membership.org)
        .filter(pk=contact_id)
        .values_list("last_name", "first_name", "email")
        .first()
    )
    return _contact_label(*row) if row else None


def _contact_label(last: str, first: str, email: str) -> str:
    name = " ".join(p for p in (last, first) if p)
    return f"{name} <{email}>" if name and email else name or email


def account_choices(membership: Membership, term: str, limit: int = 20) -> list[tuple[int, str]]:
    qs = Account.objects.for_org(membership.org)
    for word in term.split()[:5]:
        qs = qs.filter(name__icontains=word)
    return list(qs.order_by("name", "pk").values_list("pk", "name")[:limit])


def account_label(membership: Membership, account_id: int) -> str | None:
    return (
        Account.objects.for_org(membership.org)
        .filter(pk=account_id)
        .values_list("name", flat=True)
        .first()
    )
