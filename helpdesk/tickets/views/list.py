"""The ticket list: views, filters, search, sorting, pagination and bulk actions (TKT-06).

The URL keeps the whole state (view, filters, sort, page), so links and reloads work; htmx
swaps only the results when a filter changes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from helpdesk.caching import cached
from helpdesk.http import client_ip
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..forms import BulkForm
from ..models import Channel, Priority, TicketStatus
from ..selectors import (
    COLUMNS,
    COUNT_CAP,
    DEFAULT_COLUMNS,
    PAGE_SIZES,
    SORT_LABELS,
    VIEWS,
    TicketFilterForm,
    account_choices,
    account_label,
    contact_choices,
    contact_label,
    list_columns_for,
    owner_choices,
    saved_views_for,
    ticket_page,
    view_counts,
)
from ..services.access import can, department_ids, departments_for
from ..services.listviews import (
    list_columns_set,
    saved_view_create,
    saved_view_delete,
    saved_view_may_delete,
)
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
    saved_views = saved_views_for(membership)
    saved = next((v for v in saved_views if v.pk == params.get("saved")), None)
    own_columns = list_columns_for(membership)
    # A saved view shows the columns it was saved with; otherwise the member's own.
    columns = list(saved.columns) if saved is not None and saved.columns else own_columns
    page = ticket_page(membership, params, columns)
    # `columns=open` only reopens the column chooser after saving; links do not carry it.
    query = {k: v for k, v in request.GET.items() if k not in ("page", "columns") and v}
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
        "contact",
        "account",
        "tag",
    )
    contact_id, account_id = params.get("contact"), params.get("account")
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
        "view_label": saved.name if saved else VIEWS[params.get("view") or "all"],
        "columns": [COLUMNS[k] for k in columns],
        "column_choices": [(COLUMNS[k], k in own_columns) for k in own_columns]
        + [(c, False) for k, c in COLUMNS.items() if k not in own_columns],
        "columns_shown": len(own_columns),
        "saved_views": saved_views,
        "saved": saved,
        "saved_may_delete": saved is not None and saved_view_may_delete(membership, saved),
        "contact_label": contact_label(membership, contact_id) if contact_id else None,
        "account_label": account_label(membership, account_id) if account_id else None,
        "page_sizes": [str(n) for n in PAGE_SIZES],
        "now": timezone.now(),
        "views": VIEWS,
        "sorts": SORT_LABELS,
        "statuses": _status_names(membership),
        "query": urlencode(query),
        "query_without_view": urlencode(
            {k: v for k, v in query.items() if k not in ("view", "saved")}
        ),
        "query_without_saved": urlencode({k: v for k, v in query.items() if k != "saved"}),
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
    counts = cached(key, lambda: view_counts(membership), fresh=30)
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


# --- Columns, saved views and the contact/account filters (TKT-06) ----------------------------
def _back(request: HttpRequest, query: str, **extra: str) -> HttpResponse:
    """Back to the list with `query` (a query string; re-encoded, so only parameters pass)."""
    pairs = [(k, v) for k, v in parse_qsl(query or "") if k not in extra]
    pairs += [(k, v) for k, v in extra.items() if v]
    target = f"/{request.org.portal}/desk/"
    return redirect(target + (f"?{urlencode(pairs)}" if pairs else ""))


@require_POST
@require_app(App.DESK)
def list_columns(request: HttpRequest) -> HttpResponse:
    """Save the member's columns: the ticked ones in the order listed, an optional move of one
    of them up or down (`move=up:contact`), or `reset` to the default columns."""
    order = [k for k in request.POST.getlist("order") if k in COLUMNS]
    shown = set(request.POST.getlist("columns"))
    columns = [k for k in order if k in shown]
    direction, _sep, key = request.POST.get("move", "").partition(":")
    if key in columns and direction in ("up", "down"):
        i = columns.index(key)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(columns):
            columns[i], columns[j] = columns[j], columns[i]
    if "reset" in request.POST:
        columns = list(DEFAULT_COLUMNS)
    list_columns_set(actor=request.membership, columns=columns)
    messages.success(request, _("Columns saved."))
    return _back(request, request.POST.get("next", ""), columns="open")


@require_POST
@require_app(App.DESK)
def saved_view_new(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters, sort, search and columns as a named view."""
    membership = request.membership
    query = request.POST.get("next", "")
    department = None
    share = request.POST.get("department", "")
    if share:
        department = departments_for(membership).filter(pk=share if share.isdigit() else 0).first()
        if department is None:
            raise Http404
    params = dict(parse_qsl(query))
    saved_id = params.get("saved", "")
    current = next(
        (v for v in saved_views_for(membership) if str(v.pk) == saved_id and v.columns), None
    )
    columns = list(current.columns) if current else list_columns_for(membership)
    try:
        view = saved_view_create(
            actor=membership,
            name=request.POST.get("name", ""),
            params=params,
            columns=columns,
            department=department,
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return _back(request, query)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return _back(request, urlencode(view.params), saved=str(view.pk))


@require_POST
@require_app(App.DESK)
def saved_view_remove(request: HttpRequest, saved_view_id: int) -> HttpResponse:
    membership = request.membership
    view = next((v for v in saved_views_for(membership) if v.pk == saved_view_id), None)
    if view is None:
        raise Http404
    saved_view_delete(actor=membership, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return _back(request, "")


@require_app(App.DESK)
def lookup_contacts(request: HttpRequest) -> HttpResponse:
    """Options for the contact filter: the contacts matching `term`, the chosen one first."""
    return _lookup(request, "contact", contact_choices, contact_label)


@require_app(App.DESK)
def lookup_accounts(request: HttpRequest) -> HttpResponse:
    return _lookup(request, "account", account_choices, account_label)


def _lookup(request: HttpRequest, name: str, choices, label) -> HttpResponse:
    membership = request.membership
    term = request.GET.get("term", "")[:100]
    chosen = request.GET.get(name, "")
    options = choices(membership, term) if term.strip() else []
    selected = None
    if chosen.isdigit() and len(chosen) < 19:
        text = label(membership, int(chosen))
        if text is not None:
            selected = (int(chosen), text)
            options = [o for o in options if o[0] != selected[0]]
    return render(
        request,
        "tickets/list.html#lookup-options",
        {"options": options, "selected": selected, "term": term},
    )
