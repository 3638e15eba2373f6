"""The ticket list: views, filters, search, sorting, pagination and bulk actions (TKT-06).

The URL keeps the whole state (view, filters, sort, page), so links and reloads work; htmx
swaps only the results when a filter changes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from helpdesk.http import client_ip
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..forms import BulkForm
from ..models import Channel, Priority, TicketStatus
from ..selectors import (
    COUNT_CAP,
    PAGE_SIZES,
    SORT_LABELS,
    VIEWS,
    TicketFilterForm,
    owner_choices,
    ticket_page,
    view_counts,
)
from ..services.access import can, department_ids, departments_for
from ..services.tickets import tickets_bulk_update


def _status_names(membership) -> list[str]:
    ids = department_ids(membership)
    statuses = TicketStatus.objects.for_org(membership.org)
    if ids is not None:
        statuses = statuses.filter(department_id__in=ids)
    return sorted(set(statuses.values_list("name", flat=True)), key=str.lower)


def _list_context(request: HttpRequest) -> dict:
    membership = request.membership
    form = TicketFilterForm(request.GET or None)
    form.is_valid()  # an invalid filter is reported and ignored; the valid ones apply
    params = getattr(form, "cleaned_data", {})
    page = ticket_page(membership, params)
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    filter_keys = (
        "department",
        "status",
        "priority",
        "owner",
        "channel",
        "created_from",
        "created_to",
        "due_from",
        "due_to",
        "cf",
    )
    return {
        "current": request.GET.dict(),
        "filters_active": any(query.get(k) for k in filter_keys),
        "departments": [
            (str(pk), name) for pk, name in departments_for(membership).values_list("pk", "name")
        ],
        "owners": owner_choices(membership),
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "form": form,
        "page": page,
        "view": params.get("view") or "all",
        "view_label": VIEWS[params.get("view") or "all"],
        "page_sizes": [str(n) for n in PAGE_SIZES],
        "now": timezone.now(),
        "views": VIEWS,
        "sorts": SORT_LABELS,
        "statuses": _status_names(membership),
        "query": urlencode(query),
        "query_without_view": urlencode({k: v for k, v in query.items() if k != "view"}),
        "can_bulk": can(membership, "bulk"),
        "can_assign": can(membership, "assign"),
        "can_create": can(membership, "create"),
        "filter_errors": form.errors if form.is_bound and not form.is_valid() else None,
    }


@require_app(App.DESK)
def ticket_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    if request.htmx and request.htmx.target == "ticket-results":
        return render(request, "tickets/list.html#results", context)
    return render(request, "tickets/list.html", context)


@require_app(App.DESK)
def ticket_view_counts(request: HttpRequest) -> HttpResponse:
    """Counts per view for the sidebar, loaded after the page and cached briefly."""
    membership = request.membership
    key = f"ticket-view-counts:{membership.org_id}:{membership.user_id}"
    counts = cache.get(key)
    if counts is None:
        counts = view_counts(membership)
        cache.set(key, counts, 30)
    return render(request, "tickets/list.html#view-counts", {"counts": counts, "cap": COUNT_CAP})


@require_POST
@require_app(App.DESK)
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """Assign, set a status or close many tickets; report what changed."""
    form = BulkForm(request.POST)
    back = request.POST.get("next") or ""
    target = f"/{request.org.portal}/desk/" + (f"?{back}" if back else "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(target)
    data = form.cleaned_data
    value = {"assign": data.get("owner"), "status": data.get("status")}.get(data["action"])
    result = tickets_bulk_update(
        actor=request.membership,
        numbers=data["tickets"],
        action=data["action"],
        value=value,
        ip=client_ip(request),
    )
    if result.changed:
        messages.success(
            request,
            ngettext(
                "%(count)d ticket changed: %(numbers)s.",
                "%(count)d tickets changed: %(numbers)s.",
                len(result.changed),
            )
            % {"count": len(result.changed), "numbers": ", ".join(f"#{n}" for n in result.changed)},
        )
    if result.unchanged:
        messages.info(
            request,
            ngettext(
                "%(count)d ticket was already so: %(numbers)s.",
                "%(count)d tickets were already so: %(numbers)s.",
                len(result.unchanged),
            )
            % {
                "count": len(result.unchanged),
                "numbers": ", ".join(f"#{n}" for n in result.unchanged),
            },
        )
    for number, problem in result.failed:
        messages.error(
            request,
            _("#%(number)s not changed: %(problem)s") % {"number": number, "problem": problem},
        )
    return redirect(target)
