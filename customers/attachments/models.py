"""Notes and files kept on a contact or an account (CUS-11).

Each row belongs to exactly one record: a contact or an account (two nullable references and
a check constraint, so the database keeps the composite keys to both tables). A note may
carry files ("a note with an attachment"); a file may also stand alone. Files are stored
under the organization's prefix with an unguessable name and are served only through the
access-checked download view, never as public media URLs."""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Account, Contact
from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import TenantModel

MAX_NOTE_LENGTH = 10000

ONE_RECORD = models.Q(contact__isnull=False, account__isnull=True) | models.Q(
    contact__isnull=True, account__isnull=False
)


class CustomerNote(TenantModel):
    contact = TenantForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    account = TenantForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.TextField(_("note"), max_length=MAX_NOTE_LENGTH, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [models.CheckConstraint(condition=ONE_RECORD, name="customernote_one_record")]
        indexes = [
            models.Index(fields=["org", "contact", "-created_at"], name="customernote_contact"),
            models.Index(fields=["org", "account", "-created_at"], name="customernote_account"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


def customer_file_path(instance: CustomerFile, filename: str) -> str:
    """Files live under a per-organization prefix with an unguessable name (as tickets')."""
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"org/{instance.org_id}/customers/{uuid.uuid4().hex}{ext}"


class CustomerFile(TenantModel):
    contact = TenantForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    account = TenantForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    note = TenantForeignKey(
        CustomerNote, on_delete=models.CASCADE, null=True, blank=True, related_name="files"
    )
    file = models.FileField(upload_to=customer_file_path, max_length=255)
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(max_length=120)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("file")
        verbose_name_plural = _("files")
        constraints = [models.CheckConstraint(condition=ONE_RECORD, name="customerfile_one_record")]
        indexes = [
            models.Index(fields=["org", "contact", "-created_at"], name="customerfile_contact"),
            models.Index(fields=["org", "account", "-created_at"], name="customerfile_account"),
            models.Index(fields=["org", "note"], name="customerfile_note"),
        ]

    def __str__(self) -> str:
        return self.name
