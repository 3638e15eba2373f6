"""Desk tickets linked to deals (CRM-12).

A sales user links desk tickets of the CRM's customers to a deal, so the support team sees
which tickets weigh on a sale and the deal shows them in its related list; unlinking removes
the link only (the ticket stays as it is on the desk).

**Who may**: linking and unlinking change the deal's related list, so they are an edit of
the deal (`ensure_can(actor, "edit", deal)`: its owner or a CRM admin, read under a row lock
of the deal). A desk account is not needed: the link is the CRM's own row.

**Which tickets**: tickets of the CRM's working desk that the CRM may open
(`crmsync.desk_tickets.ticket_reachable`: the ticket of a linked contact or account, or already
linked to a deal). Any other number (another organization's ticket, a ticket of a customer the
sync has not linked, a number that does not exist) refuses the whole request, naming the
numbers: nothing is linked.

**Idempotent**: linking a ticket twice keeps one link (the unique constraint, and the deal's
row lock serialises two linkers); unlinking a ticket that is not linked changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import Ticket

from ..desk_tickets import DeskView, desk_view, ticket_reachable
from ..models import Deal, DealTicket
from .access import ensure_can

MAX_TICKETS = 100  # tickets linked in one request


def _locked_deal(actor: Membership, deal: Deal) -> Deal:
    """The deal as stored, locked; the actor must be allowed to edit it."""
    ensure_same_org(actor.org, deal)
    stored = Deal.objects.for_org(actor.org).select_for_update().filter(pk=deal.pk).first()
    if stored is None:
        raise ValidationError(_("This deal no longer exists."))
    ensure_can(actor, "edit", stored)
    return stored


def _working_desk(actor: Membership) -> DeskView:
    desk = desk_view(actor)
    if desk is None:
        raise ValidationError(
            _("The desk integration is not working now: tickets cannot be linked or unlinked.")
        )
    return desk


def _numbers_text(numbers: Iterable[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)


@transaction.atomic
def deal_tickets_link(*, actor: Membership, deal: Deal, ticket_numbers: Iterable[int]) -> int:
    """Link these desk tickets (by number) to the deal; returns how many links are new.
    All or nothing: one ticket the CRM may not link refuses them all."""
    numbers = sorted(set(ticket_numbers))
    if not numbers:
        raise ValidationError({"tickets": _("Choose at least one ticket to link.")})
    if len(numbers) > MAX_TICKETS:
        raise ValidationError(
            {"tickets": _("Link at most %(max)d tickets at a time.") % {"max": MAX_TICKETS}}
        )
    deal = _locked_deal(actor, deal)
    desk = _working_desk(actor)
    with desk.scope():
        found = {
            t.number: t
            for t in Ticket.objects.for_org(desk.desk_org)
            .select_related("contact")
            .filter(number__in=numbers)
        }
    # The ticket and its contact are read; what remains are the CRM's rows (links, deal
    # links), read in the CRM's own scope.
    refused = [n for n in numbers if n not in found or not ticket_reachable(desk, found[n])]
    if refused:
        raise ValidationError(
            {
                "tickets": ngettext(
                    "Ticket %(numbers)s cannot be linked: it is not a desk ticket of one of "
                    "this CRM's customers. Nothing was linked.",
                    "Tickets %(numbers)s cannot be linked: they are not desk tickets of this "
                    "CRM's customers. Nothing was linked.",
                    len(refused),
                )
                % {"numbers": _numbers_text(refused)}
            }
        )
    links = DealTicket.objects.for_org(actor.org).filter(integration=desk.integration, deal=deal)
    ids = [found[n].pk for n in numbers]
    existing = set(links.filter(ticket_id__in=ids).values_list("ticket_id", flat=True))
    new = [
        DealTicket(
            org=actor.org,
            integration=desk.integration,
            deal=deal,
            ticket_id=ticket_id,
            linked_by=actor.user,
        )
        for ticket_id in ids
        if ticket_id not in existing
    ]
    DealTicket.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def deal_ticket_unlink(*, actor: Membership, deal: Deal, ticket_number: int) -> bool:
    """Remove the link of this desk ticket (by number) to the deal; False when it was not
    linked (nothing changes)."""
    deal = _locked_deal(actor, deal)
    desk = _working_desk(actor)
    with desk.scope():
        ticket_id = (
            Ticket.objects.for_org(desk.desk_org)
            .filter(number=ticket_number)
            .values_list("pk", flat=True)
            .first()
        )
    if ticket_id is None:
        return False
    deleted, _rows = (
        DealTicket.objects.for_org(actor.org)
        .filter(integration=desk.integration, deal=deal, ticket_id=ticket_id)
        .delete()
    )
    return bool(deleted)
