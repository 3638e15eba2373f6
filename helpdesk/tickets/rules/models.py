"""Rules of the TKT-09 pipeline: assignment rules, workflow rules, round robin and the agents'
availability. Criteria are conditions of `helpdesk.tickets.conditions`, stored as JSON."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import Department, Team, TenantModel


class Rule(TenantModel):
    """What assignment and workflow rules share: a name, the department whose tickets they
    look at (none: every department), their place in the order, and their criteria."""

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    department = TenantForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        help_text=_("Leave empty to apply to every department."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    condition = models.JSONField(_("criteria"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(Rule):
    """On a new ticket, the first enabled rule whose criteria match moves it to a department
    and/or gives it an owner (an agent, or the next available member of a team)."""

    to_department = TenantForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("move to department"),
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to agent"),
    )
    to_team = TenantForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to team (round robin)"),
    )

    class Meta(Rule.Meta):
        verbose_name = _("assignment rule")
        indexes = [models.Index(fields=["org", "order"], name="assignmentrule_order")]


class Trigger(models.TextChoices):
    CREATE = "create", _("When a ticket is created")
    UPDATE = "update", _("When a ticket is updated")
    CREATE_OR_UPDATE = "create_or_update", _("When a ticket is created or updated")
    FIELD = "field", _("When a given field changes")


class WorkflowRule(Rule):
    """Every enabled rule whose trigger and criteria match runs, in order: it sets fields and
    sends mail notifications.

    `field_updates` maps a field (`priority`, `status`, `owner`, `cf.<key>`) to its new value
    (a status or owner by id), checked on save by the same validator the forms use.
    `notify` lists recipients: "owner", "contact", "followers"; `notify_users` user ids;
    `notify_addresses` mail addresses. Subject and body use the canned-response placeholders."""

    trigger = models.CharField(
        _("when"), max_length=20, choices=Trigger.choices, default=Trigger.CREATE
    )
    trigger_field = models.CharField(_("field that changes"), max_length=80, blank=True)
    field_updates = models.JSONField(_("field updates"), default=dict, blank=True)
    notify = models.JSONField(default=list, blank=True)
    notify_users = models.JSONField(default=list, blank=True)
    notify_addresses = models.JSONField(default=list, blank=True)
    mail_subject = models.CharField(_("mail subject"), max_length=255, blank=True)
    mail_body = models.TextField(_("mail text"), max_length=10000, blank=True)

    class Meta(Rule.Meta):
        verbose_name = _("workflow rule")
        indexes = [models.Index(fields=["org", "order"], name="workflowrule_order")]


class RoundRobin(TenantModel):
    """Round robin of a department (or, for assignment rules, of one of its teams): whether it
    is on, and who got the last ticket. The row is locked while the next agent is chosen, so
    concurrent tickets go to different agents and the turn survives restarts."""

    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    team = TenantForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    is_enabled = models.BooleanField(_("round robin"), default=False)
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "department", "team"],
                name="roundrobin_scope",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id}/{self.team_id}"


class AgentAvailability(TenantModel):
    """An agent who is away gets no tickets from round robin. No row: available."""

    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    is_away = models.BooleanField(_("away"), default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="agentavailability_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {'away' if self.is_away else 'available'}"


class SettingsVersion(TenantModel):
    """The version of what the pipeline's steps read on every ticket (TKT-09): the rules here
    and the settings of the apps above (SLA policies, their levels, state SLAs). A fresh random
    token is written in the transaction of every change of them (`version.bump`, from the
    models' save and delete signals), and each process keeps what it read under the token
    (`version.settings`), so a change reaches every process at once and a rolled-back one
    leaves nothing behind (tokens never repeat)."""

    token = models.UUIDField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="rules_settings_version_org")]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.token}"
