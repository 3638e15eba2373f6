"""After-actions (BP-11): saving them, scheduling them when a transition completes, and running
each once.

Scheduling (`after_actions_schedule`, called by the engine after the transition's commit)
creates one `AfterActionRun` per linked action (the unique key organization + log entry +
action makes a second scheduling a no-op) and queues one task per new run, after commit.

Running (`after_action_execute`, called by the task): the run is claimed with a conditional
UPDATE (pending → running); a run already done, failed or claimed by another worker is left
alone, so a duplicated or retried task acts once. Database effects (field update, task) are
written in the same transaction that marks the run done; mail and webhooks are sent first and
the run marked done after (a crash in between may repeat them once, never lose them; the
webhook carries the run's id so a receiver can drop a repeat). A failure is recorded on the
run (shown on the ticket); retryable ones (network, SMTP, a 5xx) go back to pending for the
task's next try; the transition is never undone.

After-actions act as the member who completed the transition; for an automatic transition,
or when that member has left or may not edit the ticket (BP-22), as the blueprint's author or
else the organization's first Desk admin. History rows name that member."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk import webhooks
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import (
    App,
    DepartmentAgent,
    DeskRole,
    Membership,
    Organization,
)
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tickets.activities.models import ActivityKind
from helpdesk.tickets.activities.services import ActivityInput, activity_create
from helpdesk.tickets.imap.crypto import decrypt, encrypt
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.mailtemplates.services import mail_template_message
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.tickets import ticket_update

from ..models import AfterAction, AfterActionType, Blueprint, TransitionAfterAction, TransitionLog
from . import config as cfg
from .models import AfterActionRun, RunStatus, WebhookSecret

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STALE_CLAIM = dt.timedelta(minutes=15)  # a worker that died while running: claim again
ERROR_MAX = 2000


# --- Definitions -------------------------------------------------------------------------------
def _ensure_admin(actor: Membership, action: AfterAction) -> None:
    ensure_same_org(actor.org, action)
    ensure_app_admin(actor, App.DESK)


@transaction.atomic
def after_action_save(*, actor: Membership, action: AfterAction) -> AfterAction:
    """Create or change an action: its config checked for its type (ValidationError keyed by
    field); custom functions only on a plan that has them (BP-11, BP-20)."""
    action.org = actor.org
    ensure_same_org(actor.org, action.department)
    _ensure_admin(actor, action)
    if action.type == AfterActionType.WEBHOOK and not cfg.webhooks_allowed(actor.org):
        raise ValidationError(
            {"type": [_("Custom functions are part of the Enterprise plan.")]}, code="plan"
        )
    action.config = cfg.clean_config(actor.org, action.department, action.type, action.config)
    action.name = (action.name or "").strip()
    action.full_clean()
    action.save()
    return action


def after_action_links(action: AfterAction) -> int:
    return TransitionAfterAction.objects.for_org(action.org_id).filter(action=action).count()


@transaction.atomic
def after_action_delete(*, actor: Membership, action: AfterAction) -> None:
    """Delete an action no transition runs; else a ValidationError with the count. Its past
    runs stay on the tickets (with the name they had)."""
    _ensure_admin(actor, action)
    used = after_action_links(action)
    if used:
        raise ValidationError(
            ngettext(
                "“%(name)s” runs after %(count)d transition: remove it there first.",
                "“%(name)s” runs after %(count)d transitions: remove it there first.",
                used,
            )
            % {"name": action.name, "count": used},
            code="in_use",
        )
    action.delete()


# --- The organization's webhook secret --------------------------------------------------------
def webhook_secret(org: Organization | int) -> str:
    """The organization's signing secret, made on first use."""
    import secrets

    org_id = org if isinstance(org, int) else org.pk
    row = WebhookSecret.objects.for_org(org_id).first()
    if row is None:
        row, _created = WebhookSecret.objects.get_or_create(
            org_id=org_id, defaults={"secret_encrypted": encrypt(secrets.token_urlsafe(32))}
        )
    return decrypt(row.secret_encrypted)


@transaction.atomic
def webhook_secret_rotate(*, actor: Membership) -> str:
    import secrets

    ensure_app_admin(actor, App.DESK)
    value = secrets.token_urlsafe(32)
    WebhookSecret.objects.update_or_create(
        org=actor.org, defaults={"secret_encrypted": encrypt(value)}
    )
    return value


# --- Scheduling ---------------------------------------------------------------------------------
def after_actions_schedule(*, log_entry: TransitionLog) -> list[AfterActionRun]:
    """One run per action linked to the log entry's transition, in their order; returns the
    runs made now (the caller queues them: `tasks.enqueue`). Idempotent: a second call makes
    none."""
    if log_entry.transition_id is None:
        return []
    org_id = log_entry.org_id
    links = (
        TransitionAfterAction.objects.for_org(org_id)
        .filter(transition_id=log_entry.transition_id)
        .select_related("action")
        .order_by("position", "pk")
    )
    existing = set(
        AfterActionRun.objects.for_org(org_id)
        .filter(log=log_entry)
        .values_list("action_id", flat=True)
    )
    runs = [
        AfterActionRun(
            org_id=org_id,
            log=log_entry,
            action=link.action,
            ticket_id=log_entry.ticket_id,
            name=link.action.name,
            type=link.action.type,
            position=link.position,
        )
        for link in links
        if link.action_id not in existing
    ]
    if not runs:
        return []
    with transaction.atomic():
        AfterActionRun.objects.bulk_create(runs, ignore_conflicts=True)
        created = list(
            AfterActionRun.objects.for_org(org_id)
            .filter(log=log_entry, action_id__in=[r.action_id for r in runs])
            .order_by("position", "pk")
        )
    return created


# --- Running ------------------------------------------------------------------------------------
class Outcome:
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


def _claim(org_id: int, run_id: int) -> bool:
    now = timezone.now()
    free = Q(status=RunStatus.PENDING) | Q(
        status=RunStatus.RUNNING, claimed_at__lt=now - STALE_CLAIM
    )
    return bool(
        AfterActionRun.objects.for_org(org_id)
        .filter(free, pk=run_id)
        .update(status=RunStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _finish(run: AfterActionRun, status: str, *, error: str = "", result: dict | None = None):
    AfterActionRun.objects.for_org(run.org_id).filter(pk=run.pk).update(
        status=status,
        error=error[:ERROR_MAX],
        result=result if result is not None else run.result,
        finished_at=timezone.now() if status in (RunStatus.DONE, RunStatus.FAILED) else None,
    )


def _acting_member(org: Organization, entry: TransitionLog) -> Membership:
    """Who the action acts as (see the module's docstring)."""
    active = Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)
    candidates = []
    if entry.actor_id:
        candidates.append(active.filter(user_id=entry.actor_id).first())
    if entry.blueprint_id:
        author = Blueprint.objects.for_org(org).filter(pk=entry.blueprint_id).first()
        if author is not None and author.created_by_id:
            candidates.append(
                active.filter(user_id=author.created_by_id, desk_role=DeskRole.ADMIN).first()
            )
    candidates.append(active.filter(desk_role=DeskRole.ADMIN).order_by("pk").first())
    for member in candidates:
        if member is not None:
            member.org = org
            return member
    raise PermissionDenied(_("No active Desk admin can run this action."))


def _admin_member(org: Organization) -> Membership | None:
    member = (
        Membership.objects.for_org(org)
        .filter(status=Membership.Status.ACTIVE, desk_role=DeskRole.ADMIN)
        .order_by("pk")
        .first()
    )
    if member is not None:
        member.org = org
    return member


def _as_member(org: Organization, entry: TransitionLog, act):
    """Run `act(member)` as the acting member; if that member may not change the ticket (an
    owner without access, BP-22), as a Desk admin instead."""
    member = _acting_member(org, entry)
    try:
        with transaction.atomic():
            return act(member)
    except PermissionDenied:
        admin = _admin_member(org)
        if admin is None or admin.pk == member.pk:
            raise
        with transaction.atomic():
            return act(admin)


def _inside_transition(ticket: Ticket, member: Membership) -> Ticket:
    """An after-action is part of its transition: restricted mode (BP-02) lets its edit through
    as it lets through what an owner does inside a transition window. The engine's access guard
    caches "this member has a window open" on the ticket under this key; setting it for this
    one ticket object changes nothing for any other caller."""
    ticket.__dict__[f"_blueprint_window_{member.user_id}"] = True
    return ticket


def _locked_ticket(org_id: int, ticket_id: int) -> Ticket:
    return (
        Ticket.objects.for_org(org_id)
        .select_for_update(of=("self",))
        .select_related("org", "department", "status", "contact", "owner")
        .get(pk=ticket_id)
    )


def _extra_values(entry: TransitionLog) -> dict[str, str]:
    values = {}
    if entry.blueprint_id:
        blueprint = Blueprint.objects.for_org(entry.org_id).filter(pk=entry.blueprint_id).first()
        values["blueprint.name"] = blueprint.name if blueprint else ""
    return values


def _recipients(ticket: Ticket, conf: dict[str, Any]) -> list[str]:
    """Addresses for an email action, each once, in a stable order."""
    org = ticket.org
    addresses: list[str] = []
    if conf.get("ticket_owner") and ticket.owner is not None:
        addresses.append(ticket.owner.email)
    if conf.get("contact") and ticket.contact is not None and ticket.contact.email:
        addresses.append(ticket.contact.email)
    addresses += [user.email for user in cfg.desk_members(org, conf.get("users") or [])]
    roles = conf.get("roles") or []
    if roles:
        agents = DepartmentAgent.objects.for_org(org).filter(department=ticket.department_id)
        members = (
            Membership.objects.for_org(org)
            .filter(status=Membership.Status.ACTIVE, desk_role__in=roles)
            .filter(Q(user_id__in=agents.values("user_id")) | Q(desk_role=DeskRole.ADMIN))
            .select_related("user")
            .order_by("user__email")
        )
        addresses += [m.user.email for m in members]
    return list(dict.fromkeys(a for a in addresses if a))


def _run_email(run: AfterActionRun, action: AfterAction, entry: TransitionLog) -> dict:
    ticket = (
        Ticket.objects.for_org(run.org_id)
        .select_related("org", "department", "status", "contact", "owner")
        .get(pk=run.ticket_id)
    )
    conf = action.config
    template = MailTemplate.objects.for_org(run.org_id).filter(pk=conf.get("template_id")).first()
    if template is None:
        raise ValidationError(_("The mail template no longer exists."))
    sent = list((run.result or {}).get("sent", []))
    for address in _recipients(ticket, conf):
        if address in sent:
            continue  # sent by an earlier try of this run
        message = mail_template_message(
            template=template,
            ticket=ticket,
            to=[address],
            extra=_extra_values(entry),
            headers={"X-Madoguchi-Org": str(run.org_id)},
        )
        message.send()
        sent.append(address)
        AfterActionRun.objects.for_org(run.org_id).filter(pk=run.pk).update(result={"sent": sent})
    if not sent:
        raise ValidationError(_("No recipient has an email address."))
    return {"sent": sent}


def _run_field_update(run: AfterActionRun, action: AfterAction, entry: TransitionLog) -> dict:
    org = Organization.objects.get(pk=run.org_id)

    def act(member: Membership) -> dict:
        ticket = _inside_transition(_locked_ticket(run.org_id, run.ticket_id), member)
        data = cfg.ticket_input(org, ticket.department, action.config.get("fields") or {})
        changes = ticket_update(actor=member, ticket=ticket, data=data, ip=None)
        _finish(run, RunStatus.DONE, result={"changed": sorted(changes)})
        return {"changed": sorted(changes)}

    return _as_member(org, entry, act)


def _run_task(run: AfterActionRun, action: AfterAction, entry: TransitionLog) -> dict:
    org = Organization.objects.get(pk=run.org_id)
    conf = action.config

    def act(member: Membership) -> dict:
        ticket = _inside_transition(_locked_ticket(run.org_id, run.ticket_id), member)
        if conf.get("owner", cfg.TICKET_OWNER) == cfg.TICKET_OWNER:
            owner = ticket.owner
        else:
            found = cfg.desk_members(org, [int(conf["owner"])])
            owner = found[0] if found else None
        due = timezone.now() + dt.timedelta(
            days=int(conf.get("due_days") or 0), hours=int(conf.get("due_hours") or 0)
        )
        activity = activity_create(
            actor=member,
            ticket=ticket,
            data=ActivityInput(
                kind=ActivityKind.TASK,
                subject=conf.get("subject") or action.name,
                owner=owner,
                due_at=due,
                priority=conf.get("priority") or "medium",
            ),
        )
        result = {"activity_id": activity.pk}
        _finish(run, RunStatus.DONE, result=result)
        return result

    return _as_member(org, entry, act)


def _run_webhook(run: AfterActionRun, action: AfterAction, entry: TransitionLog) -> dict:
    org = Organization.objects.get(pk=run.org_id)
    if not cfg.webhooks_allowed(org):
        raise ValidationError(_("Custom functions are part of the Enterprise plan."))
    conf = action.config
    ticket = (
        Ticket.objects.for_org(run.org_id)
        .select_related("org", "department", "status", "contact", "owner")
        .get(pk=run.ticket_id)
    )
    payload = {
        "event": "blueprint.transition.completed",
        "delivery": run.pk,
        "organization": org.portal,
        "transition": {
            "id": entry.transition_id,
            "name": entry.name,
            "from": entry.from_status.name if entry.from_status else None,
            "to": entry.to_status.name if entry.to_status else None,
            "by": entry.actor.email if entry.actor else None,
            "at": entry.at.isoformat(),
        },
        "action": {"id": action.pk, "name": action.name},
        "ticket": cfg.ticket_payload(ticket),
    }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    response = webhooks.deliver(
        conf["url"],
        body=body,
        secret=webhook_secret(org),
        method=conf.get("method", "POST"),
        headers={**conf.get("headers", {}), "X-Madoguchi-Delivery": str(run.pk)},
        timeout=min(float(conf.get("timeout") or settings.WEBHOOK_TIMEOUT), cfg.MAX_TIMEOUT),
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    )
    result: dict[str, Any] = {"status": response.status}
    answer = response.json() if conf.get("update_fields") else None
    fields = answer.get("fields") if isinstance(answer, dict) else None
    if not fields:
        return result

    def act(member: Membership) -> dict:
        locked = _inside_transition(_locked_ticket(run.org_id, run.ticket_id), member)
        try:
            data = cfg.ticket_input(org, locked.department, fields, lenient=True)
        except ValidationError as exc:
            raise ValidationError(
                _("The webhook answered, but its fields were refused: %(why)s")
                % {"why": "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())}
            ) from exc
        changes = ticket_update(actor=member, ticket=locked, data=data, ip=None)
        done = {**result, "changed": sorted(changes)}
        _finish(run, RunStatus.DONE, result=done)
        return done

    return _as_member(org, entry, act)


RUNNERS = {
    AfterActionType.EMAIL: _run_email,
    AfterActionType.FIELD_UPDATE: _run_field_update,
    AfterActionType.TASK: _run_task,
    AfterActionType.WEBHOOK: _run_webhook,
}


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ValidationError | PermissionDenied | webhooks.UnsafeTarget):
        return False
    if isinstance(exc, webhooks.WebhookError):
        return exc.retry
    return isinstance(exc, OSError)  # SMTP and the network


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, webhooks.UnsafeTarget):
        return _("The address was refused: %(why)s") % {"why": exc}
    return str(exc) or exc.__class__.__name__


def after_action_execute(*, org_id: int, run_id: int, last_try: bool = False) -> str:
    """Run one after-action once (see the module's docstring); returns an `Outcome`. With
    `last_try`, a retryable failure is recorded as failed."""
    if not _claim(org_id, run_id):
        return Outcome.SKIPPED
    run = AfterActionRun.objects.for_org(org_id).get(pk=run_id)
    entry = (
        TransitionLog.objects.for_org(org_id)
        .select_related("from_status", "to_status", "actor")
        .get(pk=run.log_id)
    )
    action = AfterAction.objects.for_org(org_id).filter(pk=run.action_id or 0).first()
    try:
        if action is None:
            raise ValidationError(_("The action was deleted before it ran."))
        result = RUNNERS[action.type](run, action, entry)
    except Exception as exc:  # recorded on the run; the transition stands
        retry = _retryable(exc) and not last_try and run.attempts < MAX_ATTEMPTS
        log.warning("after-action run %s of org %s: %r (retry: %s)", run_id, org_id, exc, retry)
        _finish(run, RunStatus.PENDING if retry else RunStatus.FAILED, error=_describe(exc))
        return Outcome.RETRY if retry else Outcome.FAILED
    current = AfterActionRun.objects.for_org(org_id).filter(pk=run_id).values("status").first()
    if current and current["status"] != RunStatus.DONE:
        _finish(run, RunStatus.DONE, result=result)
    return Outcome.DONE


# --- On the ticket ------------------------------------------------------------------------------
def after_action_failures(ticket: Ticket) -> list[AfterActionRun]:
    """The ticket's failed after-actions, newest first (shown on the ticket)."""
    return list(
        AfterActionRun.objects.for_org(ticket.org_id)
        .filter(ticket=ticket, status=RunStatus.FAILED)
        .order_by("-finished_at", "-pk")[:20]
    )


@transaction.atomic
def after_action_retry(*, actor: Membership, run: AfterActionRun) -> bool:
    """A Desk admin tries a failed action again (a new set of attempts); the caller queues it
    when this returns True."""
    ensure_same_org(actor.org, run)
    ensure_app_admin(actor, App.DESK)
    reset = (
        AfterActionRun.objects.for_org(actor.org)
        .filter(pk=run.pk, status=RunStatus.FAILED)
        .update(status=RunStatus.PENDING, attempts=0, error="", finished_at=None)
    )
    return bool(reset)
