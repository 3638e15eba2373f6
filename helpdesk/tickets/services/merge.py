"""Merging a ticket into another (TKT-01, TKT-05): the source's thread, attachments, history,
tags and followers move to the target; both histories say so; the source is closed and its
page leads to the target. Mail keeps threading: the moved entries keep their Message-IDs,
and every id the source's mail carried (its references included) is kept as an alias of the
target, so an answer to any of them finds the target."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BigIntegerField, Func, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import (
    Attachment,
    StatusKind,
    Thread,
    Ticket,
    TicketFollower,
    TicketHistory,
    TicketMailAlias,
    TicketMerge,
    TicketStatus,
    TicketTag,
)
from .access import department_ids, ensure_can
from .history import history_record
from .threads import reply_figures_update
from .tickets import search_index_update


def merged_into(ticket: Ticket) -> Ticket | None:
    """The ticket `ticket` was merged into, or None. One query: a later merge of the target
    repoints earlier merges (see `ticket_merge`), so there is never a chain to follow."""
    row = (
        TicketMerge.objects.for_org(ticket.org_id)
        .filter(source_id=ticket.pk)
        .select_related("target")
        .first()
    )
    return row.target if row else None


def ticket_for_message_ids(*, org: Organization, message_ids: list[str]) -> Ticket | None:
    """The ticket an incoming mail answers, from its In-Reply-To and References ids: a thread
    entry that carries one of them, else a merged ticket's alias; newest ids first."""
    ids = [m.strip() for m in message_ids if m and m.strip()]
    if not ids:
        return None
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(_BY_MESSAGE_IDS, [org.pk, ids, org.pk, ids])
        for message_id, ticket_id in cursor.fetchall():  # thread entries first
            found.setdefault(message_id, ticket_id)
    for message_id in reversed(ids):
        if message_id in found:
            return _ticket_or_its_target(org_id=org.pk, pk=found[message_id])
    return None


# Every incoming reply runs these two (mail ingestion, TKT-07): the thread entries', then the
# merged tickets' aliases' matches in one statement, and the ticket (or the ticket it was
# merged into) in one whose SQL is compiled once per process. `message_id <> ''` repeats the
# predicate of the thread entries' partial index on (org, message_id), which a generic plan of
# the prepared statement could not use otherwise (mailin/services.py, `_BY_MESSAGE_ID`).
_BY_MESSAGE_IDS = f"""
SELECT message_id, ticket_id FROM {Thread._meta.db_table}
WHERE org_id = %s AND message_id = ANY(%s) AND message_id <> ''
UNION ALL
SELECT message_id, ticket_id FROM {TicketMailAlias._meta.db_table}
WHERE org_id = %s AND message_id = ANY(%s)
"""  # noqa: S608 - constants only


class _Scalar(Func):
    """`(SELECT expression)`: PostgreSQL computes it once, before the scan, as a parameter.
    Under row-level security a condition on the ticket's id with a `COALESCE` in it is kept
    until after the policy (PostgreSQL trusts no `COALESCE` to leak nothing), so the ticket
    could not be found by its primary key: each incoming reply read every ticket of the
    organization (bench/mail_ingest.py). `id = (SELECT ...)` compares with a parameter, which
    it trusts."""

    template = "(SELECT %(expressions)s)"


_ticket_or_its_target: CompiledRead[Ticket] = CompiledRead(
    lambda org_id, pk: (
        Ticket.objects.for_org(org_id)
        .filter(
            pk=_Scalar(
                Coalesce(
                    Subquery(
                        TicketMerge.objects.for_org(org_id)
                        .filter(source_id=pk)
                        .values("target_id")[:1]
                    ),
                    Value(pk),
                    output_field=BigIntegerField(),
                ),
                output_field=BigIntegerField(),
            ),
        )
        .defer("search_vector")
    )
)


def _closed_status(ticket: Ticket) -> TicketStatus:
    status = (
        TicketStatus.objects.for_org(ticket.org_id)
        .filter(department=ticket.department_id, kind=StatusKind.CLOSED)
        .order_by("order", "pk")
        .first()
    )
    if status is None:
        raise ValidationError(
            _("%(department)s has no closed status, so the ticket cannot be merged.")
            % {"department": ticket.department}
        )
    return status


@transaction.atomic
def ticket_merge(
    *, actor: Membership, source: Ticket, target: Ticket, ip: str | None = None
) -> Ticket:
    """Merge `source` into `target` and return the target. Both rows are locked in id order
    (two merges of the same pair, in either direction, queue rather than deadlock), then read
    again under the lock, so a merge that raced this one is seen and refused."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, source, target)
    allowed = department_ids(actor)
    for ticket in (source, target):
        if allowed is not None and ticket.department_id not in allowed:
            raise Http404
    if source.pk == target.pk:
        raise ValidationError({"target": _("A ticket cannot be merged into itself.")})
    org = actor.org
    locked = {
        t.pk: t
        for t in Ticket.objects.for_org(org)
        .filter(pk__in=[source.pk, target.pk])
        .select_related("status", "department")
        .defer("search_vector")
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    merged = set(
        TicketMerge.objects.for_org(org)
        .filter(source_id__in=[source.pk, target.pk])
        .values_list("source_id", flat=True)
    )
    if source.pk in merged:
        raise ValidationError({"target": _("This ticket has already been merged.")})
    if target.pk in merged:
        raise ValidationError(
            {
                "target": _("Ticket #%(number)s was merged into another ticket.")
                % {"number": target.number}
            }
        )
    source, target = locked[source.pk], locked[target.pk]
    closed = _closed_status(source)

    # Message-IDs the source's mail carried: kept as the target's aliases.
    aliases: set[str] = set()
    for message_id, in_reply_to, references in (
        Thread.objects.for_org(org)
        .filter(ticket=source)
        .values_list("message_id", "in_reply_to", "references")
    ):
        aliases.update(x for x in (message_id, in_reply_to, *references.split()) if x)
    aliases.update(
        TicketMailAlias.objects.for_org(org)
        .filter(ticket=source)
        .values_list("message_id", flat=True)
    )
    TicketMailAlias.objects.for_org(org).filter(ticket=source).delete()
    TicketMailAlias.objects.bulk_create(
        [TicketMailAlias(org=org, ticket=target, message_id=m[:255]) for m in sorted(aliases)],
        ignore_conflicts=True,
    )

    Thread.objects.for_org(org).filter(ticket=source).update(ticket=target)
    # The source's customer messages and replies now count on the target (CUS-03).
    reply_figures_update(org_id=org.pk, ticket_ids=[source.pk, target.pk])
    Attachment.objects.for_org(org).filter(ticket=source).update(ticket=target)
    TicketHistory.objects.for_org(org).filter(ticket=source).update(ticket=target)
    target_tags = TicketTag.objects.for_org(org).filter(ticket=target).values("tag_id")
    TicketTag.objects.for_org(org).filter(ticket=source).exclude(tag_id__in=target_tags).update(
        ticket=target
    )
    TicketTag.objects.for_org(org).filter(ticket=source).delete()
    target_followers = TicketFollower.objects.for_org(org).filter(ticket=target).values("user_id")
    TicketFollower.objects.for_org(org).filter(ticket=source).exclude(
        user_id__in=target_followers
    ).update(ticket=target)
    TicketFollower.objects.for_org(org).filter(ticket=source).delete()
    # Earlier merges into the source now lead straight to the target.
    TicketMerge.objects.for_org(org).filter(target=source).update(target=target)
    TicketMerge.objects.create(org=org, source=source, target=target, actor=actor.user)

    now = timezone.now()
    before_status = source.status.name
    changes = {"status": [before_status, closed.name]} if source.status_id != closed.pk else {}
    Ticket.objects.for_org(org).filter(pk=source.pk).update(
        status=closed,
        status_kind=closed.kind,
        closed_at=source.closed_at or now,
        updated_at=now,
        last_activity_at=now,
    )
    source.status, source.status_kind = closed, closed.kind
    history_record(
        ticket=source,
        actor=actor.user,
        ip=ip,
        action="merged_into",
        changes={"merged_into": [None, f"#{target.number} {target.subject}"], **changes},
    )
    history_record(
        ticket=target,
        actor=actor.user,
        ip=ip,
        action="merged_from",
        changes={
            "merged_from": [None, f"#{source.number} {source.subject}"],
        },
    )
    # A merge is activity on both: the list sorts by it (TKT-06).
    Ticket.objects.for_org(org).filter(pk=target.pk).update(updated_at=now, last_activity_at=now)
    search_index_update(target)
    search_index_update(source)
    return target


def merge_target_for(*, actor: Membership, source: Ticket, number: int) -> Ticket:
    """The ticket numbered `number` that the member may merge `source` into (a form's field
    error otherwise: the same words for 'missing' and 'not yours')."""
    from .access import visible_tickets

    target = visible_tickets(actor).filter(number=number).defer("search_vector").first()
    if target is None:
        raise ValidationError({"target": _("No ticket #%(number)s.") % {"number": number}})
    return target


__all__ = ["merge_target_for", "merged_into", "ticket_for_message_ids", "ticket_merge"]
