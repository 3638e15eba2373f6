"""The help center's settings, the customers' sign-in links and satisfaction ratings
(TKT-08, TKT-04, RPT-01)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Contact
from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel

from ..models import Ticket

DEFAULT_COLOR = "#0f766e"  # the product's own brand colour (static/css/app.css)


def logo_path(instance: HelpCenterSettings, filename: str) -> str:
    """Logos live under the organization's prefix with an unguessable name."""
    return f"org/{instance.org_id}/helpcenter/{uuid.uuid4().hex}"


class HelpCenterSettings(TenantModel):
    """One row per organization (Setup → Help center). Without a row the help center is off.

    Published departments and public custom fields are lists of ids, read back through the
    organization (`Department.objects.for_org(org).filter(pk__in=...)`), so a stale or foreign
    id simply matches nothing; the tickets' own tables are not changed (no migration there)."""

    enabled = models.BooleanField(_("help center enabled"), default=False)
    title = models.CharField(_("title"), max_length=120, blank=True)
    intro = models.TextField(_("welcome text"), max_length=1000, blank=True)
    logo = models.FileField(upload_to=logo_path, max_length=255, blank=True)
    logo_type = models.CharField(max_length=40, blank=True)
    primary_color = models.CharField(_("primary colour"), max_length=7, default=DEFAULT_COLOR)
    department_ids = models.JSONField(default=list, blank=True)
    public_field_ids = models.JSONField(default=list, blank=True)
    show_account_tickets = models.BooleanField(
        _("customers see their account's tickets"),
        default=False,
        help_text=_("Contacts of an account see every ticket of that account, not only their own."),
    )
    rating_mail = models.BooleanField(
        _("ask for a rating when a ticket is closed"),
        default=True,
        help_text=_("The contact gets a mail with links to rate the answer (good, okay, bad)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("help center settings")
        constraints = [models.UniqueConstraint(fields=["org"], name="helpcenter_settings_org")]

    def __str__(self) -> str:
        return f"help center of {self.org_id}"


class SignInLink(TenantModel):
    """A link mailed to a customer: sign-up confirmation or magic sign-in. The mail carries a
    token naming this row, signed with the site's key (nobody else can make one) and expiring;
    the row is used once (`used_at`, claimed with a conditional UPDATE). The rows are also the
    mail rate limit's count, per address and per client address."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        SIGNIN = "signin", _("Sign-in")

    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    language = models.CharField(max_length=10, blank=True)
    next_path = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Counting an address's recent links (the mail rate limit) reads this index.
        indexes = [
            models.Index(fields=["org", "email", "-created_at"], name="signin_link_email"),
            models.Index(fields=["org", "ip_address", "-created_at"], name="signin_link_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} link for {self.email}"


class RatingValue(models.TextChoices):
    GOOD = "good", pgettext_lazy("rating", "Good")
    OKAY = "okay", pgettext_lazy("rating", "Okay")
    BAD = "bad", pgettext_lazy("rating", "Bad")


class Rating(TenantModel):
    """The contact's satisfaction with a ticket: one per ticket, changeable (TKT-04).

    The department and agent are those of the ticket when it was (last) rated, so the report
    (RPT-01) credits whoever handled it then, without joining the ticket."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    contact = TenantForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    value = models.CharField(_("rating"), max_length=10, choices=RatingValue.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    department = TenantForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "ticket"], name="rating_one_per_ticket")
        ]
        indexes = [
            models.Index(fields=["org", "-rated_at", "-id"], name="rating_rated"),
            models.Index(fields=["org", "department", "-rated_at"], name="rating_department"),
            models.Index(fields=["org", "agent", "-rated_at"], name="rating_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.value} on {self.ticket_id}"
