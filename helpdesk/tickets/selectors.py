"""Reading tickets: views, filters, sorting, search and pagination (TKT-06).

The list's queries are a fixed set whatever the page size: one for the page (relations joined),
one capped count, plus the filter choices. Counting stops at COUNT_CAP so a view over
500,000 tickets stays fast; the page then says "1,000+" and pages on without a total."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.selectors import desk_users

from . import search
from .models import HIGH_PRIORITIES, Channel, CustomField, Priority, StatusKind, Ticket
from .services.access import visible_tickets

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
    "high": _("High priority"),
}

SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "due": ("due_at", "id"),
    "-priority": ("-priority_rank", "-created_at", "-id"),
    "-number": ("-number",),
    "number": ("number",),
}
SORT_LABELS = {
    "-created": _("Newest first"),
    "created": _("Oldest first"),
    "-updated": _("Recently updated"),
    "due": _("Due date"),
    "-priority": _("Priority"),
    "-number": _("Number (high to low)"),
    "number": _("Number (low to high)"),
}


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
    sort = forms.ChoiceField(choices=list(SORT_LABELS.items()), required=False, label=_("Sort"))
    size = forms.TypedChoiceField(
        choices=[(s, s) for s in PAGE_SIZES], coerce=int, required=False, label=_("Per page")
    )
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)


def owner_choices(membership: Membership) -> list[tuple[str, str]]:
    """Owners to filter by: people with Desk access in the organization."""
    return [("", "—"), ("none", str(_("Unassigned")))] + [
        (str(u.pk), u.display_name) for u in desk_users(membership.org)
    ]


# Only what the list shows, as plain values: no model instances, and no join the page does
# not need (each join costs more planning time than it saves).
ROW_FIELDS = (
    "number",
    "subject",
    "status_kind",
    "priority",
    "created_at",
    "due_at",
    "status__name",
    "department__name",
    "contact__first_name",
    "contact__last_name",
    "owner__full_name",
    "owner__email",
)
PRIORITY_LABELS = dict(Priority.choices)


@dataclass
class TicketRow:
    number: int
    subject: str
    status_kind: str
    status: str
    priority: str
    priority_label: str
    department: str
    contact: str
    owner: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool

    # Formatted here: Django's date filter costs more than the rest of a row together.
    @property
    def created_iso(self) -> str:
        return self.created_at.isoformat()

    @property
    def created_label(self) -> str:
        return timezone.localtime(self.created_at).strftime("%Y-%m-%d %H:%M")

    @property
    def due_iso(self) -> str:
        return self.due_at.isoformat() if self.due_at else ""

    @property
    def due_label(self) -> str:
        return timezone.localtime(self.due_at).strftime("%Y-%m-%d %H:%M") if self.due_at else ""

    @classmethod
    def from_values(cls, row: dict[str, Any], now: dt.datetime) -> TicketRow:
        contact = " ".join(p for p in (row["contact__last_name"], row["contact__first_name"]) if p)
        due = row["due_at"]
        return cls(
            number=row["number"],
            subject=row["subject"],
            status_kind=row["status_kind"],
            status=row["status__name"],
            priority=row["priority"],
            priority_label=PRIORITY_LABELS.get(row["priority"], row["priority"]),
            department=row["department__name"],
            contact=contact,
            owner=row["owner__full_name"] or row["owner__email"] or "",
            created_at=row["created_at"],
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


def ticket_page(membership: Membership, params: dict[str, Any]) -> TicketPage:
    qs = ticket_queryset(membership, params)
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
    rows = list(qs.order_by(*order).values(*ROW_FIELDS)[(page - 1) * size : page * size + 1])
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
