"""Ticket tags (TKT-01): the organization's tags, added to and removed from tickets with a
history row each. Agents who may edit a ticket may tag it; a new name makes a new tag.

The tags themselves (one model for tickets, contacts and accounts) are the customer records'
layer's: names are cleaned, found or made and suggested by `customers.services`, re-exported
here for the ticket pages."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower

from customers.services import (  # noqa: F401  (re-exported for the ticket pages)
    TAG_MAX_LENGTH,
    TAG_SUGGESTIONS,
    tag_clean_name,
    tag_get_or_create,
    tags_suggest,
)
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership

from ..models import Tag, Ticket, TicketTag
from .access import ensure_ticket_can
from .history import history_record

SUGGESTIONS = TAG_SUGGESTIONS


def ticket_tags(ticket: Ticket) -> QuerySet[Tag]:
    return (
        Tag.objects.for_org(ticket.org_id)
        .filter(ticket_tags__ticket=ticket)
        .order_by(Lower("name"), "pk")
    )


def _ensure_may_edit(actor: Membership, ticket: Ticket) -> None:
    ensure_ticket_can(actor, ticket, "edit")  # a shared ticket: only with full access (TKT-04)


@transaction.atomic
def ticket_tag_add(
    *, actor: Membership, ticket: Ticket, name: str, ip: str | None = None
) -> Tag | None:
    """Tag the ticket (the tag is made if the organization has none of that name). Returns
    the tag, or None when the ticket already had it (nothing written)."""
    _ensure_may_edit(actor, ticket)
    tag = tag_get_or_create(actor.org, tag_clean_name(name))
    link, created = TicketTag.objects.get_or_create(org=actor.org, ticket=ticket, tag=tag)
    if not created:
        return None
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="tag_added",
        changes={"tags": [None, tag.name]},
    )
    return tag


@transaction.atomic
def ticket_tag_remove(
    *, actor: Membership, ticket: Ticket, tag: Tag, ip: str | None = None
) -> bool:
    """Take the tag off the ticket; False when it was not on it. The tag itself stays."""
    _ensure_may_edit(actor, ticket)
    ensure_same_org(actor.org, tag)
    deleted, _rows = TicketTag.objects.for_org(actor.org).filter(ticket=ticket, tag=tag).delete()
    if not deleted:
        return False
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="tag_removed",
        changes={"tags": [tag.name, None]},
    )
    return True
