"""The remove-from-all-tickets job (BP-18): one row per request, with its progress, so the list
page can show a progress bar while the worker removes the tickets one by one. Imported by
`blueprints.models` so the app registers it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import TenantModel


class RemovalStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("removal job", "Waiting")
    RUNNING = "running", pgettext_lazy("removal job", "Running")
    DONE = "done", pgettext_lazy("removal job", "Done")
    FAILED = "failed", pgettext_lazy("removal job", "Failed")


class RemovalJob(TenantModel):
    """Remove `blueprint` from every ticket in it. The worker claims the row (queued →
    running, a conditional UPDATE) and counts `done` after each ticket; `total` is the number
    of tickets it found. `ip` is the requester's address, written to each ticket's history."""

    # By name: `blueprints.models` imports this module (no import cycle).
    blueprint = TenantForeignKey("blueprints.Blueprint", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=RemovalStatus.choices, default=RemovalStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["org", "blueprint", "status"], name="bp_removal_blueprint")]

    def __str__(self) -> str:
        return f"removal of {self.blueprint_id}: {self.done}/{self.total}"

    @property
    def finished(self) -> bool:
        return self.status in (RemovalStatus.DONE, RemovalStatus.FAILED)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, int(self.done * 100 / self.total))
