"""What after-actions leave behind (BP-11): a run per executed action, and the organization's
webhook signing secret. Imported by `blueprints.models` so the app registers them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import TenantModel
from helpdesk.tickets.models import Ticket


class RunStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("after-action", "Waiting")
    RUNNING = "running", pgettext_lazy("after-action", "Running")
    DONE = "done", pgettext_lazy("after-action", "Done")
    FAILED = "failed", pgettext_lazy("after-action", "Failed")


class AfterActionRun(TenantModel):
    """One after-action for one completed transition: the idempotency record. A task claims it
    (pending → running, with a conditional UPDATE) before acting; `attempts` counts tries and
    `error` says what went wrong last. The action's name and type are copied so the record
    survives the action's deletion."""

    # By name: `blueprints.models` imports this module (no import cycle).
    log = TenantForeignKey("blueprints.TransitionLog", on_delete=models.CASCADE, related_name="+")
    action = TenantForeignKey(
        "blueprints.AfterAction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=14)  # an AfterActionType
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "log", "action"], name="bp_after_run_uniq")
        ]
        indexes = [models.Index(fields=["org", "ticket", "status"], name="bp_after_run_ticket")]

    def __str__(self) -> str:
        return f"{self.name} for log {self.log_id}: {self.status}"


class WebhookSecret(TenantModel):
    """The organization's key for signing webhooks (HMAC-SHA256), encrypted at rest like
    mailbox passwords. Made on first use; an admin may rotate it."""

    secret_encrypted = models.TextField()
    rotated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook secret")
        constraints = [models.UniqueConstraint(fields=["org"], name="bp_webhook_secret_uniq")]

    def __str__(self) -> str:
        return f"webhook secret of {self.org_id}"
