"""The Activities tab of a contact or an account (CUS-05): the calls, events and tasks of the
record or of its tickets (an account's: also its contacts' and their tickets'), as Upcoming,
All and Spam with their counts; a new one made here is linked to the record; complete and
spam act on one row.

The tab answers an HTML fragment (the record page renders it in place, or loads it with htmx
into `#tab-panel`). Without JavaScript, its links go to the record page with the tab open, and
its forms post here and are redirected there; a refused form is shown in place with status
400 (inside a page of its own when the post was not htmx's). Reads and writes go through the
activities' selectors and services (helpdesk.tickets.activities)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip
from helpdesk.tickets.activities.forms import ActivityForm
from helpdesk.tickets.activities.models import ActivityKind, ActivityStatus
from helpdesk.tickets.activities.selectors import (
    CUSTOMER_SCOPES,
    customer_activity_counts,
    customer_activity_page,
    customer_activity_queryset,
)
from helpdesk.tickets.activities.services import (
    activity_create,
    activity_for_member,
    activity_set_done,
    activity_set_spam,
)

from .. import services
from ..models import Account, Contact
from .common import tab_record, tab_urls

TAB = "activities"


def _scope(request: HttpRequest) -> str:
    scope = request.GET.get("view", "")
    return scope if scope in CUSTOMER_SCOPES else "upcoming"


def _new_form(request: HttpRequest) -> ActivityForm:
    form = ActivityForm(
        org=request.org,
        initial={
            "kind": ActivityKind.TASK,
            "owner": request.membership.user_id,
            "status": ActivityStatus.OPEN,
            "priority": "medium",
        },
    )
    return form


def _context(
    request: HttpRequest, kind: str, record: Contact | Account, form: ActivityForm | None
) -> dict[str, Any]:
    member = request.membership
    scope = _scope(request)
    record_kw = {kind: record}
    counts = customer_activity_counts(member, **record_kw)
    page = customer_activity_page(
        member, **record_kw, scope=scope, page=request.GET.get("apage") or 1, count=counts[scope]
    )
    urls = tab_urls(request, kind, record, TAB)
    filters = []
    for key, label in (("upcoming", _("Upcoming")), ("all", _("All")), ("spam", _("Spam"))):
        query = urlencode({"view": key})
        filters.append(
            {
                "key": key,
                "label": label,
                "count": counts[key],
                "hx": f"{urls['tab']}?{query}",
                "href": f"{urls['page']}?{urlencode({'tab': TAB, 'view': key})}",
            }
        )

    def page_link(number: int) -> dict[str, str]:
        query = {"view": scope, "apage": number}
        return {
            "hx": f"{urls['tab']}?{urlencode(query)}",
            "href": f"{urls['page']}?{urlencode({'tab': TAB, **query})}",
        }

    can_edit = services.can(member, "edit")
    return {
        "kind": kind,
        "record": record,
        "scope": scope,
        "filters": filters,
        "page": page,
        "prev_link": page_link(page.previous_page_number()) if page.has_previous() else None,
        "next_link": page_link(page.next_page_number()) if page.has_next() else None,
        "now": timezone.now(),
        "can_edit": can_edit,
        "form": (form or _new_form(request)) if can_edit else None,
        "tab_url": urls["tab"],
        "here": f"{urls['tab']}?{urlencode({'view': scope, 'apage': page.number})}",
        "page_url": urls["page"],
    }


def _render(
    request: HttpRequest,
    kind: str,
    record: Contact | Account,
    form: ActivityForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _context(request, kind, record, form)
    if status != 200 and not request.htmx:  # a plain form post: a page around the tab
        context["tab_template"] = "customers/tabs/activities.html"
        return render(request, "customers/tabs/_standalone.html", context, status=status)
    return render(request, "customers/tabs/activities.html", context, status=status)


def _back(request: HttpRequest, kind: str, record: Contact | Account) -> HttpResponse:
    """After a change: the fresh tab for htmx, else the record page with the tab open."""
    if request.htmx:
        return _render(request, kind, record)
    query = {"tab": TAB, "view": _scope(request)}
    return redirect(f"{tab_urls(request, kind, record, TAB)['page']}?{urlencode(query)}")


def _tab(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """GET: the tab. POST: a new call, event or task linked to the record."""
    record = tab_record(request, kind, record_id)
    if request.method != "POST":
        return _render(request, kind, record)
    services.ensure_can(request.membership, "edit")
    form = ActivityForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            activity = activity_create(
                actor=request.membership,
                data=form.activity_input(),
                **{kind: record},
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("“%(subject)s” added.") % {"subject": activity.subject})
            return _back(request, kind, record)
    return _render(request, kind, record, form, status=400)


def contact_activities(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _tab(request, "contact", contact_id)


def account_activities(request: HttpRequest, account_id: int) -> HttpResponse:
    return _tab(request, "account", account_id)


ACTIONS = {
    "done": (activity_set_done, {"done": True}, gettext_lazy("“%(subject)s” completed.")),
    "reopen": (activity_set_done, {"done": False}, gettext_lazy("“%(subject)s” opened again.")),
    "spam": (activity_set_spam, {"spam": True}, gettext_lazy("“%(subject)s” marked as spam.")),
    "not_spam": (
        activity_set_spam,
        {"spam": False},
        gettext_lazy("“%(subject)s” is no longer spam."),
    ),
}


def _action(request: HttpRequest, kind: str, record_id: int, activity_id: int) -> HttpResponse:
    """Complete, reopen, mark as spam or not: one activity of this record's tab."""
    record = tab_record(request, kind, record_id, permission="edit")
    activity = activity_for_member(request.membership, activity_id)
    mine = customer_activity_queryset(request.membership, **{kind: record})
    if not mine.filter(pk=activity.pk).exists():
        raise Http404
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponse(_("Unknown action."), status=400)
    service, flags, done = action
    service(actor=request.membership, activity=activity, ip=client_ip(request), **flags)
    messages.success(request, str(done) % {"subject": activity.subject})
    return _back(request, kind, record)


@require_POST
def contact_activity_action(request: HttpRequest, contact_id: int, activity_id: int):
    return _action(request, "contact", contact_id, activity_id)


@require_POST
def account_activity_action(request: HttpRequest, account_id: int, activity_id: int):
    return _action(request, "account", account_id, activity_id)
