"""IMAP mailboxes (TKT-07): a department's mailbox that the poller reads into tickets."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS (usually port 993)")
    STARTTLS = "starttls", _("STARTTLS (usually port 143)")
    NONE = "none", _("None: unencrypted (not recommended)")


class PollError(models.TextChoices):
    """Why the last poll failed. Stored as a code and shown through these labels, so the admin
    reads it in their own language; the server's own words are kept in `last_error_detail`."""

    AUTH = "auth", _("The server refused the user name or password.")
    UNREACHABLE = "unreachable", _("The server could not be reached. Check the host name and port.")
    TLS = (
        "tls",
        _("The secure connection failed. Check the security setting and the server's certificate."),
    )
    FOLDER = "folder", _("The folder does not exist on the server.")
    BLOCKED = (
        "blocked",
        _("The server's address is on a private network; mailboxes must be on the internet."),
    )
    KEY = (
        "key",
        _(
            "The stored password can no longer be read (the encryption key changed). "
            "Enter the password again."
        ),
    )
    PROTOCOL = "protocol", _("The server answered in a way we did not understand.")
    INGEST = "ingest", _("A message could not be turned into a ticket; it will be tried again.")


class Mailbox(TenantModel):
    """One folder of one IMAP account, read into one department's tickets.

    `uidvalidity` and `last_uid` say how far it has been read: every message with a higher UID
    is new. The pair is advanced per message in the transaction that ingests it, so a crash
    re-reads at most the message in flight, and the ingestion's Message-ID check turns that
    into nothing. A changed UIDVALIDITY (the server renumbered the folder) reads the folder
    again from the start, with the same check preventing doubles.

    The password is stored encrypted (`crypto.py`); it is never shown back."""

    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", verbose_name=_("department")
    )
    host = models.CharField(_("server"), max_length=253)
    port = models.PositiveIntegerField(
        _("port"), default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(_("user name"), max_length=255)
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    enabled = models.BooleanField(pgettext_lazy("mailbox", "enabled"), default=True)
    mark_seen = models.BooleanField(_("mark messages as read on the server"), default=False)
    import_existing = models.BooleanField(
        _("also import the messages already in the folder"), default=False
    )

    # How far it has been read.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)

    # The last poll, what went wrong, and when to try again (backoff after failures).
    last_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=20, choices=PollError.choices, blank=True)
    last_error_detail = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(default=0, editable=False)
    next_poll_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__name", "username", "pk"]
        verbose_name = _("IMAP mailbox")
        verbose_name_plural = _("IMAP mailboxes")
        constraints = [
            models.UniqueConstraint(
                "org",
                models.functions.Lower("host"),
                "port",
                "username",
                "folder",
                name="imap_mailbox_uniq",
                violation_error_message=_("This mailbox folder is already set up."),
            ),
        ]
        indexes = [
            models.Index(fields=["org", "enabled", "next_poll_at"], name="imap_mailbox_due"),
            models.Index(fields=["org", "department"], name="imap_mailbox_department"),
        ]

    def __str__(self) -> str:
        return f"{self.username} @ {self.host} / {self.folder}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)
