"""Ticket tags (TKT-01): the organization's tags, added to and removed from tickets with a
history row each. Agents who may edit a ticket may tag it; a new name makes a new tag."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import Tag, Ticket, TicketTag
from .access import ensure_ticket_can
from .history import history_record

TAG_MAX_LENGTH = 50
SUGGESTIONS = 10


def tag_clean_name(name: str) -> str:
    """A tag's name as stored: trimmed, inner whitespace collapsed; refused when empty, too
    long or holding a comma (commas separate tags where people type several)."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError({"tag": _("Enter a tag.")})
    if len(cleaned) > TAG_MAX_LENGTH:
        raise ValidationError(
            {"tag": _("A tag has at most %(count)d characters.") % {"count": TAG_MAX_LENGTH}}
        )
    if "," in cleaned:
        raise ValidationError({"tag": _("A tag cannot contain a comma.")})
    return cleaned


def tags_suggest(*, org: Organization, prefix: str) -> list[str]:
    """Up to SUGGESTIONS tag names starting with `prefix` (any case), in alphabetical order."""
    prefix = " ".join((prefix or "").split())[:TAG_MAX_LENGTH]
    qs = Tag.objects.for_org(org)
    if prefix:
        qs = qs.filter(name__istartswith=prefix)
    return list(qs.order_by(Lower("name"), "pk").values_list("name", flat=True)[:SUGGESTIONS])


def ticket_tags(ticket: Ticket) -> QuerySet[Tag]:
    return (
        Tag.objects.for_org(ticket.org_id)
        .filter(ticket_tags__ticket=ticket)
        .order_by(Lower("name"), "pk")
    )


def _ensure_may_edit(actor: Membership, ticket: Ticket) -> None:
    ensure_ticket_can(actor, ticket, "edit")  # a shared ticket: only with full access (TKT-04)


def _tag_get_or_create(org: Organization, name: str) -> Tag:
    tag = Tag.objects.for_org(org).filter(name__iexact=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():  # a concurrent creator of the same name wins; use theirs
            return Tag.objects.create(org=org, name=name)
    except IntegrityError:
        return Tag.objects.for_org(org).get(name__iexact=name)


@transaction.atomic
def ticket_tag_add(
    *, actor: Membership, ticket: Ticket, name: str, ip: str | None = None
) -> Tag | None:
    """Tag the ticket (the tag is made if the organization has none of that name). Returns
    the tag, or None when the ticket already had it (nothing written)."""
    _ensure_may_edit(actor, ticket)
    tag = _tag_get_or_create(actor.org, tag_clean_name(name))
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
