"""Activities and time on the ticket page (two panels the page loads with htmx, each also a
page of its own without JavaScript) and the per-user activities list in the desk (TKT-04).

A panel's form answers htmx with the fresh panel (errors included, status 200 so htmx swaps
it) and a plain form post with a redirect to the panel's page (or, with errors, that page
with status 400)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import Ticket
from ..services.access import ticket_for_member
from .forms import ActivityFilterForm, ActivityForm, TimeEntryForm
from .models import ActivityKind, RunningTimer, TimeEntry
from .selectors import (
    SORTS,
    activity_page,
    ticket_activities,
    ticket_time_entries,
    ticket_timer,
)
from .services import (
    activity_create,
    activity_delete,
    activity_for_member,
    activity_set_done,
    activity_set_spam,
    activity_update,
    is_desk_admin,
    owner_candidates,
    seconds_to_minutes,
    time_entry_create,
    time_entry_delete,
    time_entry_update,
    time_totals,
    timer_discard,
    timer_pause,
    timer_seconds,
    timer_start,
    timer_stop,
)

ACTIVITIES_TARGET = "activities-panel"
TIME_TARGET = "time-panel"


def _ticket(request: HttpRequest, number: int) -> Ticket:
    return ticket_for_member(request.membership, number, related=("department",))


def _panel_url(request: HttpRequest, name: str, ticket: Ticket) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": request.org.portal, "number": ticket.number})


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- The ticket's activities panel -----------------------------------------------------------
def _activities_context(
    request: HttpRequest, ticket: Ticket, form: ActivityForm | None = None
) -> dict[str, Any]:
    membership = request.membership
    if form is None:
        form = ActivityForm(
            org=request.org,
            initial={"kind": ActivityKind.TASK, "owner": membership.user_id, "status": "open"},
        )
        form.fields["priority"].initial = "medium"
    activities = ticket_activities(membership, ticket)
    return {
        "ticket": ticket,
        "form": form,
        "activities": [a for a in activities if not a.spam],
        "spam_activities": [a for a in activities if a.spam],
        "now": timezone.now(),
        "panel_url": _panel_url(request, "ticket_activities", ticket),
    }


def _render_activities(
    request: HttpRequest, ticket: Ticket, form: ActivityForm | None = None, status: int = 200
) -> HttpResponse:
    context = _activities_context(request, ticket, form)
    if request.htmx:
        return render(request, "tickets/activities/_activities_panel.html", context)
    return render(request, "tickets/activities/ticket_activities.html", context, status=status)


@require_app(App.DESK)
def ticket_activities_view(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the panel (the fragment for htmx, a page otherwise). POST: a new activity."""
    ticket = _ticket(request, number)
    if request.method != "POST":
        return _render_activities(request, ticket)
    form = ActivityForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            activity = activity_create(
                actor=request.membership,
                data=form.activity_input(),
                ticket=ticket,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("“%(subject)s” added.") % {"subject": activity.subject})
            if request.htmx:
                return _render_activities(request, ticket)
            return redirect(_panel_url(request, "ticket_activities", ticket))
    return _render_activities(request, ticket, form, status=400)


# --- One activity ----------------------------------------------------------------------------
def _after_change(request: HttpRequest, activity_ticket: Ticket | None) -> HttpResponse:
    """The ticket's panel for htmx from that panel; else back where the form came from."""
    if request.htmx and request.htmx.target == ACTIVITIES_TARGET and activity_ticket:
        return _render_activities(request, activity_ticket)
    return redirect(
        _next(request, reverse("desk:activity_list", kwargs={"portal": request.org.portal}))
    )


@require_app(App.DESK)
def activity_edit(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = activity_for_member(request.membership, activity_id)
    form = ActivityForm(
        request.POST or None, org=request.org, initial=ActivityForm.initial_for(activity)
    )
    if request.method == "POST" and form.is_valid():
        try:
            activity_update(
                actor=request.membership,
                activity=activity,
                data=form.activity_input(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("“%(subject)s” saved.") % {"subject": activity.subject})
            return redirect(
                _next(request, reverse("desk:activity_list", kwargs={"portal": request.org.portal}))
            )
        activity = activity_for_member(request.membership, activity_id)  # as stored
    return render(
        request,
        "tickets/activities/activity_form.html",
        {"form": form, "activity": activity, "next": _next(request, "")},
        status=400 if form.errors else 200,
    )


@require_POST
@require_app(App.DESK)
def activity_done(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = activity_for_member(request.membership, activity_id)
    done = request.POST.get("done", "1") != "0"
    activity_set_done(actor=request.membership, activity=activity, done=done, ip=client_ip(request))
    if done:
        messages.success(request, _("“%(subject)s” completed.") % {"subject": activity.subject})
    else:
        messages.success(request, _("“%(subject)s” opened again.") % {"subject": activity.subject})
    return _after_change(request, activity.ticket)


@require_POST
@require_app(App.DESK)
def activity_spam(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = activity_for_member(request.membership, activity_id)
    spam = request.POST.get("spam", "1") != "0"
    activity_set_spam(actor=request.membership, activity=activity, spam=spam, ip=client_ip(request))
    if spam:
        messages.success(
            request, _("“%(subject)s” marked as spam.") % {"subject": activity.subject}
        )
    else:
        messages.success(
            request, _("“%(subject)s” is no longer spam.") % {"subject": activity.subject}
        )
    return _after_change(request, activity.ticket)


@require_POST
@require_app(App.DESK)
def activity_remove(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = activity_for_member(request.membership, activity_id)
    ticket = activity.ticket
    activity_delete(actor=request.membership, activity=activity, ip=client_ip(request))
    messages.success(request, _("“%(subject)s” deleted.") % {"subject": activity.subject})
    return _after_change(request, ticket)


# --- The activities list ---------------------------------------------------------------------
@require_app(App.DESK)
def activity_list(request: HttpRequest) -> HttpResponse:
    """My activities (admins: anyone's), filtered, sorted and paged; a fixed number of
    queries whatever the number of rows."""
    membership = request.membership
    admin = is_desk_admin(membership)
    owners = list(owner_candidates(request.org)) if admin else []
    form = ActivityFilterForm(request.GET, owners=owners)
    form.is_valid()
    filters = form.filters()
    page = activity_page(membership, filters, request.GET.get("page") or 1)
    base = {k: v for k, v in request.GET.items() if k not in ("page", "sort") and v}
    sort_links = {}
    for key in ("due", "subject", "priority", "-created"):
        next_sort = key
        if key == "due" and filters.sort == "due":
            next_sort = "-due"
        sort_links[key.lstrip("-")] = "?" + urlencode({**base, "sort": next_sort})
    page_base = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(
        request,
        "tickets/activities/list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "is_admin": admin,
            "now": timezone.now(),
            "sort_links": sort_links,
            "sort": filters.sort if filters.sort in SORTS else "due",
            "page_query": page_base,
            "here": request.get_full_path(),
        },
    )


# --- The ticket's time panel -----------------------------------------------------------------
def _time_context(
    request: HttpRequest,
    ticket: Ticket,
    form: TimeEntryForm | None = None,
    *,
    from_timer: bool = False,
) -> dict[str, Any]:
    membership = request.membership
    timer = ticket_timer(membership, ticket)
    if form is None:
        form = TimeEntryForm(initial={"work_date": timezone.localdate(), "billable": True})
    return {
        "ticket": ticket,
        "time_form": form,
        "from_timer": from_timer,
        "entries": ticket_time_entries(request.org, ticket),
        "totals": time_totals(org=request.org, ticket=ticket),
        "timer": timer,
        "timer_seconds": timer_seconds(timer),
        "is_admin": is_desk_admin(membership),
        "time_url": _panel_url(request, "ticket_time", ticket),
    }


def _render_time(request: HttpRequest, ticket: Ticket, status: int = 200, **kwargs) -> HttpResponse:
    context = _time_context(request, ticket, **kwargs)
    if request.htmx:
        return render(request, "tickets/activities/_time_panel.html", context)
    return render(request, "tickets/activities/ticket_time.html", context, status=status)


def _time_saved(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    if request.htmx:
        return _render_time(request, ticket)
    return redirect(_panel_url(request, "ticket_time", ticket))


@require_app(App.DESK)
def ticket_time_view(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the time panel. POST: a time entry (`from_timer=1`: the stopped timer's)."""
    ticket = _ticket(request, number)
    if request.method != "POST":
        timer = ticket_timer(request.membership, ticket)
        if request.GET.get("log") == "1" and timer is not None and not timer.running:
            return _render_time(request, ticket, form=_timer_form(timer), from_timer=True)
        return _render_time(request, ticket)
    form = TimeEntryForm(request.POST)
    from_timer = request.POST.get("from_timer") == "1"
    if form.is_valid():
        try:
            time_entry_create(
                actor=request.membership,
                ticket=ticket,
                data=form.time_input(),
                ip=client_ip(request),
                from_timer=from_timer,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Time logged."))
            return _time_saved(request, ticket)
    return _render_time(request, ticket, status=400, form=form, from_timer=from_timer)


def _entry(request: HttpRequest, ticket: Ticket, time_entry_id: int) -> TimeEntry:
    return get_object_or_404(
        TimeEntry.objects.for_org(request.org).select_related("ticket", "user"),
        ticket=ticket,
        pk=time_entry_id,
    )


@require_app(App.DESK)
def time_entry_edit(request: HttpRequest, number: int, time_entry_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    entry = _entry(request, ticket, time_entry_id)
    initial = {
        "minutes": entry.minutes,
        "work_date": entry.work_date,
        "billable": entry.billable,
        "billed": entry.billed,
        "note": entry.note,
    }
    form = TimeEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            time_entry_update(
                actor=request.membership, entry=entry, data=form.time_input(), ip=client_ip(request)
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Time entry saved."))
            return redirect(_panel_url(request, "ticket_time", ticket))
    return render(
        request,
        "tickets/activities/time_entry_form.html",
        {"time_form": form, "entry": entry, "ticket": ticket},
        status=400 if form.errors else 200,
    )


@require_POST
@require_app(App.DESK)
def time_entry_remove(request: HttpRequest, number: int, time_entry_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    entry = _entry(request, ticket, time_entry_id)
    time_entry_delete(actor=request.membership, entry=entry, ip=client_ip(request))
    messages.success(request, _("Time entry deleted."))
    return _time_saved(request, ticket)


def _timer_form(timer: RunningTimer | None) -> TimeEntryForm:
    """The entry form with the (stopped) timer's minutes, for the member to check."""
    minutes = seconds_to_minutes(timer_seconds(timer)) if timer is not None else None
    form = TimeEntryForm(
        initial={"minutes": minutes, "work_date": timezone.localdate(), "billable": True}
    )
    form.fields["minutes"].widget.attrs["data-focus-first"] = ""  # timer.js focuses it
    return form


@require_POST
@require_app(App.DESK)
def ticket_timer_view(request: HttpRequest, number: int) -> HttpResponse:
    """The member's timer on the ticket: start (or resume), pause, stop (then the entry form
    with the timer's minutes, to check and save), discard."""
    ticket = _ticket(request, number)
    action = request.POST.get("action", "")
    membership = request.membership
    if action == "start":
        timer_start(actor=membership, ticket=ticket)
    elif action == "pause":
        timer_pause(actor=membership, ticket=ticket)
    elif action == "discard":
        timer_discard(actor=membership, ticket=ticket)
        messages.info(request, _("Timer discarded."))
    elif action == "stop":
        if timer_stop(actor=membership, ticket=ticket):
            if not request.htmx:  # the stopped timer's entry to check, at an address to reload
                return redirect(_panel_url(request, "ticket_time", ticket) + "?log=1")
            timer = ticket_timer(membership, ticket)
            return _render_time(request, ticket, form=_timer_form(timer), from_timer=True)
    else:
        return HttpResponse(_("Unknown timer action."), status=400)
    return _time_saved(request, ticket)
