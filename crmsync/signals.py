"""Sales signals (CRM-14): the CRM's users hear of what happens to the desk tickets of the
contacts, accounts and deals they own.

- **Events** come from the ticket history (`history_listen`, registered in
  `CrmsyncConfig.ready`): "created" is a new ticket, "comment" a new comment, "reply" (the
  agent's) and "incoming" (the customer's message) a new reply, "escalated" an SLA escalation
  and "rated" a new rating (a change of the rating's value: a rating whose comment alone is
  edited is not a new rating). A forward is not a reply: it goes to a third party, outside
  the conversation with the customer. "Overdue" has no history row: a beat task sweeps the
  tickets whose due date passed (`overdue_sweep`), and a history row that sets a due date
  already past signals it at once.
- **Cost**: the listener runs inside every ticket write. It maps the action first, then reads
  the CRMs syncing with the ticket's desk from the cache (`connector.desk_integrations`);
  with none it returns, having made no query. Otherwise it enqueues, after commit, one task
  per live integration: the work happens in Celery, under the CRM organization's scope.
- **Recipients**: the ticket's contact and account (and its contact's account: an account's
  tickets include its contacts', as the CRM's ticket lists count them) are mapped through
  the integration's `SyncLink`s to the CRM's contact and accounts; the deals linked to the ticket
  (`DealTicket`) are added. Their owners who are active CRM users get one signal each, for
  the first reason in the order contact, account, deal; the person who caused the event does
  not. A user's `SignalPreference` picks the events (no row: all, in the app only) and may
  ask for a mail as well (one mail per signal, in their language, after commit).
- **Once**: `detail` holds the event's identity: "h:<history row id>" for a history event,
  "due:<due date, ISO>" for an overdue ticket. A transaction-scoped advisory lock per CRM and
  ticket serialises two deliveries of the same event, which then finds the rows the first one
  wrote and adds none: a task delivered twice, or two sweeps racing, make one signal.
- **Working integration**: nothing is signalled through an integration that cannot work now
  (`integration_problem`: deactivated, its authoriser gone, its key revoked) or that was
  removed (the signals go with it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.mail import build_email
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Membership, Organization
from helpdesk.tenancy.rls import tenant_scope
from helpdesk.tickets import pipeline
from helpdesk.tickets.models import StatusKind, Ticket, TicketHistory

from .connector import DeskConnector, crm_desks, desk_integrations
from .models import (
    CrmAccount,
    CrmContact,
    DealTicket,
    Integration,
    SalesSignal,
    SignalEvent,
    SignalPreference,
    SyncKind,
    SyncLink,
)
from .services.access import ensure_can
from .services.integration import integration_problem

# History actions that are sales signals (see the module's docstring for "forward").
ACTIONS: dict[str, str] = {
    "created": SignalEvent.NEW_TICKET,
    "comment": SignalEvent.NEW_COMMENT,
    "reply": SignalEvent.NEW_REPLY,
    "incoming": SignalEvent.NEW_REPLY,
    "escalated": SignalEvent.ESCALATED,
    "rated": SignalEvent.NEW_RATING,
}
# Overdue sweep: tickets looked at per run (all desks together), and how far back the first
# run (or one after the sweep's bookmark was lost) looks; the signals' identity keeps a
# ticket from being signalled twice for one due date either way.
OVERDUE_BATCH = 500
OVERDUE_LOOKBACK = dt.timedelta(days=1)
MAIL_CLAIM_SECONDS = 60 * 60 * 24


# --- The history listener ------------------------------------------------------------------
def _live(desk_org_id: int) -> list[dict]:
    """The integrations syncing with this desk that are not deactivated (from the cache; once
    per `pipeline.batch()`, as when many history rows are written at once)."""
    rows = pipeline.cached(
        ("crm-desk-integrations", desk_org_id), lambda: desk_integrations(desk_org_id)
    )
    return [r for r in rows if r["state"] != Integration.State.DEACTIVATED]


def history_recorded(row: TicketHistory) -> None:
    """`history_listen`: queue the signals of this history row, after commit. No query when no
    CRM syncs with the ticket's desk (the cached list is empty)."""
    _due_date_changed(row)
    event = ACTIONS.get(row.action)
    if event is None:
        return
    if event == SignalEvent.NEW_RATING and "rating" not in (row.changes or {}):
        return
    live = _live(row.org_id)
    if not live:
        return
    ticket_id, actor_id, key = row.ticket_id, row.actor_id, history_key(row.pk)
    for r in live:
        org_id, integration_id = r["org_id"], r["id"]
        transaction.on_commit(
            partial(signal_task.delay, org_id, integration_id, ticket_id, event, actor_id, key)
        )


def _due_date_changed(row: TicketHistory) -> None:
    """A due date set in the past (on a new ticket or a change) makes the ticket overdue now:
    the sweep, which follows due dates as time passes them, would not see it."""
    change = (row.changes or {}).get("due_at")
    if not change or not isinstance(change, list) or not change[-1]:
        return
    try:
        due_at = dt.datetime.fromisoformat(change[-1])
    except (TypeError, ValueError):
        return
    if due_at.tzinfo is None or due_at > timezone.now():
        return
    live = _live(row.org_id)
    if not live:
        return
    ticket_id, due = row.ticket_id, due_at.isoformat()
    for r in live:
        org_id, integration_id = r["org_id"], r["id"]
        transaction.on_commit(
            partial(signal_overdue_task.delay, org_id, integration_id, ticket_id, due)
        )


def history_key(history_id: int) -> str:
    return f"h:{history_id}"


def due_key(due_at: dt.datetime) -> str:
    return f"due:{due_at.astimezone(dt.UTC).isoformat()}"


# --- Who hears of a ticket -----------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    kind: str  # "contact", "account" or "deal"
    record_id: int
    owner_id: int | None


def ticket_reasons(
    integration: Integration, contact_id: int | None, account_ids: list[int], ticket_id: int
) -> list[Reason]:
    """The CRM records a desk ticket concerns, in the order contact, accounts, deals: the
    desk's contact and accounts (the ticket's, then its contact's: an account's tickets are
    also its contacts', as `desk_tickets` counts them) through their sync links, and the deals
    linked to the ticket. Ids of the desk's records; the result names the CRM's."""
    org = integration.org
    account_ids = list(dict.fromkeys(pk for pk in account_ids if pk))
    wanted = Q()
    if contact_id:
        wanted |= Q(kind=SyncKind.CONTACT, desk_id=contact_id)
    if account_ids:
        wanted |= Q(kind=SyncKind.ACCOUNT, desk_id__in=account_ids)
    crm_ids: dict[tuple[str, int], int] = {}
    if wanted:
        links = SyncLink.objects.for_org(org).filter(wanted, integration=integration)
        crm_ids = {
            (kind, desk_id): crm_id
            for kind, desk_id, crm_id in links.values_list("kind", "desk_id", "crm_id")
        }
    wanted_crm = [(SyncKind.CONTACT, CrmContact, contact_id)] + [
        (SyncKind.ACCOUNT, CrmAccount, pk) for pk in account_ids
    ]
    reasons: list[Reason] = []
    for kind, model, desk_id in wanted_crm:
        crm_id = crm_ids.get((str(kind), desk_id)) if desk_id is not None else None
        if crm_id is not None:
            owner = model.objects.for_org(org).filter(pk=crm_id).values("pk", "owner_id")
            reasons += [Reason(str(kind), r["pk"], r["owner_id"]) for r in owner]
    deals = (
        DealTicket.objects.for_org(org)
        .filter(integration=integration, ticket_id=ticket_id)
        .order_by("deal_id")
        .values_list("deal_id", "deal__owner_id")
    )
    reasons += [Reason("deal", deal_id, owner_id) for deal_id, owner_id in deals]
    return reasons


def _recipients(org: Organization, reasons: list[Reason], actor_id: int | None, event: str):
    """{user id: (membership, reason, mail?)}: each owner once, for their first reason, if an
    active CRM user who wants `event` and did not cause it; in the reasons' order, so the
    signals are written (and listed) contact first, then accounts, then deals."""
    first: dict[int, Reason] = {}
    for reason in reasons:
        if reason.owner_id and reason.owner_id != actor_id:
            first.setdefault(reason.owner_id, reason)
    if not first:
        return {}
    members = (
        Membership.objects.for_org(org)
        .filter(user_id__in=list(first), status=Membership.Status.ACTIVE)
        .select_related("user")
    )
    prefs = {
        p.user_id: p for p in SignalPreference.objects.for_org(org).filter(user_id__in=list(first))
    }
    by_user = {member.user_id: member for member in members}
    out = {}
    for user_id, reason in first.items():  # in the reasons' order: contact, accounts, deals
        member = by_user.get(user_id)
        if member is None:
            continue
        member.org = org
        pref = prefs.get(user_id)
        if not member.has_app(App.CRM) or (pref is not None and event not in pref.events):
            continue
        out[user_id] = (member, reason, bool(pref and pref.mail))
    return out


# --- Signalling one event ------------------------------------------------------------------
def signal_ticket_event(
    *,
    crm_org: Organization,
    integration_id: int,
    ticket_id: int,
    event: str,
    actor_id: int | None,
    key: str,
    due_at: dt.datetime | None = None,
) -> list[SalesSignal]:
    """Signal `event` on desk ticket `ticket_id` to the owners of its CRM records (see the
    module). Idempotent on `key`. For an overdue ticket, `due_at` is the due date that passed:
    nothing is signalled when the ticket was closed or given another due date since."""
    integration = (
        Integration.objects.for_org(crm_org)
        .select_related("desk_org", "org")
        .filter(pk=integration_id)
        .first()
    )
    if integration is None or integration_problem(integration):
        return []
    with DeskConnector(integration).scope():
        ticket = (
            Ticket.objects.for_org(integration.desk_org)
            .filter(pk=ticket_id)
            .values(
                "number",
                "subject",
                "contact_id",
                "account_id",
                "contact__account_id",
                "due_at",
                "status_kind",
            )
            .first()
        )
    if ticket is None:
        return []
    if event == SignalEvent.OVERDUE and (
        ticket["status_kind"] == StatusKind.CLOSED or ticket["due_at"] != due_at
    ):
        return []
    reasons = ticket_reasons(
        integration,
        ticket["contact_id"],
        [ticket["account_id"], ticket["contact__account_id"]],
        ticket_id,
    )
    recipients = _recipients(crm_org, reasons, actor_id, event)
    if not recipients:
        return []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"crmsync:signal:{crm_org.pk}:{ticket_id}"],
            )
        done = set(
            SalesSignal.objects.for_org(crm_org)
            .filter(user_id__in=list(recipients), event=event, ticket_id=ticket_id, detail=key)
            .values_list("user_id", flat=True)
        )
        signals = [
            SalesSignal(
                org=crm_org,
                integration=integration,
                user_id=user_id,
                event=event,
                ticket_id=ticket_id,
                ticket_number=ticket["number"],
                subject=ticket["subject"][:255],
                record_kind=reason.kind,
                record_id=reason.record_id,
                detail=key,
            )
            for user_id, (_member, reason, _mail) in recipients.items()
            if user_id not in done
        ]
        SalesSignal.objects.bulk_create(signals)
        mailed = [s.pk for s in signals if recipients[s.user_id][2]]
        if mailed:
            org_id = crm_org.pk
            for signal_id in mailed:
                transaction.on_commit(partial(signal_mail_task.delay, org_id, signal_id))
    return signals


# --- Overdue tickets -----------------------------------------------------------------------
def _bookmark_key(desk_org_id: int) -> str:
    return f"crmsync:signals:overdue-swept:{desk_org_id}"


def overdue_sweep(*, now: dt.datetime | None = None, batch: int = OVERDUE_BATCH) -> int:
    """For each desk with a live CRM integration: the open tickets whose due date passed
    since the last sweep (a bookmark of due date and id in the cache, per desk), at most
    `batch` tickets in all; each is signalled once per due date (`signal_overdue_task`).
    Returns the number of tickets queued. Run by the beat without an organization."""
    now = now or timezone.now()
    budget = batch
    queued = 0
    for desk_org_id in crm_desks():
        if budget <= 0:
            break  # the next run continues: the bookmarks did not move
        live = _live(desk_org_id)
        if not live:
            continue
        since, last_id = cache.get(_bookmark_key(desk_org_id)) or (now - OVERDUE_LOOKBACK, 0)
        with tenant_scope(desk_org_id):
            rows = list(
                Ticket.objects.for_org(desk_org_id)
                .exclude(status_kind=StatusKind.CLOSED)
                .filter(due_at__lte=now)
                .filter(Q(due_at__gt=since) | Q(due_at=since, pk__gt=last_id))
                .order_by("due_at", "pk")
                .values_list("pk", "due_at")[:budget]
            )
        for ticket_id, due_at in rows:
            for r in live:
                signal_overdue_task.delay(r["org_id"], r["id"], ticket_id, due_at.isoformat())
        budget -= len(rows)
        queued += len(rows)
        # A full batch stops at its last ticket; otherwise everything due until now is done.
        mark = (rows[-1][1], rows[-1][0]) if budget <= 0 and rows else (now, 0)
        cache.set(_bookmark_key(desk_org_id), mark, None)
    return queued


# --- Mail ----------------------------------------------------------------------------------
def ticket_url(org: Organization, number: int) -> str:
    """The ticket's page in the CRM."""
    return reverse("crm:ticket", kwargs={"portal": org.portal, "number": number})


def signal_mail_send(*, crm_org: Organization, signal_id: int) -> bool:
    """Mail one signal to its user, once (a claim in the cache, released if sending fails so
    the task's retry sends it), in the user's language, with a link to the ticket in the CRM."""
    signal = (
        SalesSignal.objects.for_org(crm_org).select_related("user").filter(pk=signal_id).first()
    )
    if signal is None or not signal.user.email:
        return False
    key = f"crm-signal-mail:{crm_org.pk}:{signal.pk}:{signal.created_at.timestamp()}"
    if not cache.add(key, 1, MAIL_CLAIM_SECONDS):
        return False
    url = settings.SITE_URL.rstrip("/") + ticket_url(crm_org, signal.ticket_number)
    message = build_email(
        "emails/crm_signal",
        {
            "signal": signal,
            "user": signal.user,
            "org": crm_org,
            "url": url,
            "list_url": settings.SITE_URL.rstrip("/")
            + reverse("crm:signals", kwargs={"portal": crm_org.portal}),
        },
        getattr(signal.user, "language", None),
        to=[signal.user.email],
    )
    try:
        message.send()
    except Exception:
        cache.delete(key)
        raise
    return True


# --- The user's side: reading, preferences -------------------------------------------------
def signals_of(org: Organization, user) -> QuerySet[SalesSignal]:
    """The user's signals, newest first (index crm_signal_user)."""
    return SalesSignal.objects.for_org(org).filter(user=user).order_by("-created_at", "-id")


def unread_count(org: Organization, user) -> int:
    """The user's (a user or their id) unread signals (the partial index crm_signal_unread).
    Every CRM page shows it: plain SQL, without compiling a queryset each time."""
    user_id = getattr(user, "pk", user)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {SalesSignal._meta.db_table}"  # noqa: S608 - our table
            " WHERE org_id = %s AND user_id = %s AND read_at IS NULL",
            [org.pk, user_id],
        )
        return cursor.fetchone()[0]


def signal_get(*, actor: Membership, signal_id: int) -> SalesSignal | None:
    """The actor's own signal, or None (another user's or another organization's: the same)."""
    return signals_of(actor.org, actor.user).filter(pk=signal_id).first()


def signal_mark_read(*, actor: Membership, signal: SalesSignal) -> None:
    ensure_same_org(actor.org, signal)
    if signal.user_id != actor.user_id:
        raise ValidationError(_("This notification is not yours."))
    SalesSignal.objects.for_org(actor.org).filter(
        pk=signal.pk, user=actor.user, read_at=None
    ).update(read_at=timezone.now())


def signals_mark_all_read(*, actor: Membership) -> int:
    return (
        SalesSignal.objects.for_org(actor.org)
        .filter(user=actor.user, read_at=None)
        .update(read_at=timezone.now())
    )


def signal_preference(org: Organization, user) -> SignalPreference:
    """The user's preference, or the default (every event, in the app only), unsaved."""
    pref = SignalPreference.objects.for_org(org).filter(user=user).first()
    return pref or SignalPreference(org=org, user=user)


@transaction.atomic
def signal_preference_save(*, actor: Membership, events: list[str], mail: bool) -> SignalPreference:
    """Which signals the actor receives, and whether also by mail (their own preference)."""
    ensure_can(actor, "view")
    unknown = set(events) - set(SignalEvent.values)
    if unknown:
        raise ValidationError({"events": _("Choose among the listed notifications.")})
    pref, _created = (
        SignalPreference.objects.for_org(actor.org)
        .select_for_update()
        .get_or_create(org=actor.org, user=actor.user)
    )
    pref.events = [e for e in SignalEvent.values if e in set(events)]
    pref.mail = bool(mail)
    pref.full_clean()
    pref.save()
    return pref


# --- The tasks (here, not in crmsync.tasks: they call this module and it queues them) --------
@shared_task(ignore_result=True)
def signal_task(
    org_id: int, integration_id: int, ticket_id: int, event: str, actor_id: int | None, key: str
) -> int:
    """Signal a ticket's history event to the CRM users it concerns (a redelivery adds none)."""
    org = Organization.objects.get(pk=org_id)
    return len(
        signal_ticket_event(
            crm_org=org,
            integration_id=integration_id,
            ticket_id=ticket_id,
            event=event,
            actor_id=actor_id,
            key=key,
        )
    )


@shared_task(ignore_result=True)
def signal_overdue_task(org_id: int, integration_id: int, ticket_id: int, due_at: str) -> int:
    """Signal that a ticket passed its due date `due_at` (ISO), once per due date."""
    due = dt.datetime.fromisoformat(due_at)
    org = Organization.objects.get(pk=org_id)
    return len(
        signal_ticket_event(
            crm_org=org,
            integration_id=integration_id,
            ticket_id=ticket_id,
            event=SignalEvent.OVERDUE,
            actor_id=None,
            key=due_key(due),
            due_at=due,
        )
    )


@shared_task(ignore_result=True)
def signal_overdue_sweep_task() -> int:
    """The beat's sweep of overdue tickets (every CRMSYNC_OVERDUE_SWEEP_SECONDS)."""
    return overdue_sweep()


@shared_task(ignore_result=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=True)
def signal_mail_task(org_id: int, signal_id: int) -> bool:
    """Mail one signal to its user (once; a failed send is retried)."""
    org = Organization.objects.get(pk=org_id)
    return signal_mail_send(crm_org=org, signal_id=signal_id)
