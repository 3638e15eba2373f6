"""Activities (tasks, calls, events), time entries and running timers (TKT-04).

One `Activity` model with a `kind`, rather than three tables: the three share almost every
column (subject, owner, status, priority, done and spam flags, links), the per-user list shows
them together sorted by one time, and the few kind-specific columns are nullable and checked
by the services. `due_at` is the one time the list sorts and filters on (overdue, today): the
due time of a task, the time of a call, the end of an event (copied by the services)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Account, Contact
from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import TenantModel

from ..models import Priority, Ticket

MAX_MINUTES = 24 * 60  # one entry is at most a day of work
MAX_CALL_MINUTES = 24 * 60


class ActivityKind(models.TextChoices):
    TASK = "task", pgettext_lazy("activity kind", "Task")
    CALL = "call", pgettext_lazy("activity kind", "Call")
    EVENT = "event", pgettext_lazy("activity kind", "Event")


class ActivityStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("activity status", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("activity status", "In progress")
    WAITING = "waiting", pgettext_lazy("activity status", "Waiting")
    COMPLETED = "completed", pgettext_lazy("activity status", "Completed")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Activity(TenantModel):
    """A task, call or event, owned by a member, linked to a ticket, a contact and/or an
    account (at least one). `done` is true exactly when the status is completed."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=255)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ActivityStatus.choices, default=ActivityStatus.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    direction = models.CharField(
        _("direction"), max_length=10, choices=CallDirection.choices, blank=True
    )
    call_minutes = models.PositiveIntegerField(_("call duration (minutes)"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    spam = models.BooleanField(_("spam"), default=False)
    ticket = TenantForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    contact = TenantForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    account = TenantForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ticket__isnull=False)
                | models.Q(contact__isnull=False)
                | models.Q(account__isnull=False),
                name="activity_linked",
            ),
            models.CheckConstraint(
                condition=models.Q(done=True, status="completed")
                | (models.Q(done=False) & ~models.Q(status="completed")),
                name="activity_done_is_completed",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(starts_at__isnull=True)
                | models.Q(ends_at__gte=models.F("starts_at")),
                name="activity_ends_after_start",
            ),
        ]
        indexes = [
            # The per-user list: mine, not done, by time (overdue and today are ranges).
            models.Index(fields=["org", "owner", "done", "due_at", "id"], name="activity_owner"),
            models.Index(fields=["org", "done", "due_at", "id"], name="activity_due"),
            models.Index(fields=["org", "ticket", "due_at"], name="activity_ticket"),
            models.Index(fields=["org", "contact", "due_at"], name="activity_contact"),
            models.Index(fields=["org", "account", "due_at"], name="activity_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class TimeEntry(TenantModel):
    """Time spent on a ticket: who, on which day, how long, billable and billed (billed
    implies billable)."""

    ticket = TenantForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    work_date = models.DateField(_("date"))
    minutes = models.PositiveIntegerField(_("duration (minutes)"))
    billable = models.BooleanField(_("billable"), default=True)
    billed = models.BooleanField(_("billed"), default=False)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-work_date", "-pk"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gt=0, minutes__lte=MAX_MINUTES),
                name="timeentry_minutes_range",
            ),
            models.CheckConstraint(
                condition=models.Q(billed=False) | models.Q(billable=True),
                name="timeentry_billed_is_billable",
            ),
        ]
        indexes = [
            # The ticket's entries newest day first; the included columns let the contact and
            # account pages total a customer's time from the index alone (CUS-08).
            models.Index(
                fields=["org", "ticket", "-work_date"],
                include=["minutes", "billable", "billed", "user"],
                name="timeentry_ticket",
            ),
            models.Index(fields=["org", "user", "-work_date"], name="timeentry_user"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.ticket_id}"


class RunningTimer(TenantModel):
    """A member's timer on a ticket, kept on the server so another tab or a reload sees it.

    Running: `started_at` set; paused: `started_at` empty. `elapsed_seconds` is the time of
    the finished runs; the total is that plus the current run. It goes with the membership."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "ticket", "user"], name="runningtimer_ticket_user"
            ),
        ]
        indexes = [models.Index(fields=["org", "user"], name="runningtimer_user")]

    def __str__(self) -> str:
        return f"timer of {self.user_id} on {self.ticket_id}"

    @property
    def running(self) -> bool:
        return self.started_at is not None
