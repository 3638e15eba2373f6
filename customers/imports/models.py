"""One row per checked import file (CUS-01): what the member uploaded, whether it is waiting
for confirmation, queued, running or finished, and the counts a summary shows. The file is
kept under the organization's storage prefix from the preview until the job ends."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.models import TenantModel


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    ACCOUNTS = "accounts", _("Accounts")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", pgettext_lazy("import job", "Waiting for confirmation")
    QUEUED = "queued", pgettext_lazy("import job", "Waiting")
    RUNNING = "running", pgettext_lazy("import job", "Running")
    DONE = "done", pgettext_lazy("import job", "Done")
    FAILED = "failed", pgettext_lazy("import job", "Failed")


def import_path(instance: ImportJob, filename: str) -> str:
    """Uploaded files live under the organization's prefix with an unguessable name."""
    return f"org/{instance.org_id}/customer-imports/{uuid.uuid4().hex}.csv"


class ImportJob(TenantModel):
    """An import of `kind` from one CSV file. `total` is the number of data rows; `done` the
    records written (the bar of a running job reads the live count from the cache, since the
    writing is one transaction); `errors` the per-row problems found when the job ran
    (rows, columns and messages), in which case nothing was written."""

    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    file = models.FileField(upload_to=import_path, max_length=255, blank=True)
    file_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["org", "requested_by", "status"], name="customer_import_by_user")
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk}: {self.done}/{self.total}"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, int(self.done * 100 / self.total))
