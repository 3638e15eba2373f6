"""The Desk's part of a user's data export (ORG-06): registered with tenancy's export at start
(`TicketsConfig.ready`), since tenancy may not import tickets."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from helpdesk.tenancy.models import Organization, User

from .models import Attachment, Thread, Ticket, TicketHistory


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def user_desk_data(*, org: Organization, user: User) -> dict[str, Any]:
    """Tickets the user created or owns, thread entries and history rows they wrote, and the
    attachments they uploaded (metadata, not the files), in `org` only."""
    tickets = (
        Ticket.objects.for_org(org)
        .filter(Q(created_by=user) | Q(owner=user))
        .select_related("department", "status")
        .order_by("number")
    )
    threads = (
        Thread.objects.for_org(org)
        .filter(author=user)
        .select_related("ticket")
        .order_by("created_at", "pk")
    )
    history = (
        TicketHistory.objects.for_org(org)
        .filter(actor=user)
        .select_related("ticket")
        .order_by("created_at", "pk")
    )
    attachments = (
        Attachment.objects.for_org(org)
        .filter(uploaded_by=user)
        .select_related("ticket")
        .order_by("created_at", "pk")
    )
    return {
        "tickets": [
            {
                "number": t.number,
                "subject": t.subject,
                "department": t.department.name,
                "status": t.status.name,
                "priority": t.priority,
                "created_by_user": t.created_by_id == user.pk,
                "owned_by_user": t.owner_id == user.pk,
                "created_at": _iso(t.created_at),
                "closed_at": _iso(t.closed_at),
            }
            for t in tickets
        ],
        "thread_entries": [
            {
                "ticket": th.ticket.number,
                "kind": th.kind,
                "to": th.to,
                "cc": th.cc,
                "body": th.body,
                "created_at": _iso(th.created_at),
            }
            for th in threads
        ],
        "history": [
            {
                "ticket": h.ticket.number,
                "action": h.action,
                "changes": h.changes,
                "ip_address": h.ip_address,
                "created_at": _iso(h.created_at),
            }
            for h in history
        ],
        "attachments": [
            {
                "ticket": a.ticket.number,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "created_at": _iso(a.created_at),
            }
            for a in attachments
        ],
    }
