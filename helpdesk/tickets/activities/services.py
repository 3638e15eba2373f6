"""Activities, time entries and running timers (TKT-04): every write, with a history row on
the ticket when the row is linked to one, in the same transaction.

Who may do what: any member with Desk access works with the activities and time of the
tickets they see (restricted agents included: logging time and calls is work on the ticket,
not an edit of it). An activity without a ticket (a contact's or an account's) is seen by
every Desk member, as the customer records are. Desk admins see and change everything; the
owner and the creator of an activity always keep it. Time entries are changed by the person
who worked or by a Desk admin."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Account, Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, DeskRole, Membership, User
from helpdesk.tenancy.permissions import ensure_app
from helpdesk.tenancy.roles import desk_role

from ..models import Priority, Ticket
from ..services.access import department_ids, visible_tickets
from ..services.history import history_record
from .models import (
    MAX_CALL_MINUTES,
    MAX_MINUTES,
    Activity,
    ActivityKind,
    ActivityStatus,
    CallDirection,
    RunningTimer,
    TimeEntry,
)

EARLIEST_WORK_DATE = dt.date(2000, 1, 1)


# --- Who may see and change ------------------------------------------------------------------
def is_desk_admin(member: Membership) -> bool:
    return desk_role(member) == DeskRole.ADMIN


def _ticket_visible(member: Membership, ticket: Ticket) -> bool:
    """The ticket is one the member sees (their departments', or shared with them)."""
    ids = department_ids(member)
    if ids is None or ticket.department_id in ids:
        return True
    return visible_tickets(member).filter(pk=ticket.pk).exists()


def _ensure_ticket(member: Membership, ticket: Ticket) -> None:
    ensure_same_org(member.org, ticket)
    ensure_app(member, App.DESK)
    if not _ticket_visible(member, ticket):
        raise PermissionDenied(_("You cannot see this ticket."))


def activities_visible(member: Membership) -> QuerySet[Activity]:
    """The activities `member` may see and change in their organization."""
    qs = Activity.objects.for_org(member.org)
    if not member.has_app(App.DESK):
        return qs.none()
    ids = department_ids(member)
    if ids is None:
        return qs
    return qs.filter(
        Q(owner_id=member.user_id)
        | Q(created_by_id=member.user_id)
        | Q(ticket__isnull=True)
        | Q(ticket__in=visible_tickets(member).values("pk"))
    )


def activity_for_member(member: Membership, activity_id: int) -> Activity:
    """The activity if `member` may see it; 404 otherwise (the same answer for 'missing')."""
    activity = (
        activities_visible(member).select_related("ticket", "owner").filter(pk=activity_id).first()
    )
    if activity is None:
        raise Http404
    return activity


def _ensure_may_change(member: Membership, activity: Activity) -> None:
    ensure_same_org(member.org, activity)
    ensure_app(member, App.DESK)
    if is_desk_admin(member) or member.user_id in (activity.owner_id, activity.created_by_id):
        return
    ticket = activity.ticket
    if ticket is not None and not _ticket_visible(member, ticket):
        raise PermissionDenied(_("You cannot change this activity."))


def owner_candidates(org) -> QuerySet[User]:
    """Who may own an activity: the organization's active members with Desk access."""
    members = Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)
    members = members.filter(~Q(desk_role="") | Q(admin_level="account"))
    return get_user_model().objects.filter(memberships__in=members).order_by("full_name", "email")


# --- Activities ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityInput:
    """What a person types for an activity. Fields that do not apply to `kind` are ignored."""

    kind: str
    subject: str
    owner: User | None = None
    description: str = ""
    status: str = ActivityStatus.OPEN
    priority: str = Priority.MEDIUM
    due_at: dt.datetime | None = None  # tasks
    starts_at: dt.datetime | None = None  # calls (when) and events
    ends_at: dt.datetime | None = None  # events
    direction: str = ""  # calls
    call_minutes: int | None = None  # calls


def _apply(activity: Activity, data: ActivityInput) -> None:
    """Copy `data` onto `activity`, keep only what its kind uses, and check it."""
    errors: dict[str, list[str]] = {}
    activity.kind = data.kind
    activity.subject = (data.subject or "").strip()
    activity.description = (data.description or "").strip()
    activity.owner = data.owner
    activity.status = data.status
    activity.priority = data.priority
    activity.due_at = activity.starts_at = activity.ends_at = None
    activity.direction, activity.call_minutes = "", None
    if data.kind == ActivityKind.TASK:
        activity.due_at = data.due_at
    elif data.kind == ActivityKind.CALL:
        activity.starts_at = activity.due_at = data.starts_at
        activity.direction = data.direction
        activity.call_minutes = data.call_minutes
        if not data.starts_at:
            errors["starts_at"] = [_("Enter when the call is or was.")]
        if data.direction not in CallDirection.values:
            errors["direction"] = [_("Choose inbound or outbound.")]
        if data.call_minutes is not None and not 0 <= data.call_minutes <= MAX_CALL_MINUTES:
            errors["call_minutes"] = [
                _("A call lasts between 0 and %(max)s minutes.") % {"max": MAX_CALL_MINUTES}
            ]
    elif data.kind == ActivityKind.EVENT:
        activity.starts_at, activity.ends_at = data.starts_at, data.ends_at
        activity.due_at = data.ends_at
        if not data.starts_at:
            errors["starts_at"] = [_("Enter when the event starts.")]
        if not data.ends_at:
            errors["ends_at"] = [_("Enter when the event ends.")]
        elif data.starts_at and data.ends_at < data.starts_at:
            errors["ends_at"] = [_("The event cannot end before it starts.")]
    if errors:
        raise ValidationError(errors)
    _set_done(activity, activity.status == ActivityStatus.COMPLETED)


def _set_done(activity: Activity, done: bool) -> None:
    if done:
        activity.status = ActivityStatus.COMPLETED
        activity.completed_at = activity.completed_at or timezone.now()
    elif activity.status == ActivityStatus.COMPLETED:
        activity.status = ActivityStatus.OPEN
    if not done:
        activity.completed_at = None
    activity.done = done


def _ensure_owner(org, owner: User | None) -> None:
    if owner is not None and not owner_candidates(org).filter(pk=owner.pk).exists():
        raise ValidationError({"owner": [_("The owner must be an active Desk member.")]})


def _history(
    activity: Activity, actor: Membership, ip: str | None, action: str, before: str | None
) -> None:
    ticket = activity.ticket
    if ticket is None:
        return
    after = None if action == "activity_deleted" else str(activity)
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action=action,
        changes={"activity": [before, after]},
    )


@transaction.atomic
def activity_create(
    *,
    actor: Membership,
    data: ActivityInput,
    ticket: Ticket | None = None,
    contact: Contact | None = None,
    account: Account | None = None,
    ip: str | None = None,
) -> Activity:
    """A new task, call or event linked to `ticket`, `contact` and/or `account` (at least one,
    all of the actor's organization). On a ticket, without a contact or account given, it is
    linked to the ticket's customer too, so the customer's pages list it."""
    ensure_same_org(actor.org, ticket, contact, account)
    ensure_app(actor, App.DESK)
    if ticket is not None:
        _ensure_ticket(actor, ticket)
    if ticket is None and contact is None and account is None:
        raise ValidationError(_("Link the activity to a ticket, a contact or an account."))
    activity = Activity(
        org=actor.org, ticket=ticket, contact=contact, account=account, created_by=actor.user
    )
    if ticket is not None and contact is None and account is None:
        activity.contact_id, activity.account_id = ticket.contact_id, ticket.account_id
    _apply(activity, data)
    _ensure_owner(actor.org, activity.owner)
    activity.full_clean()
    activity.save()
    _history(activity, actor, ip, "activity_added", None)
    return activity


@transaction.atomic
def activity_update(
    *, actor: Membership, activity: Activity, data: ActivityInput, ip: str | None = None
) -> Activity:
    _ensure_may_change(actor, activity)
    before = str(activity)
    _apply(activity, data)
    _ensure_owner(actor.org, activity.owner)
    activity.full_clean()
    activity.save()
    _history(activity, actor, ip, "activity_updated", before)
    return activity


@transaction.atomic
def activity_set_done(
    *, actor: Membership, activity: Activity, done: bool = True, ip: str | None = None
) -> Activity:
    """Complete the activity (or open it again). Doing it twice changes nothing more."""
    _ensure_may_change(actor, activity)
    if activity.done == done:
        return activity
    _set_done(activity, done)
    activity.save(update_fields=["status", "done", "completed_at", "updated_at"])
    _history(
        activity, actor, ip, "activity_completed" if done else "activity_reopened", str(activity)
    )
    return activity


@transaction.atomic
def activity_set_spam(
    *, actor: Membership, activity: Activity, spam: bool = True, ip: str | None = None
) -> Activity:
    """Mark the activity as spam (it leaves the lists, shown only under "Spam") or not."""
    _ensure_may_change(actor, activity)
    if activity.spam == spam:
        return activity
    activity.spam = spam
    activity.save(update_fields=["spam", "updated_at"])
    _history(activity, actor, ip, "activity_spam" if spam else "activity_not_spam", str(activity))
    return activity


@transaction.atomic
def activity_delete(*, actor: Membership, activity: Activity, ip: str | None = None) -> None:
    _ensure_may_change(actor, activity)
    _history(activity, actor, ip, "activity_deleted", str(activity))
    activity.delete()


# --- Time entries ----------------------------------------------------------------------------
def format_minutes(minutes: int | None) -> str:
    """90 -> "1:30"."""
    minutes = minutes or 0
    return f"{minutes // 60}:{minutes % 60:02d}"


def parse_duration(value: str) -> int | None:
    """Minutes from what a person types: "90", "1:30", "1h30m", "1h", "45m", "1.5h".
    None when it is not a duration."""
    import re

    text = (value or "").strip().lower().replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d{1,5}", text):
        return int(text)
    if m := re.fullmatch(r"(\d{1,3}):([0-5]\d)", text):
        return int(m[1]) * 60 + int(m[2])
    if m := re.fullmatch(r"(?:(\d{1,3}(?:\.\d+)?)h)?(?:(\d{1,5})m(?:in)?)?", text):
        if m[1] is None and m[2] is None:
            return None
        return round(float(m[1] or 0) * 60) + int(m[2] or 0)
    return None


@dataclass(frozen=True)
class TimeInput:
    minutes: int
    work_date: dt.date
    billable: bool = True
    billed: bool = False
    note: str = ""


def _time_apply(entry: TimeEntry, data: TimeInput) -> None:
    errors: dict[str, list[str]] = {}
    if data.minutes is None or data.minutes <= 0:
        errors["minutes"] = [_("The duration must be more than zero.")]
    elif data.minutes > MAX_MINUTES:
        errors["minutes"] = [_("One entry is at most 24 hours; split longer work by day.")]
    today = timezone.localdate()
    if data.work_date is None:
        errors["work_date"] = [_("Enter the day of the work.")]
    elif data.work_date > today + dt.timedelta(days=1):
        errors["work_date"] = [_("The day of the work cannot be in the future.")]
    elif data.work_date < EARLIEST_WORK_DATE:
        errors["work_date"] = [_("Enter a day after 2000.")]
    if data.billed and not data.billable:
        errors["billed"] = [_("Only billable time can be billed.")]
    if errors:
        raise ValidationError(errors)
    entry.minutes, entry.work_date = data.minutes, data.work_date
    entry.billable, entry.billed = data.billable, data.billed
    entry.note = (data.note or "").strip()


def _time_text(entry: TimeEntry) -> str:
    flags = _("billed") if entry.billed else _("billable") if entry.billable else _("non-billable")
    return f"{format_minutes(entry.minutes)} ({flags}) {entry.work_date.isoformat()}"


def _ensure_may_change_time(member: Membership, entry: TimeEntry) -> None:
    ensure_same_org(member.org, entry)
    ensure_app(member, App.DESK)
    if not is_desk_admin(member) and entry.user_id != member.user_id:
        raise PermissionDenied(_("You can change only your own time entries."))


@transaction.atomic
def time_entry_create(
    *,
    actor: Membership,
    ticket: Ticket,
    data: TimeInput,
    ip: str | None = None,
    from_timer: bool = False,
) -> TimeEntry:
    """Log the actor's time on `ticket`. `from_timer`: the actor's timer on the ticket ends
    with it (deleted in the same transaction, so its time is logged once)."""
    _ensure_ticket(actor, ticket)
    entry = TimeEntry(org=actor.org, ticket=ticket, user=actor.user, created_by=actor.user)
    _time_apply(entry, data)
    entry.full_clean()
    entry.save()
    if from_timer:
        RunningTimer.objects.for_org(actor.org).filter(ticket=ticket, user=actor.user).delete()
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="time_added",
        changes={"time": [None, _time_text(entry)]},
    )
    return entry


@transaction.atomic
def time_entry_update(
    *, actor: Membership, entry: TimeEntry, data: TimeInput, ip: str | None = None
) -> TimeEntry:
    _ensure_may_change_time(actor, entry)
    before = _time_text(entry)
    _time_apply(entry, data)
    entry.full_clean()
    entry.save()
    history_record(
        ticket=entry.ticket,
        actor=actor.user,
        ip=ip,
        action="time_updated",
        changes={"time": [before, _time_text(entry)]},
    )
    return entry


@transaction.atomic
def time_entry_delete(*, actor: Membership, entry: TimeEntry, ip: str | None = None) -> None:
    _ensure_may_change_time(actor, entry)
    history_record(
        ticket=entry.ticket,
        actor=actor.user,
        ip=ip,
        action="time_deleted",
        changes={"time": [_time_text(entry), None]},
    )
    entry.delete()


@dataclass(frozen=True)
class TimeTotals:
    total: int
    billable: int
    billed: int

    @property
    def non_billable(self) -> int:
        return self.total - self.billable


def time_totals(*, org, ticket: Ticket) -> TimeTotals:
    """The ticket's total, billable and billed minutes, in one query."""
    ensure_same_org(org, ticket)
    sums = (
        TimeEntry.objects.for_org(org)
        .filter(ticket=ticket)
        .aggregate(
            total=Sum("minutes"),
            billable=Sum("minutes", filter=Q(billable=True)),
            billed=Sum("minutes", filter=Q(billed=True)),
        )
    )
    return TimeTotals(
        total=sums["total"] or 0, billable=sums["billable"] or 0, billed=sums["billed"] or 0
    )


# --- The running timer -----------------------------------------------------------------------
def timer_seconds(timer: RunningTimer | None, now: dt.datetime | None = None) -> int:
    """The timer's time so far: finished runs plus the current one."""
    if timer is None:
        return 0
    seconds = timer.elapsed_seconds
    if timer.started_at is not None:
        seconds += max(0, int(((now or timezone.now()) - timer.started_at).total_seconds()))
    return seconds


def seconds_to_minutes(seconds: int) -> int:
    """Started minutes count: 61 s is 2 minutes; anything logged is at least one minute."""
    return max(1, math.ceil(seconds / 60))


def timer_get(*, actor: Membership, ticket: Ticket) -> RunningTimer | None:
    ensure_same_org(actor.org, ticket)
    return RunningTimer.objects.for_org(actor.org).filter(ticket=ticket, user=actor.user).first()


def _timer_locked(actor: Membership, ticket: Ticket) -> RunningTimer | None:
    return (
        RunningTimer.objects.for_org(actor.org)
        .select_for_update()
        .filter(ticket=ticket, user=actor.user)
        .first()
    )


@transaction.atomic
def timer_start(*, actor: Membership, ticket: Ticket) -> RunningTimer:
    """Start the actor's timer on `ticket`, or resume it when paused. Starting a running
    timer changes nothing (two tabs pressing start keep one timer)."""
    _ensure_ticket(actor, ticket)
    timer, _created = RunningTimer.objects.get_or_create(
        org=actor.org, ticket=ticket, user=actor.user, defaults={"started_at": timezone.now()}
    )
    timer = _timer_locked(actor, ticket) or timer
    if timer.started_at is None:
        timer.started_at = timezone.now()
        timer.save(update_fields=["started_at"])
    return timer


@transaction.atomic
def timer_pause(*, actor: Membership, ticket: Ticket) -> RunningTimer | None:
    """Pause the timer, keeping its time; None when there is none."""
    _ensure_ticket(actor, ticket)
    timer = _timer_locked(actor, ticket)
    if timer is not None and timer.started_at is not None:
        timer.elapsed_seconds = timer_seconds(timer)
        timer.started_at = None
        timer.save(update_fields=["elapsed_seconds", "started_at"])
    return timer


def timer_stop(*, actor: Membership, ticket: Ticket) -> int:
    """Stop the clock and give its minutes, for the entry the actor checks before saving
    (`time_entry_create(from_timer=True)` ends the timer). The timer stays paused until then,
    so a reload or another tab still has its time. 0 without a timer."""
    timer = timer_pause(actor=actor, ticket=ticket)
    return seconds_to_minutes(timer.elapsed_seconds) if timer is not None else 0


@transaction.atomic
def timer_discard(*, actor: Membership, ticket: Ticket) -> None:
    _ensure_ticket(actor, ticket)
    RunningTimer.objects.for_org(actor.org).filter(ticket=ticket, user=actor.user).delete()
