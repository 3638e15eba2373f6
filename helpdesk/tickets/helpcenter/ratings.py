"""Satisfaction ratings (TKT-04): good / okay / bad with a comment, one per ticket, changeable,
given by the ticket's contact through a signed link in the closing mail or in the help center.

The link is signed per ticket and contact (and the organization, in the salt); it works
without signing in and keeps working for `RATING_LINK_DAYS`, so the rating can be changed.
Each rating or change writes a history row on the ticket. The closing mail is sent once per
closing: `rating_request` is called by the ticket service that closes, inside its
transaction, and the task claims the mail in the cache."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Organization

from ..models import StatusKind, Ticket
from ..services.history import history_record
from .mails import rating_salt
from .models import Rating, RatingValue

RATING_LINK_DAYS = 60
COMMENT_MAX = 2000


@dataclass(frozen=True)
class RatingLink:
    ticket: Ticket
    contact: Contact


def rating_link_read(*, org: Organization, token: str) -> RatingLink | None:
    """The ticket and contact a rating link names in `org`; None when the link is forged, of
    another portal, too old, or the ticket no longer has that contact."""
    try:
        data = signing.loads(token, salt=rating_salt(org.pk), max_age=RATING_LINK_DAYS * 86400)
        ticket_id, contact_id = int(data["t"]), int(data["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    ticket = (
        Ticket.objects.for_org(org)
        .filter(pk=ticket_id, contact_id=contact_id)
        .select_related("contact", "department")
        .defer("search_vector")
        .first()
    )
    if ticket is None or ticket.contact is None:
        return None
    return RatingLink(ticket=ticket, contact=ticket.contact)


def rating_for(ticket: Ticket) -> Rating | None:
    return Rating.objects.for_org(ticket.org_id).filter(ticket=ticket).first()


@transaction.atomic
def rating_set(
    *, ticket: Ticket, contact: Contact, value: str, comment: str = "", ip: str | None = None
) -> Rating:
    """Rate the ticket as its contact, or change the rating. Only closed tickets are rated;
    the contact must be the ticket's (the caller read the ticket through the customer's
    tickets or a rating link). History row "rated" with the before/after values."""
    ensure_same_org(ticket.org, contact)
    # Lock the ticket: two submissions at once make one rating, the later one wins.
    locked = (
        Ticket.objects.for_org(ticket.org_id)
        .filter(pk=ticket.pk)
        .select_for_update()
        .values("status_kind", "owner_id", "department_id", "contact_id", "account_id")
        .first()
    )
    if locked is None:
        raise ValidationError(_("This ticket no longer exists."))
    errors: dict[str, list[str]] = {}
    if value not in RatingValue.values:
        errors["value"] = [_("Choose good, okay or bad.")]
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [_("Keep the comment under %(max)d characters.") % {"max": COMMENT_MAX}]
    if locked["status_kind"] != StatusKind.CLOSED:
        errors["value"] = [_("You can rate the answer once the ticket is closed.")]
    if errors:
        raise ValidationError(errors)
    rating = Rating.objects.for_org(ticket.org_id).filter(ticket=ticket).first()
    before = (rating.value, rating.comment) if rating is not None else (None, None)
    if rating is None:
        rating = Rating(org_id=ticket.org_id, ticket=ticket)
    rating.contact = contact
    rating.value = value
    rating.comment = comment
    rating.department_id = locked["department_id"]
    rating.agent_id = locked["owner_id"]
    rating.rated_at = timezone.now()
    rating.full_clean(exclude=["org", "ticket", "contact", "department", "agent"])
    rating.save()
    changes = {}
    if before[0] != value:
        changes["rating"] = [before[0], value]
    if (before[1] or "") != comment:
        changes["rating_comment"] = [before[1] or None, comment or None]
    if changes:
        history_record(ticket=ticket, actor=None, ip=ip, action="rated", changes=changes)
    return rating


# --- The closing mail ----------------------------------------------------------------------------
def rating_request(ticket: Ticket) -> None:
    """Called by the service that closes `ticket`, inside its transaction: the contact gets
    the rating mail after commit (if the help center's setting asks for it)."""
    if ticket.contact_id is None:
        return
    from .tasks import rating_mail_task

    transaction.on_commit(partial(rating_mail_task.delay, ticket.org_id, ticket.pk))
