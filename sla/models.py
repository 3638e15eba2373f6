"""SLA settings, the clocks they start on tickets, and the escalations those clocks fire.

Settings: an `SlaPolicy` per department and priority gives a ticket its first-response and
resolution targets (TKT-09's SLA step); a `StateSla` gives a blueprint state its duration
(BP-15). Each has up to three `EscalationLevel`s per target (before, at or after the due time,
by an offset), naming who is told and with which mail template.

Runtime: a `Clock` is one run of one target on one ticket (first response, resolution, or a
visit of a state); `ClockDue` rows are the moments its levels fall due, which the sweep claims;
`EscalationFired` is the ledger whose unique key makes a second firing impossible.

Written by `sla.services` (clocks, config) and `sla.sweep`; read by `sla.selectors`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from blueprints.models import State
from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import Department, Team, TenantModel
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.models import Priority, Ticket

MAX_LEVEL = 3
# A target or offset longer than a year of minutes is a typing mistake, not an SLA.
MAX_MINUTES = 366 * 24 * 60


# --- Choices ----------------------------------------------------------------------------------
class Target(models.TextChoices):
    """What a clock measures."""

    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")
    STATE = "state", pgettext_lazy("sla target", "Time in state")


class When(models.TextChoices):
    """When an escalation level fires, relative to the clock's due time."""

    BEFORE = "before", pgettext_lazy("escalation", "Before the due time")
    AT = "at", pgettext_lazy("escalation", "At the due time")
    AFTER = "after", pgettext_lazy("escalation", "After the due time")


def _minutes_validators() -> list:
    return [MinValueValidator(1), MaxValueValidator(MAX_MINUTES)]


# --- Settings ---------------------------------------------------------------------------------
class SlaPolicy(TenantModel):
    """Targets for the tickets of one department and priority (TKT-09). A target left empty
    starts no clock. Business hours follow the department's schedule and holidays (DEP-03)."""

    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", verbose_name=_("department")
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"),
        null=True,
        blank=True,
        validators=_minutes_validators(),
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (minutes)"), null=True, blank=True, validators=_minutes_validators()
    )
    business_hours = models.BooleanField(_("in business hours"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department", "pk"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["org", "department", "priority"],
                name="sla_policy_uniq",
                violation_error_message=_(
                    "This department already has an SLA policy for this priority."
                ),
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__isnull=True) | Q(first_response_minutes__gte=1),
                name="sla_policy_first_response_positive",
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__isnull=True) | Q(resolution_minutes__gte=1),
                name="sla_policy_resolution_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id}/{self.priority}"

    def minutes_for(self, target: str) -> int | None:
        if target == Target.FIRST_RESPONSE:
            return self.first_response_minutes
        if target == Target.RESOLUTION:
            return self.resolution_minutes
        return None


class StateSla(TenantModel):
    """A blueprint state's SLA (BP-15): a ticket entering the state has `minutes` (the form
    splits them into days, hours and minutes) before it is due."""

    state = TenantForeignKey(
        State, on_delete=models.CASCADE, related_name="slas", verbose_name=_("state")
    )
    minutes = models.PositiveIntegerField(_("duration (minutes)"), validators=_minutes_validators())
    business_hours = models.BooleanField(_("in business hours"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("state SLA")
        constraints = [
            models.UniqueConstraint(
                fields=["org", "state"],
                name="sla_state_uniq",
                violation_error_message=_("This state already has an SLA."),
            ),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="sla_state_minutes_positive"),
        ]

    def __str__(self) -> str:
        return f"SLA of state {self.state_id}"


class EscalationLevel(TenantModel):
    """Level 1 to 3 of a policy's target or a state SLA: fires `offset_minutes` before, at or
    after the due time (in the clock's business or calendar time) and mails `template` to
    the chosen users, teams, desk roles, the ticket's owner and the owner's manager."""

    policy = TenantForeignKey(
        SlaPolicy, on_delete=models.CASCADE, null=True, blank=True, related_name="levels"
    )
    state_sla = TenantForeignKey(
        StateSla, on_delete=models.CASCADE, null=True, blank=True, related_name="levels"
    )
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVEL)]
    )
    when = models.CharField(_("when"), max_length=6, choices=When.choices, default=When.AT)
    offset_minutes = models.PositiveIntegerField(
        _("offset (minutes)"), default=0, validators=[MaxValueValidator(MAX_MINUTES)]
    )
    template = TenantForeignKey(
        MailTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("mail template")
    )
    notify_owner = models.BooleanField(_("the ticket's owner"), default=False)
    notify_manager = models.BooleanField(_("the owner's manager"), default=False)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="EscalationUser", related_name="+", blank=True
    )
    teams = models.ManyToManyField(Team, through="EscalationTeam", related_name="+", blank=True)
    # Desk roles (helpdesk.tenancy.models.DeskRole values): every active member with the role.
    roles = models.JSONField(_("roles"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target", "level", "pk"]
        verbose_name = _("escalation level")
        constraints = [
            models.CheckConstraint(
                condition=(Q(policy__isnull=False) & Q(state_sla__isnull=True))
                | (Q(policy__isnull=True) & Q(state_sla__isnull=False)),
                name="sla_level_one_owner",
            ),
            # A state SLA's levels are "state" levels; a policy's are its two targets'.
            models.CheckConstraint(
                condition=(Q(state_sla__isnull=False) & Q(target="state"))
                | (Q(policy__isnull=False) & Q(target__in=["first_response", "resolution"])),
                name="sla_level_target_matches_owner",
            ),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=3), name="sla_level_1_3"),
            models.CheckConstraint(
                condition=~Q(when="at") | Q(offset_minutes=0), name="sla_level_at_no_offset"
            ),
            models.UniqueConstraint(
                fields=["org", "policy", "target", "level"],
                condition=Q(policy__isnull=False),
                name="sla_level_policy_uniq",
                violation_error_message=_("This level is already set for this target."),
            ),
            models.UniqueConstraint(
                fields=["org", "state_sla", "level"],
                condition=Q(state_sla__isnull=False),
                name="sla_level_state_uniq",
                violation_error_message=_("This level is already set for this state."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} level {self.level}"

    def fires_at_offset(self) -> dt.timedelta:
        """Signed offset from the due time: negative before, positive after."""
        minutes = 0 if self.when == When.AT else self.offset_minutes
        return dt.timedelta(minutes=-minutes if self.when == When.BEFORE else minutes)


class EscalationUser(TenantModel):
    """A member an escalation level notifies (the database refuses another org's user)."""

    level = TenantForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="+")
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "level", "user"], name="sla_level_user_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on level {self.level_id}"


class EscalationTeam(TenantModel):
    """A team whose members an escalation level notifies."""

    level = TenantForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="+")
    team = TenantForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "level", "team"], name="sla_level_team_uniq")
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} on level {self.level_id}"


# --- Runtime ----------------------------------------------------------------------------------
class Clock(TenantModel):
    """One run of one target on one ticket: the first response, the resolution, or the
    `cycle`-th visit of a state with an SLA. Due at `target_minutes` of (business or calendar)
    time after `started_at`, plus the time it spent paused (`paused_total`, in the same
    time); stopped with `met` = stopped in time. At most one open clock per ticket and kind
    (a ticket is in one blueprint state at a time)."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("target"), max_length=16, choices=Target.choices)
    policy = TenantForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state_sla = TenantForeignKey(
        StateSla, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The blueprint state of a state clock, kept for the report when its SLA is removed.
    state = TenantForeignKey(
        State, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    cycle = models.PositiveIntegerField(default=1)
    target_minutes = models.PositiveIntegerField()
    business_hours = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_total = models.DurationField(default=dt.timedelta(0))
    stopped_at = models.DateTimeField(null=True, blank=True)
    met = models.BooleanField(null=True, blank=True)
    # The highest escalation level fired (kept by the sweep): the ticket page reads it, and
    # the ticket's level is the highest among its open clocks (sla.selectors).
    level_reached = models.PositiveSmallIntegerField(default=0)
    # The ticket's owner when the clock stopped: the report's "per agent".
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "ticket", "kind"],
                condition=Q(stopped_at__isnull=True),
                name="sla_clock_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "ticket"], name="sla_clock_ticket"),
            # Re-planning a policy's or state SLA's open clocks (settings changed).
            models.Index(
                fields=["org", "policy"],
                name="sla_clock_open_policy",
                condition=Q(stopped_at__isnull=True, policy__isnull=False),
            ),
            models.Index(
                fields=["org", "state_sla"],
                name="sla_clock_open_state",
                condition=Q(stopped_at__isnull=True, state_sla__isnull=False),
            ),
            # The report: clocks stopped in a period.
            # The desk's "escalated" view and a ticket's level (sla.selectors): the open
            # clocks an escalation fired on.
            models.Index(
                fields=["org", "ticket"],
                name="sla_clock_escalated",
                condition=Q(stopped_at__isnull=True, level_reached__gt=0),
            ),
            models.Index(
                fields=["org", "stopped_at"],
                name="sla_clock_stopped",
                condition=Q(stopped_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} clock {self.cycle} of ticket {self.ticket_id}"

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None and self.stopped_at is None


class ClockDue(TenantModel):
    """A moment one escalation level of an open, running clock falls due: the rows the sweep
    claims (`claimed_at`, `claim_token`) and marks fired. Pausing or stopping the clock deletes
    its unfired rows; resuming or re-planning writes them again.

    Besides the organization-led index in Meta, the migration creates a global partial index
    on `due_at` of the unfired rows (`sla_clockdue_due_global`): the sweep reads due rows across
    organizations (crosstenant.py's "small indexed set of due rows"), which an org-led index
    cannot serve. The tenancy check (org at the head of every index) sees only Meta's."""

    clock = TenantForeignKey(Clock, on_delete=models.CASCADE, related_name="dues")
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "clock", "level"], name="sla_due_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["org", "due_at"],
                name="sla_due_unfired",
                condition=Q(fired_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level} of clock {self.clock_id} at {self.due_at:%Y-%m-%d %H:%M}"


class EscalationFired(TenantModel):
    """The ledger: one row per escalation that fired. Its unique key (organization, ticket,
    clock, cycle, level) makes a second firing impossible, even with two sweeps racing;
    `mail_sent_at` is set under this row's lock, so the mail goes out once."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    clock = TenantForeignKey(Clock, on_delete=models.CASCADE, related_name="+")
    cycle = models.PositiveIntegerField()
    level = models.PositiveSmallIntegerField()
    fired_at = models.DateTimeField()
    mail_sent_at = models.DateTimeField(null=True, blank=True)
    # Who the mail went to: [{"user": id, "email": "..."}], for the record.
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "ticket", "clock", "cycle", "level"], name="sla_fired_uniq"
            ),
        ]
        indexes = [models.Index(fields=["org", "ticket"], name="sla_fired_ticket")]

    def __str__(self) -> str:
        return f"level {self.level} of clock {self.clock_id}"
