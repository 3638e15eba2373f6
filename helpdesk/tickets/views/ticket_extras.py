"""The ticket page's panels (TKT-01, TKT-05, TKT-06, CUS-10): tags, followers, merging,
who else is here (presence), the customer's other tickets and previous/next in the list.

Each panel is a partial template with a context function here, used both by the inclusion
tags that put it on the ticket page (templatetags/ticket_page.py) and by the endpoint that
changes it, which answers htmx with the fresh panel and a plain form post with a redirect."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import client_ip
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import Tag, Ticket, TicketFollower
from ..services.access import OWN, can, ensure_can, ticket_access, ticket_can, ticket_for_member
from ..services.followers import ticket_follow, ticket_unfollow
from ..services.merge import merge_target_for, merged_into, ticket_merge
from ..services.presence import POLL_SECONDS, presence_leave, presence_report
from ..services.tags import tags_suggest, ticket_tag_add, ticket_tag_remove, ticket_tags
from ..ticket_page import customer_recent_tickets, list_query_clean, ticket_neighbours


def _ticket(request: HttpRequest, number: int, *, for_update: bool = False) -> Ticket:
    return ticket_for_member(request.membership, number, for_update=for_update)


def _back(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    return redirect("desk:ticket_detail", portal=request.org.portal, number=ticket.number)


# --- Context of each panel -------------------------------------------------------------------
def tags_context(request: HttpRequest, ticket: Ticket, error: str = "") -> dict[str, Any]:
    return {
        "ticket": ticket,
        "tags": list(ticket_tags(ticket)),
        "can_tag": ticket_can(request.membership, ticket, "edit"),
        "tag_error": error,
    }


def followers_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    people = list(
        TicketFollower.objects.for_org(request.org)
        .filter(ticket=ticket)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    return {
        "ticket": ticket,
        "followers": [f.user for f in people],
        "following": any(f.user_id == request.user.pk for f in people),
    }


def customer_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    contact_tickets, account_tickets = customer_recent_tickets(request.membership, ticket)
    return {
        "ticket": ticket,
        "contact_tickets": contact_tickets,
        "account_tickets": account_tickets,
    }


def neighbours_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    raw = request.GET.get("list", "")
    found = ticket_neighbours(request.membership, ticket, raw) if raw else None
    suffix = f"?{urlencode({'list': found.list_query})}" if found and found.list_query else ""
    return {"ticket": ticket, "neighbours": found, "list_suffix": suffix}


def merge_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    # Merging stays with the ticket's own department, not a department it is shared with.
    own = ticket_access(request.membership, ticket) == OWN
    return {"ticket": ticket, "can_merge": own and can(request.membership, "edit")}


def presence_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    return {"ticket": ticket, "poll_seconds": POLL_SECONDS}


# --- Endpoints -------------------------------------------------------------------------------
@require_app(App.DESK)
def tag_suggest(request: HttpRequest) -> HttpResponse:
    """Tag names for the tag box's list, by the typed prefix (`?tag=`)."""
    names = tags_suggest(org=request.org, prefix=request.GET.get("tag", "")[:50])
    return render(request, "tickets/_tags.html#suggestions", {"names": names})


def _tags_answer(request: HttpRequest, ticket: Ticket, error: str = "") -> HttpResponse:
    if request.htmx:
        return render(
            request, "tickets/_tags.html", tags_context(request, ticket, error), status=200
        )
    if error:
        messages.error(request, error)
    return _back(request, ticket)


@require_POST
@require_app(App.DESK)
def ticket_tag_add_view(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    error = ""
    try:
        names = [n for n in request.POST.get("tag", "").split(",") if n.strip()] or [""]
        for name in names[:10]:
            ticket_tag_add(
                actor=request.membership, ticket=ticket, name=name, ip=client_ip(request)
            )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    return _tags_answer(request, ticket, error)


@require_POST
@require_app(App.DESK)
def ticket_tag_remove_view(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    tag_id = request.POST.get("tag", "")
    tag = (
        Tag.objects.for_org(request.org).filter(pk=int(tag_id)).first()
        if tag_id.isdigit()
        else None
    )
    if tag is None:
        raise Http404
    ticket_tag_remove(actor=request.membership, ticket=ticket, tag=tag, ip=client_ip(request))
    return _tags_answer(request, ticket)


@require_POST
@require_app(App.DESK)
def ticket_follow_view(request: HttpRequest, number: int) -> HttpResponse:
    """Follow (`action=follow`) or stop following (`action=unfollow`) the ticket."""
    ticket = _ticket(request, number)
    if request.POST.get("action") == "unfollow":
        ticket_unfollow(actor=request.membership, ticket=ticket)
        done = _("You no longer follow this ticket.")
    else:
        ticket_follow(actor=request.membership, ticket=ticket)
        done = _("You follow this ticket: replies and status changes will be mailed to you.")
    if request.htmx:
        return render(request, "tickets/_followers.html", followers_context(request, ticket))
    messages.success(request, done)
    return _back(request, ticket)


@require_app(App.DESK)
def ticket_merge_view(request: HttpRequest, number: int) -> HttpResponse:
    """Merge this ticket into another: the number is asked, then the merge is confirmed on a
    page that shows both tickets (it cannot be undone)."""
    source = _ticket(request, number)
    ensure_can(request.membership, "edit")
    raw = (request.POST.get("target") or request.GET.get("target") or "").strip().lstrip("#")
    target, error = None, ""
    if raw:
        try:
            target = merge_target_for(
                actor=request.membership, source=source, number=int(raw) if raw.isdigit() else 0
            )
            if target.pk == source.pk:
                raise ValidationError(_("A ticket cannot be merged into itself."))
        except ValidationError as exc:
            error, target = " ".join(exc.messages), None
    if request.method == "POST" and target is not None and request.POST.get("confirm") == "1":
        try:
            target = ticket_merge(
                actor=request.membership, source=source, target=target, ip=client_ip(request)
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("Ticket #%(source)s was merged into this ticket.") % {"source": source.number},
            )
            return redirect("desk:ticket_detail", portal=request.org.portal, number=target.number)
    return render(
        request,
        "tickets/merge.html",
        {"ticket": source, "target": target, "error": error, "raw": raw[:20]},
        status=400 if error else 200,
    )


@require_POST
@require_app(App.DESK)
def ticket_presence(request: HttpRequest, number: int) -> HttpResponse:
    """Record that this member has the ticket open (`writing=1` while they write a reply)
    and answer with who else is on it now; `leave=1` drops the record."""
    ticket = _ticket(request, number)
    if request.POST.get("leave") == "1":
        presence_leave(ticket=ticket, user=request.user)
        return HttpResponse(status=204)
    others = presence_report(
        ticket=ticket, user=request.user, writing=request.POST.get("writing") == "1"
    )
    return render(
        request,
        "tickets/_presence.html#people",
        {"others": others, "ticket": ticket},
    )


def merged_redirect(request: HttpRequest, ticket: Ticket) -> HttpResponse | None:
    """A merged ticket's page leads to the ticket it was merged into (closed tickets only:
    merging closes the source, so open tickets cost no query)."""
    if not ticket.is_closed:
        return None
    target = merged_into(ticket)
    if target is None:
        return None
    messages.info(
        request,
        _("Ticket #%(source)s was merged into #%(target)s.")
        % {"source": ticket.number, "target": target.number},
    )
    url = reverse(
        "desk:ticket_detail", kwargs={"portal": request.org.portal, "number": target.number}
    )
    query = list_query_clean(request.GET.get("list", ""))
    return redirect(url + (f"?{urlencode({'list': query})}" if query else ""))


urlpatterns = [
    path("tags/suggest/", tag_suggest, name="tag_suggest"),
    path("tickets/<int:number>/tags/", ticket_tag_add_view, name="ticket_tag_add"),
    path("tickets/<int:number>/tags/remove/", ticket_tag_remove_view, name="ticket_tag_remove"),
    path("tickets/<int:number>/follow/", ticket_follow_view, name="ticket_follow"),
    path("tickets/<int:number>/merge/", ticket_merge_view, name="ticket_merge"),
    path("tickets/<int:number>/presence/", ticket_presence, name="ticket_presence"),
]
