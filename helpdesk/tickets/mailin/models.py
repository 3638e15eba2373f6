"""Incoming email (TKT-07): an organization's settings and the log of every message received.

`InboundMessage` is one row per message delivered to an organization, whatever became of it:
its (org, key) is unique, so a message delivered twice makes one entry (the database refuses
the second, no check-then-insert race). Messages that could not be read or placed keep their
raw bytes here (`held`) until an admin retries or deletes them; ignored ones (auto-replies,
bounces, lists, our own mail) keep their reason, so the admin can see what was left out."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel

from ..models import Thread, Ticket


class MailSettings(TenantModel):
    """An organization's incoming-mail settings: the inbound endpoint's secret and the
    department of mail that names none of the departments' addresses."""

    secret = models.CharField(max_length=64)
    default_department = TenantForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department for other mail"),
        help_text=_(
            "Mail sent to an address that is no department's support address opens tickets "
            "here. Empty: the first enabled department."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="mailsettings_org")]

    def __str__(self) -> str:
        return f"mail settings of {self.org_id}"


class Outcome(models.TextChoices):
    CREATED = "created", pgettext_lazy("mail outcome", "New ticket")
    APPENDED = "appended", pgettext_lazy("mail outcome", "Added to a ticket")
    DUPLICATE = "duplicate", pgettext_lazy("mail outcome", "Duplicate")
    IGNORED = "ignored", pgettext_lazy("mail outcome", "Ignored")
    HELD = "held", pgettext_lazy("mail outcome", "Held")


class Source(models.TextChoices):
    COMMAND = "command", _("Mail server (command)")
    ENDPOINT = "endpoint", _("Mail relay (inbound endpoint)")
    IMAP = "imap", _("IMAP mailbox")
    RETRY = "retry", _("Retried by an admin")
    OTHER = "other", _("Other")


class InboundMessage(TenantModel):
    key = models.CharField(max_length=255)  # the Message-ID, else "sha256:" of the raw bytes
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.OTHER)
    sender = models.CharField(_("from"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    ticket = TenantForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    thread = TenantForeignKey(
        Thread, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    department = TenantForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raw = models.BinaryField(null=True, blank=True)  # kept for held messages only
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["org", "key"], name="inbound_org_key")]
        indexes = [
            models.Index(fields=["org", "outcome", "-received_at", "-id"], name="inbound_outcome")
        ]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.key}"
